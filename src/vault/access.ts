import type { AccessTokenClaims, AccessTokenVerifier } from '../identity/verify-access-token.ts';
import type { CheckRecord, Evidence, Phase } from '../pipeline/types.ts';
import type { ReasonCode } from '../reasons/catalogue.ts';
import type { CompiledPolicy, CompiledVault, CompiledVaultSettings } from './compile-settings.ts';
import type { Operation } from './operations.ts';
import type { VaultThrottle } from './throttle.ts';

/** A refusal in both languages: Key Vault's error body for the SDK, a catalogue code for the operator. */
export interface VaultDeny {
  readonly status: 401 | 403 | 429;
  readonly reason: ReasonCode;
  readonly kvCode: string;
  readonly kvInner?: string;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface AccessOutcome {
  readonly checks: CheckRecord[];
  readonly claims: AccessTokenClaims | null;
  readonly deny: VaultDeny | null;
}

export interface AccessInput {
  readonly settings: CompiledVaultSettings;
  readonly vault: CompiledVault;
  readonly op: Operation;
  readonly authorization: string | undefined;
  readonly clientIp: string;
  readonly now: number;
}

const MAX_CACHED_TOKENS = 10_000;

/**
 * The vault's chain, in Key Vault's order: token (401), firewall (403), throttle (429), access
 * policy (403). Each step leaves a CheckRecord with its evidence, so a refusal can be explained.
 */
export class VaultAccess {
  private readonly verifier: AccessTokenVerifier;
  private readonly throttle: VaultThrottle;
  private readonly generation: () => number;
  // Verified tokens, so the RSA verification runs once per token rather than once per request.
  private readonly verified = new Map<string, { claims: AccessTokenClaims; generation: number; vault: string }>();

  constructor(verifier: AccessTokenVerifier, throttle: VaultThrottle, generation: () => number) {
    this.verifier = verifier;
    this.throttle = throttle;
    this.generation = generation;
  }

  challenge(input: AccessInput): string {
    return `Bearer authorization="https://${input.settings.authorityHosts[0]}/${input.vault.tenant}", resource="${input.settings.settings.resource}"`;
  }

  async decide(input: AccessInput): Promise<AccessOutcome> {
    const checks: CheckRecord[] = [];
    let last = performance.now();
    const record = (id: string, phase: Phase, outcome: CheckRecord['outcome'], evidence: Evidence, code?: ReasonCode, detail?: string) => {
      const now = performance.now();
      checks.push({ id, phase, outcome, evidence, micros: Math.round((now - last) * 1000), ...(code ? { code } : {}), ...(detail ? { detail } : {}) });
      last = now;
    };
    const { vault, op, settings } = input;
    const unauthorized = (reason: ReasonCode, message: string, evidence: Evidence): AccessOutcome => {
      record('vault.token', 'authn', 'deny', evidence, reason, message);
      return { checks, claims: null, deny: { status: 401, reason, kvCode: 'Unauthorized', message, headers: { 'www-authenticate': this.challenge(input) } } };
    };
    const auth = input.authorization;
    if (!auth) return unauthorized('credential_missing', 'AKV10000: Request is missing a Bearer or PoP token.', { looked_for: ['Authorization: Bearer'] });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) return unauthorized('credential_missing', 'AKV10000: Request is missing a Bearer or PoP token.', { scheme: auth.split(' ', 1)[0] ?? '', looked_for: ['Authorization: Bearer'] });
    const token = m[1]!;
    const gen = this.generation();
    let claims: AccessTokenClaims;
    const cached = this.verified.get(token);
    if (cached && cached.generation === gen && cached.vault === vault.name && cached.claims.exp > input.now / 1000) {
      claims = cached.claims;
    } else {
      const verdict = await this.verifier.verify(token, { audience: settings.settings.resource.replace(/\/$/, ''), issuers: vault.issuers, clockToleranceSeconds: settings.settings.tokenService.clockToleranceSeconds }, input.now);
      if (!verdict.ok) return unauthorized(verdict.code, verdict.message, verdict.evidence);
      claims = verdict.claims;
      if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.clear();
      this.verified.set(token, { claims, generation: gen, vault: vault.name });
    }
    record('vault.token', 'authn', 'continue', { appid: claims.appid, oid: claims.oid, tid: claims.tid });

