import type { LoadedConfig } from '../config/load.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { CheckRecord, ConfigLocation } from '../pipeline/types.ts';
import { list, str } from './evidence.ts';

/**
 * Where the rule that refused a request lives. Checks record line 0 when they have no line
 * (the router, the built-in "no credential" verdict, tenancy state); where the config text
 * of the deciding version is at hand, the line is looked up here instead, at explain time,
 * so the request path never pays for it.
 */
export function locateRule(t: TraceRecord, refusing: CheckRecord | null, loaded: LoadedConfig | null): ConfigLocation | null {
  if (!refusing) return null;
  if (t.extra?.service === 'vault') return vaultLocation(t, refusing);
  const recorded = refusing.rule ?? refusing.source ?? null;
  if (!recorded || recorded.line > 0 || !loaded) return recorded;
  const routeIndex = (id: string | null | undefined) => (id ? loaded.config.routes.findIndex((r) => r.id === id) : -1);
  // The built-in verdict "no authenticator found a credential" is about the route's auth list.
  if (refusing.id === 'authn' && refusing.code === 'credential_missing') {
    const i = routeIndex(t.routeId);
    return i === -1 ? recorded : loaded.locate(['routes', i, 'auth']);
  }
  if (refusing.id === 'router') {
    if (refusing.code === 'method_not_allowed') {
      const i = routeIndex(list(refusing.evidence, 'routes')[0]);
      if (i !== -1) return loaded.locate(['routes', i, 'methods']);
    }
    return loaded.locate(['routes']);
  }
  return recorded;
}

/** A location as one phrase: no `:0` when there is no line to point at. */
export function formatLocation(loc: ConfigLocation): string {
  if (loc.line > 0) return `${loc.file}:${loc.line} (${loc.path})`;
  if (loc.file === 'state') return `state: ${loc.path}`;
  if (loc.file === '(built-in)') return `built-in (${loc.path})`;
  return `${loc.file} (${loc.path})`;
}

/**
 * Vault checks carry no config location: the rule is a section of the vault settings, and
 * the trace records which version of them decided (a version names one vault.yaml text).
 */
function vaultLocation(t: TraceRecord, refusing: CheckRecord): ConfigLocation | null {
  const version = str(t.extra, 'policy_version');
  const vault = str(t.extra, 'vault');
  if (version === null) return null;
  const e = refusing.evidence;
  const index = str(e, 'policy_index');
  const section: Record<string, string> = {
    'vault.token': 'tokenService',
    'vault.firewall': `vault ${vault}: firewall`,
    'vault.throttle': `vault ${vault}: throttle${str(e, 'operation_class') ? `.${str(e, 'operation_class')}` : ''}`,
    'vault.access-policy': `vault ${vault}: accessPolicies${index !== null ? `[${index}]` : ''}`,
  };
  return { file: `vault.yaml policy v${version}`, line: 0, path: section[refusing.id] ?? `vault ${vault}` };
}
