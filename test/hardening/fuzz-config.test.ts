import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { TokenCache } from '../../src/checks/jwt.ts';
import { compileConfig } from '../../src/config/compile.ts';
import { ConfigError, loadConfigText } from '../../src/config/load.ts';
import { demoConfigYaml } from '../../src/demo/demo-config.ts';
import { LocalCounterStore } from '../../src/limits/local-counter-store.ts';
import { bounded } from './support.ts';

// The config loader sees text an operator (or a deploy pipeline, or an attacker with write
// access to the config repository) wrote. Whatever it is, loading and compiling either
// succeeds or throws a ConfigError whose every problem points at a line of the file:
// never a TypeError, a RangeError, a stack overflow or a hang.

const demoYaml = demoConfigYaml(Date.now()).replace('${PINPOINT_DEMO_ECHO_URL:-http://127.0.0.1:8082}', 'http://127.0.0.1:9');
const counters = new LocalCounterStore();
const tokenCache = new TokenCache();

function loadAndCompile(text: string): 'ok' | ConfigError {
  try {
    const loaded = loadConfigText(text, '/etc/pinpoint/pinpoint.yaml', { SET: 'value', PORT: '8080' });
    const compiled = compileConfig(loaded, 1, { counters, tokenCache });
    for (const u of compiled.upstreams.values()) void u.close();
    return 'ok';
  } catch (err) {
    if (err instanceof ConfigError) return err;
    assert.fail(`loading threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack ?? String(err)}\n--- config ---\n${text.slice(0, 2000)}`);
  }
}

function assertLocated(result: 'ok' | ConfigError): void {
  if (result === 'ok') return;
  assert.ok(result.problems.length > 0, 'a ConfigError names at least one problem');
  for (const p of result.problems) {
    assert.equal(p.file, 'pinpoint.yaml');
    assert.ok(Number.isInteger(p.line) && p.line >= 1, `problem has a line: ${JSON.stringify(p)}`);
    assert.ok(typeof p.message === 'string' && p.message.length > 0, `problem has a message: ${JSON.stringify(p)}`);
  }
}

test('the demo config itself loads and compiles (the base of the mutations below)', () => {
  assert.equal(loadAndCompile(demoYaml), 'ok');
});

test('any text at all either loads or is refused with a located ConfigError', () => {
  const yamlish = fc.string({ unit: fc.constantFrom(...': -\n\t{}[],&*!|>\'"%@`#?${}0123456789abcgrouteshpkyt\\\u0000\u00e9\ufeff'.split('')), maxLength: 300 });
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), yamlish), (text) => {
    assertLocated(loadAndCompile(text));
  }), bounded(400, 3));
});

test('the demo config with random bytes inserted, deleted or lines duplicated is refused with a location or still valid', () => {
  const lines = demoYaml.split('\n');
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(demoYaml.length), text: fc.string({ unit: 'binary', maxLength: 20 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(demoYaml.length), len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('dupline' as const), at: fc.nat(lines.length - 1) }),
    fc.record({ kind: fc.constant('indent' as const), at: fc.nat(lines.length - 1), by: fc.integer({ min: -4, max: 4 }) }),
  );
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
    let text = demoYaml;
    for (const m of ms) {
      if (m.kind === 'insert') text = text.slice(0, m.at) + m.text + text.slice(m.at);
      else if (m.kind === 'delete') text = text.slice(0, m.at) + text.slice(m.at + m.len);
      else {
        const ls = text.split('\n');
        const i = Math.min(m.at, ls.length - 1);
        if (m.kind === 'dupline') ls.splice(i, 0, ls[i]!);
        else ls[i] = m.by >= 0 ? ' '.repeat(m.by) + ls[i]! : ls[i]!.slice(-m.by);
        text = ls.join('\n');
      }
    }
    assertLocated(loadAndCompile(text));
  }), bounded(300, 4));
});

/** Every path to a value in a parsed document, to aim structured mutations at real fields. */
function leafPaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => leafPaths(x, [...at, i]))];
  if (v && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...at, k]))];
  return [at];
}

test('the demo config with any field replaced by any JSON value (or removed, or a __proto__ key added) is refused with a location or still valid', () => {
  const base = parse(demoYaml) as Record<string, unknown>;
  const paths = leafPaths(base).filter((p) => p.length > 0);
  const hostile = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom('${UNSET_VARIABLE}', '${SET}', '${PORT}', '0.0.0.0/0', '::/0', '10.0.0.0/33', '::ffff:10.0.0.1/128', '/api/{id}/{id}', '/api/{*rest}', 'HS256', 'none', 'http://[::1', 'a'.repeat(10_000), -1, 1e308, Number.MAX_SAFE_INTEGER + 2),
  );
  fc.assert(fc.property(fc.constantFrom(...paths), hostile, fc.constantFrom('set', 'delete', 'proto'), (path, value, op) => {
    const doc = structuredClone(base);
    let parent: Record<string | number, unknown> = doc;
    for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (op === 'set') parent[last] = value;
    else if (op === 'delete') { if (Array.isArray(parent)) parent.splice(last as number, 1); else delete parent[last]; }
    else Object.defineProperty(parent, '__proto__', { value: { polluted: value }, enumerable: true, configurable: true, writable: true });
    assertLocated(loadAndCompile(stringify(doc)));
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  }), bounded(400, 5));
});

test('an alias to an unknown anchor is a located ConfigError, not a ReferenceError from the YAML library', () => {
  const r = loadAndCompile('gateway:\n  port: 8080\nroutes: *nowhere\n');
  assert.ok(r instanceof ConfigError);
  assert.equal(r.problems[0]!.line, 3);
  assert.match(r.problems[0]!.message, /YAML aliases: .*anchor/);
});

test('a "billion laughs" alias bomb is refused at once with a located ConfigError', () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  const started = performance.now();
  const r = loadAndCompile(`${levels.join('\n')}\n`);
  assert.ok(performance.now() - started < 1000, 'refused without expanding the bomb');
  assert.ok(r instanceof ConfigError);
  assert.ok(r.problems[0]!.line >= 2);
});

test('a trusted origin that is not a URL at all (0.0.0.0/0, an open IPv6 bracket) is a located ConfigError, not a TypeError from new URL', () => {
  for (const origin of ['0.0.0.0/0', 'http://[::1', 'https://', 'http://example.com/path']) {
    const doc = parse(demoYaml) as { web: { trustedOrigins: string[] } };
    doc.web.trustedOrigins = ['self', origin];
    const r = loadAndCompile(stringify(doc));
    assert.ok(r instanceof ConfigError, `${origin} is refused`);
    assertLocated(r);
    assert.ok(r.problems.some((p) => /trustedOrigins/.test(p.message) || /origin|URL/i.test(p.message)), `${origin}: ${JSON.stringify(r.problems)}`);
  }
});
