import { createHash } from 'node:crypto';
import type { LoadedConfig, PathSegment } from '../config/load.ts';
import type { PinpointConfig, RouteConfig } from '../config/schema.ts';
import { createAccessPolicyCheck } from '../checks/access-policy.ts';
import { createOwnershipCheck } from '../checks/ownership.ts';
import { createSubscriptionCheck } from '../checks/subscription.ts';
import type { Check, ConfigLocation } from '../pipeline/types.ts';
import { compileTenancy, type CompiledTenancy } from '../policy/compile.ts';
import type { Actor, StateStore, VersionInfo } from '../store/state-store.ts';
import type { Stored } from './model.ts';
import { seedChanges, seededIds, seedHash, seedMaps, seedSectionsOf } from './seed.ts';
import { applyChanges, emptyMaps, type Change, type StateSnapshot } from './state.ts';

// The bridge between the state store and the request path. The state lives in memory as
// a snapshot; each commit produces the next snapshot and its compiled indexes, then asks the
// gateway to recompile its chains and swap them in with one assignment. No request ever
// reads the store.

export type ChangeListener = (version: number) => void;

export interface SeedTicket {
  confirm(): void;
  rollback(): void;
}

const noSeed: SeedTicket = { confirm: () => undefined, rollback: () => undefined };

export class TenancyRuntime {
  readonly store: StateStore;
  private snapshot: StateSnapshot;
  private compiledState: CompiledTenancy;
  private readonly listeners: ChangeListener[] = [];
  private poller: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Milliseconds from the start of the last commit to the moment its change was live (listeners done). */
  lastPropagationMs: number | null = null;

  private constructor(store: StateStore, snapshot: StateSnapshot) {
    this.store = store;
    this.snapshot = snapshot;
    this.compiledState = compileTenancy(snapshot);
  }

  /** `seedFile`: the config file whose tenancy sections seed the store (its last seed is read now). */
  static async open(store: StateStore, seedFile?: string): Promise<TenancyRuntime> {
    const runtime = new TenancyRuntime(store, await loadSnapshot(store));
    if (seedFile !== undefined) {
      runtime.seedFile = seedFile;
      runtime.lastSeed = JSON.parse((await store.getMeta(`seed:${seedFile}`)) ?? '{"hash":"","ids":{}}') as { hash: string; ids: Record<string, string[]> };
    }
    return runtime;
  }

  private seedFile = '';
  private lastSeed: { hash: string; ids: Record<string, string[]> } = { hash: '', ids: {} };

  get state(): StateSnapshot { return this.snapshot; }
  get compiled(): CompiledTenancy { return this.compiledState; }

  onChange(listener: ChangeListener): void { this.listeners.push(listener); }

  /**
   * Applies the YAML's tenancy sections when they changed since the last seed (see seed.ts).
   * Synchronous, so that a config reload sees its own consumers at once: the new version is
   * applied in memory now; `confirm` persists it (in commit order with admin changes) once the
   * whole config compiled, `rollback` forgets it when the config is refused, so a broken file
   * never changes the state either.
   */
  seedFrom(config: PinpointConfig): SeedTicket {
    const sections = seedSectionsOf(config);
    const hash = seedHash(sections);
    if (this.lastSeed.hash === hash) return noSeed;
    const saved = { snapshot: this.snapshot, compiled: this.compiledState, lastSeed: this.lastSeed };
    const declared = seedMaps(sections);
    const changes = seedChanges(this.snapshot.entities, declared, this.lastSeed.ids);
    this.lastSeed = { hash, ids: seededIds(declared) };
    const meta = JSON.stringify(this.lastSeed);
    const actor = { id: `config:${this.seedFile}`, role: 'config' };
    const now = Date.now();
    if (changes.length > 0) {
      const version = this.snapshot.version + 1;
      this.snapshot = { version, at: now, entities: applyChanges(this.snapshot.entities, changes, version) };
      this.compiledState = compileTenancy(this.snapshot);
    }
    return {
      confirm: () => {
        const persist = async () => {
          if (changes.length > 0) await this.store.commit({ actor, summary: `seed from ${this.seedFile}`, changes, now });
          await this.store.setMeta(`seed:${this.seedFile}`, meta);
        };
        const p = this.queue.then(persist);
        this.queue = p.catch((err: unknown) => { this.persistError = err; });
      },
      rollback: () => {
        this.snapshot = saved.snapshot;
        this.compiledState = saved.compiled;
        this.lastSeed = saved.lastSeed;
      },
    };
  }

  /** Resolves once every pending write (seed persistence, commits) reached the store. */
  async settled(): Promise<void> {
    await this.queue;
  }

  /** The last failure to persist a seed (tests and the admin status show it). */
  persistError: unknown = null;