    const fw = vault.definition.firewall;
    if (fw.defaultAction === 'Deny') {
      const app = settings.apps.byObject(claims.oid);
      const rule = vault.firewallRules.match(input.clientIp);
      const evidence = { client_ip: input.clientIp, default_action: fw.defaultAction, ip_rules: fw.ipRules, bypass: fw.bypass, trusted_service: app?.trustedService ?? false, matched_rule: rule };
      if (rule) record('vault.firewall', 'pre-auth', 'continue', evidence);
      else if (fw.bypass === 'AzureServices' && app?.trustedService) record('vault.firewall', 'pre-auth', 'bypassed', evidence);
      else {
        const message = `Client address (${input.clientIp}) is not authorized and caller is not a trusted service.\r\nClient address: ${input.clientIp}\r\nCaller: ${callerOf(claims)}\r\nVault: ${vault.name};location=local`;
        record('vault.firewall', 'pre-auth', 'deny', evidence, 'vault_firewall_denied', message);
        return { checks, claims, deny: { status: 403, reason: 'vault_firewall_denied', kvCode: 'ForbiddenByFirewall', kvInner: 'ForbiddenByFirewall', message, headers: {} } };
      }
    } else {
      record('vault.firewall', 'pre-auth', 'continue', { client_ip: input.clientIp, default_action: 'Allow' });
    }

    const limit = vault.definition.throttle[op.throttleClass];
    const t = this.throttle.take(`${vault.name}:${op.throttleClass}`, limit.requests, limit.windowSeconds, input.now);
    if (!t.allowed) {
      const tEvidence = { vault: vault.name, operation_class: op.throttleClass, limit: t.limit, window_seconds: t.windowSeconds, used: t.used, window_frees_at: new Date(t.windowEndsAt).toISOString(), retry_after_seconds: t.retryAfterSeconds };
      const message = `Request was not processed because too many requests were received. Reason: vault '${vault.name}' allows ${t.limit} ${op.throttleClass} operations per ${t.windowSeconds} s; retry after ${t.retryAfterSeconds} s.`;
      record('vault.throttle', 'limit', 'deny', tEvidence, 'vault_throttled', message);
      return { checks, claims, deny: { status: 429, reason: 'vault_throttled', kvCode: 'Throttled', message, headers: { 'retry-after': String(t.retryAfterSeconds) } } };
    }
    record('vault.throttle', 'limit', 'continue', { operation_class: op.throttleClass, limit: t.limit, used: t.used });

    const policy = vault.policies.get(claims.oid);
    if (!policy || !policy.permissions.has(op.permission)) {
      const reason: ReasonCode = policy ? 'vault_permission_missing' : 'vault_no_access_policy';
      const message = `The user, group or application '${callerOf(claims)}' does not have secrets ${op.permission} permission on key vault '${vault.name};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;
      record('vault.access-policy', 'authz', 'deny', policyEvidence(input, claims, policy ?? null), reason, message);
      return { checks, claims, deny: { status: 403, reason, kvCode: 'Forbidden', kvInner: 'AccessDenied', message, headers: {} } };
    }
    record('vault.access-policy', 'authz', 'continue', { permission: op.permission, policy_version: settings.version, policy_index: policy.index });
    return { checks, claims, deny: null };
  }
}

/** The caller as Key Vault names it in a refusal; built only when refusing, not on every request. */
const callerOf = (claims: AccessTokenClaims): string => `appid=${claims.appid};oid=${claims.oid};iss=${claims.iss}`;

/** Who was seen against who holds policies: the evidence for "you are probably using another client id". */
function policyEvidence(input: AccessInput, claims: AccessTokenClaims, policy: CompiledPolicy | null): Evidence {
  const { settings, vault, op } = input;
  const app = settings.apps.byObject(claims.oid);
  const holders = [...vault.policies.values()];
  const describe = (p: CompiledPolicy) => {
    const a = settings.apps.byObject(p.objectId);
    return `${a?.displayName ?? '(unknown object)'} (appid=${a?.clientId ?? '?'};oid=${p.objectId}) [${[...p.permissions].join(' ')}]`;
  };
  return {
    appid: claims.appid, oid: claims.oid, tid: claims.tid, display_name: app?.displayName ?? null, vault: vault.name, permission: op.permission,
    policy_version: settings.version, policy_index: policy?.index ?? null, granted: policy ? [...policy.permissions] : [],
    identities_with_policies: holders.map(describe),
    same_display_name: holders.filter((p) => p.objectId !== claims.oid && app !== null && settings.apps.byObject(p.objectId)?.displayName === app.displayName).map(describe),
    with_permission: holders.filter((p) => p.permissions.has(op.permission)).map(describe),
    policies_elsewhere: [...settings.vaults.values()].filter((v) => v.name !== vault.name && v.policies.has(claims.oid)).map((v) => v.name),
  };
}
