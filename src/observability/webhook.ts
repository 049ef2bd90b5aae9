import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

// Delivery of one alert notification to the webhook: bounded retries with exponential
// backoff on what may pass (a 5xx, a 429, a refused or reset connection, a timeout), none on
// what will not (any other 4xx: the receiver rejects this request as such). Each attempt is
// signed anew, so a receiver can refuse stale replays by the signed timestamp.

export const SIGNATURE_HEADER = 'x-pinpoint-signature';
export const DELIVERY_HEADER = 'x-pinpoint-delivery';

export interface WebhookTarget {
  readonly url: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  /** HMAC-SHA256 key; `env://NAME` reads it from the environment at each delivery. */
  readonly secret?: string | undefined;
  /** Attempts after the first. */
  readonly retries: number;
  /** Wait before the first retry; doubled for each next one (capped at 30 s). */
  readonly backoffMs: number;
}

export type DeliveryResult =
  | { readonly ok: true; readonly attempts: number; readonly status: number }
  | { readonly ok: false; readonly attempts: number; readonly reason: string };

export interface DeliveryHooks {
  /** An attempt failed and another follows after `waitMs`. */
  retrying?(attempt: number, reason: string, waitMs: number): void;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (docs/observability.md says how to verify it). */
export function signBody(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

function resolveSecret(secret: string | undefined): string | null {
  if (secret === undefined) return null;
  if (!secret.startsWith('env://')) return secret;
  const v = process.env[secret.slice('env://'.length)];
  return v ? v : null;
}

export async function deliverWebhook(target: WebhookTarget, deliveryId: string, body: string, hooks: DeliveryHooks = {}): Promise<DeliveryResult> {
  const attempts = 1 + target.retries;
  let reason = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let retryable = true;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'pinpoint-alerts', ...target.headers, [DELIVERY_HEADER]: deliveryId };
      const secret = resolveSecret(target.secret);
      if (target.secret !== undefined && secret === null) return { ok: false, attempts: attempt - 1, reason: `webhook secret ${target.secret} is not set: refusing to send unsigned` };
      if (secret !== null) headers[SIGNATURE_HEADER] = signBody(secret, body, Math.floor(Date.now() / 1000));
      const res = await fetch(target.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(target.timeoutMs), redirect: 'manual' });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, attempts: attempt, status: res.status };
      reason = `answered ${res.status}`;
      retryable = res.status >= 500 || res.status === 429;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      reason = e.name === 'TimeoutError' ? `no answer within ${target.timeoutMs} ms` : `${e.cause?.code ?? e.message}`;
    }
    if (!retryable) return { ok: false, attempts: attempt, reason: `${reason} (not retried: the receiver refuses this request)` };
    if (attempt === attempts) break;
    const waitMs = Math.min(30_000, target.backoffMs * 2 ** (attempt - 1));
    hooks.retrying?.(attempt, reason, waitMs);
    await sleep(waitMs);
  }
  return { ok: false, attempts, reason: `${reason} (after ${attempts} attempts)` };
}
