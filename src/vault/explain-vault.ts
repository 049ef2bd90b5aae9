import type { TraceRecord } from '../log/trace.ts';
import type { CheckRecord, Evidence } from '../pipeline/types.ts';

const str = (e: Evidence | undefined, k: string): string | null => {
  const v = e?.[k];
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
};
const list = (e: Evidence | undefined, k: string): readonly string[] => {
  const v = e?.[k];
  return Array.isArray(v) ? (v as readonly string[]) : [];
};

/** The vault's troubleshooting guide (Key Vault's 401/403/429 article), automated from a refusal's evidence. */
export function diagnoseVault(t: TraceRecord, refusing: CheckRecord | null): string[] {
  const e = refusing?.evidence;
  const vault = str(t.extra, 'vault') ?? '?';
  const out = [`Vault "${vault}" refused ${str(t.extra, 'operation') ?? t.method} with ${t.status} (${str(t.extra, 'kv_error_code') ?? ''}); decided under vault policy version v${str(t.extra, 'policy_version') ?? '?'}.`];
  const who = t.identity ? `${t.identity.credentialId} in tenant ${t.identity.tenantId ?? '?'}` : null;
  switch (t.code) {
    case 'credential_missing':
      out.push('No bearer token was sent. An Azure SDK client always sends its first request without one and retries after this challenge: one such 401 per client is normal. If the client never comes back with a token, check its credential (tenant, client id, authorityHost) — the token request itself may be failing.');
      break;
    case 'token_audience_mismatch':
      out.push(`The token was issued for ${str(e, 'token_audience') ?? '(none)'}, the vault accepts only ${str(e, 'expected_audience')}. Request the token with scope "${str(e, 'expected_audience')}/.default" (or resource=${str(e, 'expected_audience')}).`);
      break;
    case 'token_issuer_untrusted':
      out.push(`The token's issuer is ${str(e, 'token_issuer') ?? '(none)'}; this vault accepts ${list(e, 'accepted_issuers').join(', ')}. The client got its token from another authority or tenant: set its authorityHost and tenant to this token service and the vault's tenant.`);
      break;
    case 'token_signature_invalid':
      out.push(`The signature did not verify (${str(e, 'problem') ?? ''}). The token comes from another token service, was altered, or its key was retired past the overlap; get a fresh token from this token service.`);
      break;
    case 'credential_expired':
    case 'credential_not_yet_valid':
      out.push(`The token failed its ${str(e, 'claim')} check (${str(e, 'exp') ?? str(e, 'not_before')} vs now ${str(e, 'now')}). Get a fresh token; if it happens right after issuing, compare the clocks of the client, token service and vault.`);
      break;
    case 'vault_no_access_policy': {
      out.push(`The caller was ${who} (display name "${str(e, 'display_name') ?? 'unknown'}"). Vault "${vault}" has no access policy for object id ${str(e, 'oid')}.`);
      const holders = list(e, 'identities_with_policies');
      out.push(holders.length ? `Identities with policies on "${vault}": ${holders.join('; ')}.` : `Vault "${vault}" has no access policy at all.`);
      const same = list(e, 'same_display_name');
      if (same.length) out.push(`An identity with the same display name has a policy: ${same.join('; ')}. You are probably using another client id than the one the policy was made for.`);
      const elsewhere = list(e, 'policies_elsewhere');
      if (elsewhere.length) out.push(`This identity does have a policy on vault(s) ${elsewhere.join(', ')}: is the client addressing the wrong vault (host name)?`);
      out.push(`Fix: add an access policy for oid ${str(e, 'oid')} with secrets [${str(e, 'permission')}], or configure the client with the client id that holds a policy.`);
      break;
    }
    case 'vault_permission_missing':
      out.push(`The caller ${who} has a policy on "${vault}" (policy #${str(e, 'policy_index')}) granting [${list(e, 'granted').join(' ')}], but ${str(t.extra, 'operation')} needs "${str(e, 'permission')}".`);
      if (list(e, 'with_permission').length) out.push(`Identities that hold "${str(e, 'permission')}": ${list(e, 'with_permission').join('; ')}.`);
      out.push(`Fix: add "${str(e, 'permission')}" to the policy of oid ${str(e, 'oid')}, or use an app that holds it.`);
      break;
    case 'vault_firewall_denied':
      out.push(`The vault saw client address ${str(e, 'client_ip')}. Its firewall's default action is ${str(e, 'default_action')} and no IP rule matches (rules: ${list(e, 'ip_rules').join(', ') || 'none'}).`);
      out.push(`The trusted-services bypass is ${str(e, 'bypass')}; the caller ${str(e, 'trusted_service') === 'true' ? 'is' : 'is not'} a trusted service${str(e, 'trusted_service') === 'true' ? ', but the bypass is off' : ''}.`);
      out.push(`Fix: add ${str(e, 'client_ip')} (or its network's CIDR) to the ipRules of vault "${vault}", or call from an allowed network. The token was valid: this is not an identity problem.`);
      break;
    case 'vault_throttled':
      out.push(`Vault "${vault}" allows ${str(e, 'limit')} ${str(e, 'operation_class')} operations per ${str(e, 'window_seconds')} s; ${str(e, 'used')} were used in the current window, which frees at ${str(e, 'window_frees_at')} (Retry-After ${str(e, 'retry_after_seconds')} s).`);
      out.push('Fix: cache secret values in the application instead of reading them per request, honour Retry-After with backoff, or raise the vault\'s throttle limit for this class.');
      break;
    default:
      if (refusing?.detail) out.push(refusing.detail);
  }
  return out;
}

/** The one-sentence summary of a vault refusal: the vault, not the gateway's routes, answered. */
export function summarizeVault(t: TraceRecord, refusing: CheckRecord | null): string {
  return `${t.status} ${t.code ?? ''}: vault "${str(t.extra, 'vault') ?? '?'}" refused ${str(t.extra, 'operation') ?? ''} (${t.method} ${t.path})${refusing ? ` at check "${refusing.id}" (${refusing.phase} phase)` : ''}.`;
}
