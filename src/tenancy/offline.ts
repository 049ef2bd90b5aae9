import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CompileDeps } from '../config/compile.ts';
import type { LoadedConfig } from '../config/load.ts';
import { SqliteStateStore } from '../store/sqlite/state-store.ts';
import { TenancyRuntime } from './runtime.ts';

/**
 * For offline tools (simulate): the config overlaid with the current tenancy state of the
 * data directory next to it, and the tenancy checks, so a simulation decides as the gateway does.
 */
export async function withTenancyState(loaded: LoadedConfig, databaseFile: string = join(dirname(loaded.file), 'pinpoint.db')): Promise<{ loaded: LoadedConfig; deps: Pick<CompileDeps, 'routeChecks' | 'resourceChecks'> }> {
  if (!existsSync(databaseFile)) return { loaded, deps: {} };
  const runtime = await TenancyRuntime.open(new SqliteStateStore(databaseFile, { readOnly: true }));
  if (runtime.state.version === 0) runtime.seedFrom(loaded.config); // in memory only: never confirmed offline
  const overlaid = runtime.overlay(loaded);
  const deps = { routeChecks: runtime.routeChecks.bind(runtime), resourceChecks: runtime.resourceChecks.bind(runtime) };
  await runtime.store.close();
  return { loaded: overlaid, deps };
}