  /** Commits one change set as one version, makes it live, and resolves once it is. Serialized. */
  commit(actor: Actor, summary: string, changes: readonly Change[]): Promise<VersionInfo> {
    const run = async () => {
      const started = performance.now();
      const info = await this.store.commit({ actor, summary, changes, now: Date.now() });
      if (info.version === this.snapshot.version + 1) {
        this.snapshot = { version: info.version, at: info.at, entities: applyChanges(this.snapshot.entities, changes, info.version) };
      } else {
        // Another instance committed in between: start again from the store.
        this.snapshot = await loadSnapshot(this.store);
      }
      this.compiledState = compileTenancy(this.snapshot);
      for (const l of this.listeners) l(this.snapshot.version);
      this.lastPropagationMs = Math.round((performance.now() - started) * 1000) / 1000;
      return info;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Other gateway instances sharing the store pick changes up within `intervalMs` (one cheap query per interval, never per request). */
  startPolling(intervalMs: number): void {
    this.poller = setInterval(() => {
      this.queue = this.queue.then(async () => {
        const latest = await this.store.latestVersion();
        if (latest === this.snapshot.version) return;
        this.snapshot = await loadSnapshot(this.store);
        this.compiledState = compileTenancy(this.snapshot);
        for (const l of this.listeners) l(this.snapshot.version);
      }).catch(() => undefined);
    }, intervalMs);
    this.poller.unref();
  }

  /**
   * The gateway's config with its tenants and consumers replaced by the state's, so the
   * existing authenticators index the store's keys. Locations of entities the file declares
   * still point at the file; the others point at the state.
   */
  overlay(loaded: LoadedConfig): LoadedConfig {
    const e = this.snapshot.entities;
    const keysByConsumer = new Map<string, Stored<'key'>[]>();
    for (const k of e.key.values()) {
      const list = keysByConsumer.get(k.data.consumer);
      if (list) list.push(k); else keysByConsumer.set(k.data.consumer, [k]);
    }
    const tenants = [...e.tenant.values()].map((t) => ({ id: t.id, status: t.data.status }));
    const consumerList = [...e.consumer.values()];
    const consumers = consumerList.map((c) => ({
      id: c.id, ...(c.data.tenant ? { tenant: c.data.tenant } : {}), ...(c.data.name ? { name: c.data.name } : {}),
      status: c.data.status, ...(c.data.suspendedReason ? { suspendedReason: c.data.suspendedReason } : {}),
      jwtSubjects: c.data.jwtSubjects,
      keys: (keysByConsumer.get(c.id) ?? []).map((k) => { const { consumer: _c, ...rest } = k.data; return rest; }),
    }));
    const config: PinpointConfig = { ...loaded.config, tenants, consumers };
    const yamlTenant = new Map(loaded.config.tenants.map((t, i) => [t.id, i]));
    const yamlConsumer = new Map(loaded.config.consumers.map((c, i) => [c.id, i]));
    const locate = (path: readonly PathSegment[]): ConfigLocation => {
      const [section, index, ...rest] = path;
      if (section === 'tenants' && typeof index === 'number') {
        const id = tenants[index]?.id ?? '';
        const at = yamlTenant.get(id);
        return at === undefined ? stateLocation(`tenants/${id}`, rest) : loaded.locate(['tenants', at, ...rest]);
      }
      if (section === 'consumers' && typeof index === 'number') {
        const c = consumers[index];
        const at = c ? yamlConsumer.get(c.id) : undefined;
        if (at !== undefined && rest[0] === 'keys' && typeof rest[1] === 'number') {
          const keyId = c!.keys[rest[1]]?.id;
          const yk = loaded.config.consumers[at]!.keys.findIndex((k) => k.id === keyId);
          if (yk !== -1) return loaded.locate(['consumers', at, 'keys', yk, ...rest.slice(2)]);
          return stateLocation(`keys/${keyId}`, rest.slice(2));
        }
        if (at !== undefined) return loaded.locate(['consumers', at, ...rest]);
        if (rest[0] === 'keys' && typeof rest[1] === 'number') return stateLocation(`keys/${c?.keys[rest[1]]?.id ?? '?'}`, rest.slice(2));
        return stateLocation(`consumers/${c?.id ?? '?'}`, rest);
      }
      return loaded.locate(path);
    };
    const hash = createHash('sha256').update(`${loaded.hash}:${this.snapshot.version}`).digest('hex');
    return { ...loaded, config, hash, locate };
  }

  /** The authz checks a route gets from the API it belongs to (none for routes outside any API or without authentication). */
  routeChecks(route: RouteConfig, source: ConfigLocation): Check[] {
    const t = this.compiledState;
    const api = t.apiByRoute.get(route.id);
    if (!api || route.auth.length === 0) return [];
    const checks: Check[] = [createSubscriptionCheck(t, api, source)];
    if (api.data.policies === 'enforce') checks.push(createAccessPolicyCheck(t, api, route.id, source));
    return checks;
  }

  /** Owner-only rules run after the scope check: a read-only key is told about its scope first. */
  resourceChecks(route: RouteConfig, source: ConfigLocation): Check[] {
    const t = this.compiledState;
    const api = t.apiByRoute.get(route.id);
    if (!api || route.auth.length === 0 || !api.data.ownership.some((r) => r.routes.includes(route.id))) return [];
    return [createOwnershipCheck(t, api, route.id, source)];
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    await this.queue;
    await this.store.close();
  }
}

function stateLocation(entity: string, rest: readonly PathSegment[]): ConfigLocation {
  return { file: 'state', line: 0, path: rest.length ? `${entity}.${rest.join('.')}` : entity };
}

export async function loadSnapshot(store: StateStore): Promise<StateSnapshot> {
  const current = await store.loadCurrent();
  const entities = emptyMaps();
  for (const s of current.entities) (entities[s.kind] as Map<string, Stored>).set(s.id, s);
  return { version: current.version, at: current.at, entities };
}
