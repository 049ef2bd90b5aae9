import type { Identity } from '../pipeline/types.ts';
import type { CompiledAi, ModelAccess } from './compile-ai.ts';

/** The allow-list entry that governs an identity: its consumer's, else its tenant's, else none. */
export function accessFor(ai: CompiledAi, identity: Identity | null): ModelAccess | null {
  if (!identity) return null;
  if (identity.consumerId) {
    const c = ai.accessByConsumer.get(identity.consumerId);
    if (c) return c;
  }
  if (identity.tenantId) return ai.accessByTenant.get(identity.tenantId) ?? null;
  return null;
}

export const mayUse = (access: ModelAccess | null, model: string): boolean => access !== null && (access.models === null || access.models.has(model));

export function allowedList(ai: CompiledAi, access: ModelAccess | null): string[] {
  if (!access) return [];
  return access.models === null ? [...ai.models.keys()] : [...access.models];
}
