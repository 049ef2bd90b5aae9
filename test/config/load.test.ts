import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, formatPath, formatProblem, loadConfigFile, loadConfigText, type ConfigProblem } from '../../src/config/load.ts';

const minimal = `upstreams:
  orders:
    targets:
      - url: http://127.0.0.1:9000
routes:
  - id: list-orders
    path: /v1/orders
    methods: [GET]
    upstream: orders
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}, file = '/etc/pinpoint/gateway.yaml'): readonly ConfigProblem[] {
  let problems: readonly ConfigProblem[] = [];
  assert.throws(() => loadConfigText(text, file, env), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    problems = err.problems;
    return true;
  });
  assert.ok(problems.length > 0);
  return problems;
}

describe('loading a valid config', () => {
  test('a minimal config loads and fills in the defaults', () => {
    const loaded = loadConfigText(minimal, 'gateway.yaml', {});
    const { config } = loaded;
    assert.equal(config.gateway.host, '127.0.0.1');
    assert.equal(config.gateway.port, 8080);
    assert.deepEqual(config.gateway.trustedProxies, []);
    assert.equal(config.gateway.apiKeyHeader, 'x-api-key');
    const upstream = config.upstreams['orders'];
    assert.ok(upstream);
    assert.equal(upstream.balance, 'round-robin');
    assert.equal(upstream.retries, 1);
    assert.equal(upstream.targets[0]?.weight, 1);
    assert.deepEqual(upstream.timeouts, { connectMs: 2000, responseHeadersMs: 30000, bodyIdleMs: 30000 });
    const route = config.routes[0];
    assert.ok(route);
    assert.deepEqual(route.auth, []);
    assert.equal(route.forwardCredential, false);
    assert.equal(config.log.flushIntervalMs, 50);
  });

  test('an empty document is a valid config with every default', () => {
    const { config } = loadConfigText('', 'empty.yaml', {});
    assert.deepEqual(config.routes, []);
    assert.deepEqual(config.upstreams, {});
    assert.equal(config.gateway.port, 8080);
  });

  test('a rate limit defaults to gcra by key', () => {
    const text = minimal + '    rateLimit:\n      limit: 10\n      windowSeconds: 60\n';
    const { config } = loadConfigText(text, 'gateway.yaml', {});
    assert.deepEqual(config.routes[0]?.rateLimit, { limit: 10, windowSeconds: 60, by: 'key', algorithm: 'gcra' });
  });

  test('the same text always gets the same hash and a changed text another', () => {
    const a = loadConfigText(minimal, 'a.yaml', {});
    const b = loadConfigText(minimal, 'b.yaml', {});
    const c = loadConfigText(minimal + '\n# comment\n', 'a.yaml', {});
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    assert.equal(a.hash, b.hash);
    assert.notEqual(a.hash, c.hash);
  });

  test('locate gives the file name, line and path of a config element', () => {
    const loaded = loadConfigText(minimal, '/srv/conf/gateway.yaml', {});
    assert.deepEqual(loaded.locate(['routes', 0, 'methods']), { file: 'gateway.yaml', line: 8, path: 'routes[0].methods' });
    assert.deepEqual(loaded.locate(['upstreams', 'orders']), { file: 'gateway.yaml', line: 3, path: 'upstreams.orders' });
  });

  test('locate falls back to the nearest existing parent for a defaulted element', () => {
    const loaded = loadConfigText(minimal, 'gateway.yaml', {});
    assert.deepEqual(loaded.locate(['routes', 0, 'rateLimit']), { file: 'gateway.yaml', line: 6, path: 'routes[0].rateLimit' });
  });
});

describe('schema errors are located', () => {
  test('an invalid nested value names the file, line and path and says what was expected', () => {
    const text = minimal + `  - id: create-order
    path: /v1/orders
    methods: [POST]
    upstream: orders
    rateLimit:
      limit: 0
      windowSeconds: 60
`;
    const problems = problemsOf(text);
    assert.equal(problems.length, 1);
    const [p] = problems;
    assert.equal(p?.file, 'gateway.yaml');
    assert.equal(p?.line, 15);
    assert.equal(p?.column, 14);
    assert.equal(p?.path, 'routes[1].rateLimit.limit');
    assert.match(p?.message ?? '', /expected number to be >0/);
    assert.match(p?.message ?? '', /got 0/);
  });

  test('the error message is one line per problem, each with file:line:column and path', () => {
    const text = minimal.replace('methods: [GET]', 'methods: [get]') + 'gateway:\n  port: "eighty"\n';
    let message = '';
    assert.throws(() => loadConfigText(text, 'gateway.yaml', {}), (err: unknown) => {
      message = (err as Error).message;
      return err instanceof ConfigError;
    });
    const lines = message.split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines.some((l) => l.startsWith('gateway.yaml:11:9 gateway.port: ') && l.includes('expected number') && l.includes('"eighty"')), message);
    assert.ok(lines.some((l) => l.startsWith('gateway.yaml:8:15 routes[0].methods[0]: ') && l.includes('upper-case HTTP method')), message);
  });

  test('every problem in the file is reported, not only the first', () => {
    const text = `routes:
  - id: a
    path: no-slash
    methods: []
    upstream: x
  - id: b
    path: /b
    methods: [GET]
