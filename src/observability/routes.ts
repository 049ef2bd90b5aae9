import type { AdminRoute } from '../admin/router.ts';
import { alertRoutes } from './admin-routes.ts';
import { statsRoutes } from '../analytics/admin-stats.ts';
import { accessReviewRoutes } from '../analytics/admin-audit.ts';

/** Every admin endpoint of observability (registered by src/admin/server.ts). */
export function observabilityRoutes(): AdminRoute[] {
  return [...alertRoutes(), ...statsRoutes(), ...accessReviewRoutes()];
}
