import type { AlertsConfig } from './alert-schema.ts';

/** The demo's alert rules (log lines only: the demo has no webhook to call). docs/observability.md. */
export const demoAlerts = {
  evaluateIntervalMs: 10_000,
  rules: [
    { id: 'orders-403-rate', description: '403 rate on an orders route above 5% over 5 minutes', scope: { routes: ['orders', 'order'] }, match: { status: [403] }, groupBy: 'route', windowSeconds: 300, rate: 0.05, minRequests: 20 },
    { id: 'expired-key-in-use', description: 'more than 10 credential_expired for one consumer in 10 minutes', scope: {}, match: { codes: ['credential_expired'] }, groupBy: 'consumer', windowSeconds: 600, count: 10, minRequests: 10 },
  ],
} satisfies AlertsConfig;