`;
    const paths = problemsOf(text).map((p) => p.path).sort();
    assert.deepEqual(paths, ['routes[0].methods', 'routes[0].path', 'routes[1].upstream']);
  });

  test('a missing required field is reported at its parent, saying nothing was given', () => {
    const text = `routes:
  - id: a
    methods: [GET]
    upstream: x
`;
    const [p] = problemsOf(text);
    assert.equal(p?.path, 'routes[0].path');
    assert.equal(p?.line, 2);
    assert.match(p?.message ?? '', /expected string.*got nothing/);
  });

  test('an unknown key is refused and named', () => {
    const text = minimal + '    upsteam: typo\n';
    const [p] = problemsOf(text);
    assert.equal(p?.path, 'routes[0]');
    assert.equal(p?.line, 6);
    assert.match(p?.message ?? '', /upsteam/);
  });

  test('an enum value outside the allowed set lists the expected values', () => {
    const text = 'gateway:\n  verbosity: loud\n';
    const [p] = problemsOf(text);
    assert.equal(p?.path, 'gateway.verbosity');
    assert.equal(p?.line, 2);
    assert.match(p?.message ?? '', /minimal.*standard.*debug/);
    assert.match(p?.message ?? '', /got "loud"/);
  });

  test('a document that is not a mapping is reported at the document', () => {
    const [p] = problemsOf('- just\n- a list\n');
    assert.equal(p?.path, '');
    assert.equal(p?.line, 1);
    assert.match(formatProblem(p!), /\(document\)/);
  });
});

describe('YAML syntax errors are located', () => {
  test('bad indentation is reported with its line and column, marked as YAML syntax', () => {
    const problems = problemsOf('gateway:\n  port: 80\n   host: x\n');
    assert.ok(problems.every((p) => p.file === 'gateway.yaml' && p.message.startsWith('YAML syntax: ')));
    assert.ok(problems.every((p) => p.line >= 2 && p.line <= 3 && p.column > 0), JSON.stringify(problems));
  });

  test('an unclosed flow sequence is a located syntax error', () => {
    const problems = problemsOf('routes:\n  - id: a\n    methods: [GET\n');
    assert.ok(problems.some((p) => p.message.startsWith('YAML syntax: ') && p.line >= 3), JSON.stringify(problems));
  });

  test('a duplicate key is a syntax error at the second occurrence', () => {
    const [p] = problemsOf('gateway:\n  port: 1\n  port: 2\n');
    assert.match(p?.message ?? '', /YAML syntax: .*unique/);
    assert.equal(p?.line, 3);
    assert.equal(p?.column, 3);
  });
});

describe('environment variable interpolation', () => {
  test('${VAR} is replaced by the variable', () => {
    const text = minimal.replace('http://127.0.0.1:9000', '${ORDERS_URL}');
    const { config } = loadConfigText(text, 'gateway.yaml', { ORDERS_URL: 'http://orders.internal:8080' });
    assert.equal(config.upstreams['orders']?.targets[0]?.url, 'http://orders.internal:8080');
  });

  test('${VAR} may be part of a longer value', () => {
    const text = minimal.replace('http://127.0.0.1:9000', 'http://${ORDERS_HOST}:9000/base');
    const { config } = loadConfigText(text, 'gateway.yaml', { ORDERS_HOST: 'orders.internal' });
    assert.equal(config.upstreams['orders']?.targets[0]?.url, 'http://orders.internal:9000/base');
  });

  test('${VAR:-default} uses the default when the variable is unset or empty', () => {
    const text = 'gateway:\n  realm: ${REALM:-pinpoint-dev}\n  apiKeyHeader: ${KEY_HEADER:-x-key}\n';
    const unset = loadConfigText(text, 'gateway.yaml', {});
    assert.equal(unset.config.gateway.realm, 'pinpoint-dev');
    const empty = loadConfigText(text, 'gateway.yaml', { REALM: '', KEY_HEADER: 'x-custom-key' });
    assert.equal(empty.config.gateway.realm, 'pinpoint-dev');
    assert.equal(empty.config.gateway.apiKeyHeader, 'x-custom-key');
  });

  test('an unquoted ${VAR} for a number field is read as a number', () => {
    const text = 'gateway:\n  port: ${PORT:-8081}\n  maxBodyBytes: ${MAX_BODY}\n';
    assert.equal(loadConfigText(text, 'gateway.yaml', { MAX_BODY: '2048' }).config.gateway.port, 8081);
    assert.equal(loadConfigText(text, 'gateway.yaml', { PORT: '9090', MAX_BODY: '2048' }).config.gateway.port, 9090);
    assert.equal(loadConfigText(text, 'gateway.yaml', { MAX_BODY: '2048' }).config.gateway.maxBodyBytes, 2048);
  });

  test('an unquoted ${VAR} for a boolean field is read as a boolean', () => {
    const text = minimal + '    forwardCredential: ${FORWARD:-false}\n';
    assert.equal(loadConfigText(text, 'gateway.yaml', {}).config.routes[0]?.forwardCredential, false);
    assert.equal(loadConfigText(text, 'gateway.yaml', { FORWARD: 'true' }).config.routes[0]?.forwardCredential, true);
  });

  test('a quoted ${VAR} stays a string even when it looks like a number', () => {
    const text = 'gateway:\n  realm: "${REALM}"\n';
    assert.equal(loadConfigText(text, 'gateway.yaml', { REALM: '12345' }).config.gateway.realm, '12345');
  });

  test('a variable value never adds structure to the config', () => {
    const text = 'gateway:\n  realm: ${REALM}\n';
    assert.equal(loadConfigText(text, 'gateway.yaml', { REALM: '{a: 1}' }).config.gateway.realm, '{a: 1}');
  });

  test('a missing variable is an error located at its value, naming the variable and the default syntax', () => {
    const text = minimal.replace('http://127.0.0.1:9000', '${ORDERS_URL}');
    const problems = problemsOf(text, {});
    assert.equal(problems.length, 1);
    const [p] = problems;
    assert.equal(p?.file, 'gateway.yaml');
    assert.equal(p?.line, 4);
    assert.equal(p?.column, 14);
    assert.equal(p?.path, 'upstreams.orders.targets[0].url');
    assert.match(p?.message ?? '', /ORDERS_URL is not set/);
    assert.match(p?.message ?? '', /\$\{ORDERS_URL:-default\}/);
  });

  test('every missing variable is reported, not only the first', () => {
    const text = 'gateway:\n  host: ${BIND_HOST}\n  port: ${BIND_PORT}\n';
    const problems = problemsOf(text, {});
    assert.deepEqual(problems.map((p) => [p.path, p.line]), [['gateway.host', 2], ['gateway.port', 3]]);
  });

  test('a $ that is not a ${VAR} reference is left alone', () => {
    const text = 'gateway:\n  realm: price-$5-${NOT-A-NAME}\n';
    assert.equal(loadConfigText(text, 'gateway.yaml', {}).config.gateway.realm, 'price-$5-${NOT-A-NAME}');
  });

  test('keys are never interpolated', () => {
    const text = 'upstreams:\n  ${NAME}:\n    targets:\n      - url: http://127.0.0.1:1\n';
    const { config } = loadConfigText(text, 'gateway.yaml', { NAME: 'renamed' });
    assert.deepEqual(Object.keys(config.upstreams), ['${NAME}']);
  });
});

describe('loadConfigFile', () => {
  test('reads and validates a file, reporting problems under its base name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pinpoint-config-'));
    try {
      const good = join(dir, 'good.yaml');
      writeFileSync(good, minimal);
      const loaded = loadConfigFile(good, {});
      assert.equal(loaded.file, good);
      assert.equal(loaded.config.routes[0]?.id, 'list-orders');

      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'gateway:\n  port: 70000\n');
      assert.throws(() => loadConfigFile(bad, {}), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^bad\.yaml:2:9 gateway\.port: .*65535/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unreadable file is a ConfigError naming the file', () => {
    const missing = join(tmpdir(), 'pinpoint-no-such-dir', 'gateway.yaml');
    assert.throws(() => loadConfigFile(missing, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems[0]?.file, missing);
      assert.match(err.message, /cannot read the file/);
      return true;
    });
  });
});

describe('formatPath', () => {
  test('keys are joined with dots and indices in brackets', () => {
    assert.equal(formatPath(['routes', 1, 'rateLimit', 'limit']), 'routes[1].rateLimit.limit');
    assert.equal(formatPath([0, 'a']), '[0].a');
    assert.equal(formatPath([]), '');
  });
});
