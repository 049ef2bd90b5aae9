import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { TokenCache } from '../../src/checks/jwt.ts';
import { compileConfig } from '../../src/config/compile.ts';
import { ConfigError, loadConfigText } from '../../src/config/load.ts';
import { demoConfigYaml } from '../../src/demo/demo-config.ts';
import { demoKeys } from '../../src/demo/demo-keys.ts';
import { LocalCounterStore } from '../../src/limits/local-counter-store.ts';

// API keys at rest: the config holds only sha256 hashes (the schema has no field for a
// plaintext key), and what the gateway compiles from it and keeps in memory holds no
// plaintext either. Lookup is by the hash of the presented key (one map lookup), so no
// stored key is ever compared with attacker input byte by byte: timing can only reveal
// something about the hash of the attacker's own guess (see SECURITY.md).

const yaml = demoConfigYaml(Date.now()).replace('${PINPOINT_DEMO_ECHO_URL:-http://127.0.0.1:8082}', 'http://127.0.0.1:9');

/** Every string reachable from a value: object fields, arrays, Map keys and values, Sets. */
function strings(v: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof v === 'string') { out.push(v); return out; }
  if (v === null || typeof v !== 'object' || seen.has(v)) return out;
  seen.add(v);
  if (v instanceof Map) for (const [k, x] of v) { strings(k, out, seen); strings(x, out, seen); }
  else if (v instanceof Set) for (const x of v) strings(x, out, seen);
  else for (const k of Object.keys(v)) { out.push(k); strings((v as Record<string, unknown>)[k], out, seen); }
  return out;
}

test('a key given in plaintext in the config is refused at load with its location', () => {
  const doc = parse(yaml) as { consumers: { keys: Record<string, unknown>[] }[] };
  doc.consumers[0]!.keys[0]!['key'] = 'pk_demo_writer';
  assert.throws(() => loadConfigText(stringify(doc), 'pinpoint.yaml'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /consumers\[0\]\.keys\[0\].*key/);
    return true;
  });
  const noHash = parse(yaml) as { consumers: { keys: Record<string, unknown>[] }[] };
  noHash.consumers[0]!.keys[0]!['hash'] = 'pk_demo_writer';
  assert.throws(() => loadConfigText(stringify(noHash), 'pinpoint.yaml'), /sha256:<64 hex digits>/);
});

test('the compiled config in memory holds key hashes and prefixes only, never a whole demo key', () => {
  // The demo config's header comment lists the public demo keys on purpose; the parsed
  // config (and so everything compiled from it) must not.
  const loaded = loadConfigText(yaml, 'pinpoint.yaml');
  const compiled = compileConfig(loaded, 1, { counters: new LocalCounterStore(), tokenCache: new TokenCache() });
  try {
    const all = strings({ directory: compiled.directory, routes: compiled.routes, raw: compiled.raw });
    assert.ok(all.length > 100, 'the walk reached the compiled structures');
    for (const key of Object.values(demoKeys)) {
      assert.ok(!all.some((s) => s.includes(key)), `${key} is not held by the compiled config`);
    }
    for (const hash of compiled.directory.keysByHash.keys()) assert.match(hash, /^[0-9a-f]{64}$/);
    for (const entry of compiled.directory.keysById.values()) assert.ok((entry.prefix ?? '').length <= 8, 'only the public prefix is kept');
  } finally {
    for (const u of compiled.upstreams.values()) void u.close();
  }
});
