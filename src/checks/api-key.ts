import { hashApiKey, type Directory, type KeyEntry } from '../credentials/directory.ts';
import type { Authenticator } from '../pipeline/run-chain.ts';
import type { ConfigLocation, Identity, RequestContext, Verdict } from '../pipeline/types.ts';

export interface ApiKeyOptions {
  /** Lower-case header name. */
  readonly header: string;
  readonly realm: string;
  readonly directory: Directory;
  readonly source: ConfigLocation;
}

const MAX_KEY_LENGTH = 256;
const printableNoSpace = /^[\x21-\x7e]+$/;

/** Enough of an unknown key to recognize it in a log, never enough to use it. */
export function keyHint(key: string): string {
  const shown = Math.min(8, Math.floor(key.length / 3));
  return `${key.slice(0, shown)}…(${key.length} chars)`;
}

// The identity and the passing verdict of a key are the same on every request: built once per
// key entry (entries are rebuilt on reload, so this never outlives their config).
const accepted = new WeakMap<KeyEntry, { identity: Identity; verdict: Verdict }>();
function acceptedFor(entry: KeyEntry): { identity: Identity; verdict: Verdict } {
  let a = accepted.get(entry);
  if (!a) {
    a = {
      identity: {
        kind: 'api_key', credentialId: entry.id, consumerId: entry.consumerId, tenantId: entry.tenantId,
        subject: entry.consumerId, scopes: entry.scopes, roles: entry.roles, expiresAt: entry.expiresAt,
      },
      verdict: { kind: 'continue', evidence: { key_id: entry.id, consumer: entry.consumerId, tenant: entry.tenantId, scopes: [...entry.scopes] } },
    };
    accepted.set(entry, a);
  }
  return a;
}

export function createApiKeyCheck(options: ApiKeyOptions): Authenticator {
  const { header, directory } = options;
  const challenge = `ApiKey realm="${options.realm}", header="${header}"`;
  const invalid = (error: string) => ({ 'www-authenticate': `ApiKey realm="${options.realm}", header="${header}", error="${error}"` });
  return {
    id: 'api-key',
    phase: 'authn',
    source: options.source,
    challenge,
    evaluate(ctx: RequestContext): Verdict {
      const value = ctx.headers[header];
      if (value === undefined) return { kind: 'skip', evidence: { header, present: false } };
      // Node joins a repeated custom header into one value with ", " (joinDuplicateHeaders
      // only changes that for the headers it would otherwise discard), so a key sent twice
      // arrives as "k1, k2": a key never contains a space, so the join is unambiguous.
      const copies = typeof value === 'string' ? value.split(', ').length : value.length;
      if (copies > 1 || typeof value !== 'string') {
        return { kind: 'deny', code: 'credential_malformed', evidence: { header, problem: 'sent more than once', count: copies }, detail: `The ${header} header was sent ${copies} times; send it once.`, headers: invalid('invalid_key') };
      }
      const key = value.trim();
      if (key.length === 0 || key.length > MAX_KEY_LENGTH || !printableNoSpace.test(key)) {
        const problem = key.length === 0 ? 'empty' : key.length > MAX_KEY_LENGTH ? `longer than ${MAX_KEY_LENGTH} characters` : 'contains spaces or non-printable characters';
        return { kind: 'deny', code: 'credential_malformed', evidence: { header, problem, length: key.length }, detail: `The API key in ${header} ${problem === 'empty' || problem.startsWith('longer') ? 'is ' : ''}${problem}.`, headers: invalid('invalid_key') };
      }
      const entry = directory.keysByHash.get(hashApiKey(key));
      if (!entry) {
        return { kind: 'deny', code: 'credential_unknown', evidence: { header, key_hint: keyHint(key) }, detail: 'This API key is not known to this gateway.', headers: invalid('invalid_key') };
      }
      const base = { key_id: entry.id, consumer: entry.consumerId, tenant: entry.tenantId };
      if (entry.revokedAt !== null && entry.revokedAt <= ctx.now) {
        return {
          kind: 'deny', code: 'credential_revoked', rule: entry.source,
          evidence: { ...base, revoked_at: new Date(entry.revokedAt).toISOString(), revoked_reason: entry.revokedReason, replaced_by: entry.replacedBy },
          detail: `API key ${entry.id} was revoked on ${new Date(entry.revokedAt).toISOString()}.`, headers: invalid('invalid_key'),
        };
      }
      if (entry.notBefore !== null && entry.notBefore > ctx.now) {
        return {
          kind: 'deny', code: 'credential_not_yet_valid', rule: entry.source,
          evidence: { ...base, not_before: new Date(entry.notBefore).toISOString() },
          detail: `API key ${entry.id} is valid from ${new Date(entry.notBefore).toISOString()}.`, headers: invalid('invalid_key'),
        };
      }
      if (entry.expiresAt !== null && entry.expiresAt <= ctx.now) {
        return {
          kind: 'deny', code: 'credential_expired', rule: entry.source,
          evidence: { ...base, expired_at: new Date(entry.expiresAt).toISOString(), replaced_by: entry.replacedBy },
          detail: `API key ${entry.id} expired on ${new Date(entry.expiresAt).toISOString()}.`, headers: invalid('invalid_key'),
        };
      }
      const accepted = acceptedFor(entry);
      ctx.identity = accepted.identity;
      return accepted.verdict;
    },
  };
}
