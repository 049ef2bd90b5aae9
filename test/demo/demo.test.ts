import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, type Answer } from '../support/harness.ts';
import { runCli, startDemo, type RunningDemo } from '../support/cli.ts';
import { assertProblem } from '../support/assertions.ts';

// The demo is a contract (../shared/DEMO.md): this suite starts it exactly as `npm start`
// does, through the real CLI, and checks every answer the contract names.

let demo: RunningDemo;
let gw: string;
let dataDir: string;

before(async () => {
  demo = await startDemo('pinpoint-demo-test-');
  gw = demo.gateway;
  dataDir = demo.dataDir;
});

after(async () => {
  const code = await demo.stop();
  assert.equal(code, 0, 'the demo shuts down cleanly on SIGTERM');
});

const postOrder = (headers: Record<string, string>) => call(`${gw}/api/orders`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ item: 'book', qty: 1 }),
});


const explain = (id: string, ...more: string[]) => runCli(['explain', id, '--data-dir', dataDir, ...more]);

describe('the demo keys posting an order', () => {
  test('pk_demo_writer gets 201 from the upstream, with its identity forwarded and its key not', async () => {
    const a = await postOrder({ 'x-api-key': 'pk_demo_writer' });
    assert.equal(a.status, 201);
    const echoed = a.json.headers as Record<string, string>;
    assert.equal(echoed['x-consumer-id'], 'acme-writer');
    assert.equal(echoed['x-tenant-id'], 'acme');
    assert.equal(echoed['x-api-key'], undefined);
    assert.deepEqual(a.json.body, { item: 'book', qty: 1 });
    assert.match(a.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('pk_demo_reader gets 403 insufficient_scope naming what it has and needs', async () => {
    const a = await postOrder({ 'x-api-key': 'pk_demo_reader' });
    assertProblem(a, 403, 'insufficient_scope');
    assert.match(a.json.detail as string, /orders:read.*needs orders:write/);
    assert.match(a.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="orders:write"/);
    const x = explain(a.json.requestId as string);
    assert.equal(x.status, 0, x.stderr);
    assert.match(x.stdout, /DENY\s+scopes/);
    assert.match(x.stdout, /rule at pinpoint\.yaml:\d+ \(routes\[0\]\.scopes\.POST\)/);
    assert.match(x.stdout, /lacks \[orders:write\]/);
  });

  test('pk_demo_expired gets 401 credential_expired and explain says when it expired', async () => {
    const a = await postOrder({ 'x-api-key': 'pk_demo_expired' });
    assertProblem(a, 401, 'credential_expired');
    assert.match(a.headers.get('www-authenticate') ?? '', /error="invalid_key"/);
    assert.match(explain(a.json.requestId as string).stdout, /Key key_demo_expired of consumer acme-legacy expired/);
  });

  test('pk_demo_revoked gets 401 credential_revoked and explain gives the revocation reason', async () => {
    const a = await postOrder({ 'x-api-key': 'pk_demo_revoked' });
    assertProblem(a, 401, 'credential_revoked');
    assert.match(explain(a.json.requestId as string).stdout, /was revoked .*leaked/);
  });

  test('pk_demo_suspended gets 403 account_suspended', async () => {
    const a = await postOrder({ 'x-api-key': 'pk_demo_suspended' });
    assertProblem(a, 403, 'account_suspended');
    assert.match(explain(a.json.requestId as string).stdout, /acme-suspended is suspended/);
  });

  test('no credential gets 401 credential_missing with a challenge for each accepted scheme and no error', async () => {
    const a = await postOrder({});
    assertProblem(a, 401, 'credential_missing');
    const challenge = a.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /ApiKey realm="pinpoint-demo", header="x-api-key"/);
    assert.match(challenge, /Bearer realm="pinpoint-demo"/);
    assert.doesNotMatch(challenge, /error=/);
  });

  test('pk_nonexistent gets 401 credential_unknown', async () => {
    const a = await postOrder({ 'x-api-key': 'pk_nonexistent' });
    assertProblem(a, 401, 'credential_unknown');
    assert.doesNotMatch(explain(a.json.requestId as string).stdout, /pk_nonexistent/, 'explain never prints the presented key');
  });
});

describe('demo JWTs from `pinpoint token`', () => {
  const token = (...args: string[]) => {
    const r = runCli(['token', ...args]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };

  test('a token with orders:write may post an order', async () => {
    const a = await postOrder({ authorization: `Bearer ${token('--sub', 'alice', '--scope', 'orders:read orders:write')}` });
    assert.equal(a.status, 201, a.text);
    assert.equal((a.json.headers as Record<string, string>)['x-authenticated-subject'], 'alice');
  });

  test('a token with only orders:read is refused 403 insufficient_scope with a Bearer challenge', async () => {
    const a = await postOrder({ authorization: `Bearer ${token('--sub', 'alice', '--scope', 'orders:read')}` });
    assertProblem(a, 403, 'insufficient_scope');
    assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer .*error="insufficient_scope"/);
  });

  for (const [args, code] of [
    [['--ttl', '-5'], 'credential_expired'],
    [['--nbf', '3600'], 'credential_not_yet_valid'],
    [['--aud', 'someone-else'], 'token_audience_mismatch'],
    [['--iss', 'https://evil.example'], 'token_issuer_untrusted'],
  ] as const) {
    test(`a token made with ${args.join(' ')} gets 401 ${code} with error="invalid_token"`, async () => {
      const a = await postOrder({ authorization: `Bearer ${token('--sub', 'alice', '--scope', 'orders:write', ...args)}` });
      assertProblem(a, 401, code);
      assert.match(a.headers.get('www-authenticate') ?? '', /Bearer realm="pinpoint-demo", error="invalid_token"/);
    });
  }

  test('a token with a flipped signature byte gets 401 token_signature_invalid', async () => {
    const t = token('--sub', 'alice', '--scope', 'orders:write');
    const [h, p, s] = t.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    assertProblem(await postOrder({ authorization: `Bearer ${flipped}` }), 401, 'token_signature_invalid');
  });
});

describe('the other demo rows', () => {
  test('the internal report from loopback gets 403 ip_not_allowed, and simulate --as-ip 10.1.2.3 passes', async () => {
    const a = await call(`${gw}/api/internal/report`, { headers: { 'x-api-key': 'pk_demo_writer' } });
    assertProblem(a, 403, 'ip_not_allowed');
    const x = explain(a.json.requestId as string);
    assert.match(x.stdout, /127\.0\.0\.1.*none of the allow-list entries/);
    assert.match(x.stdout, /10\.0\.0\.0\/8/);
    const s = runCli(['simulate', '--path', '/api/internal/report', '--key', 'pk_demo_writer', '--as-ip', '10.1.2.3', '--data-dir', dataDir]);
    assert.match(s.stdout, /decision\s+ALLOW/);
  });

  test('the 4th GET /api/limited within 60 s gets 429 rate_limited with Retry-After, and successes carry RateLimit headers', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await call(`${gw}/api/limited`, { headers: { 'x-api-key': 'pk_demo_reader' } }));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429]);
    assert.deepEqual(answers.slice(0, 3).map((a) => a.headers.get('x-ratelimit-remaining')), ['2', '1', '0']);
    assert.equal(answers[0]!.headers.get('ratelimit-policy'), '"limited-per-key";q=3;w=60');
    const refused = answers[3]!;
    assertProblem(refused, 429, 'rate_limited');
    const retry = Number(refused.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.match(refused.headers.get('ratelimit') ?? '', /r=0/);
  });

  test('POST /api/backend-forbidden relays the upstream 403 unchanged, and explain says the backend refused', async () => {
    const a = await call(`${gw}/api/backend-forbidden`, { method: 'POST', headers: { 'x-api-key': 'pk_demo_writer' } });
    assert.equal(a.status, 403);
    assert.equal(a.headers.get('content-type'), 'application/json');
    assert.equal(a.json.error, 'forbidden');
    const x = explain(a.headers.get('x-request-id')!);
    assert.match(x.stdout, /answer\s+403 by the upstream/);
    assert.match(x.stdout, /The upstream said: .*backend rule R-17/);
  });

  test('DELETE /api/orders gets 405 method_not_allowed with Allow: GET, POST', async () => {
    const a = await call(`${gw}/api/orders`, { method: 'DELETE', headers: { 'x-api-key': 'pk_demo_writer' } });
    assertProblem(a, 405, 'method_not_allowed');
    assert.equal(a.headers.get('allow'), 'GET, POST');
  });

  test('GET /nope gets 404 route_not_found', async () => {
    assertProblem(await call(`${gw}/nope`), 404, 'route_not_found');
  });

  test('the public health route needs no credential', async () => {
    const a = await call(`${gw}/api/public/health`);
    assert.equal(a.status, 200);
  });

  test('order 1001 can be read with a reader key through the {id} route', async () => {
    const a = await call(`${gw}/api/orders/1001`, { headers: { 'x-api-key': 'pk_demo_reader' } });
    assert.equal(a.status, 200);
    assert.equal(a.json.path, '/api/orders/1001');
    assertProblem(await call(`${gw}/api/orders/1001`, { method: 'PUT', headers: { 'x-api-key': 'pk_demo_reader' } }), 403, 'insufficient_scope');
  });
});

describe('the demo AI route without a credential', () => {
  test('answers 401 credential_missing with one challenge per scheme, though a bearer key and a JWT both read Bearer', async () => {
    const a = await call(`${gw}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: [{ role: 'user', content: 'hi' }] }) });
    assertProblem(a, 401, 'credential_missing');
    const challenge = a.headers.get('www-authenticate') ?? '';
    assert.equal(challenge.match(/\bBearer realm=/g)?.length, 1, challenge);
  });
});

describe('troubleshooting with the CLI against the demo', () => {
  test('explain --compare lists the credential and scopes as what differs from a success', async () => {
    const bad = await postOrder({ 'x-api-key': 'pk_demo_reader' });
    const good = await postOrder({ 'x-api-key': 'pk_demo_writer' });
    const x = explain(bad.json.requestId as string, '--compare', good.headers.get('x-request-id')!);
    assert.equal(x.status, 0, x.stderr);
    assert.match(x.stdout, /credential\s+key_demo_reader\s+key_demo_writer/);
    assert.match(x.stdout, /scopes\s+orders:read\s+orders:read orders:write/);
    assert.match(x.stdout, /check scopes\s+deny \(insufficient_scope\)\s+continue/);
    assert.doesNotMatch(x.stdout, /content type/, 'identical fields are not listed');
  });

  test('explain --json gives the trace with the config version and every check', async () => {
    const bad = await postOrder({ 'x-api-key': 'pk_demo_reader' });
    const x = JSON.parse(explain(bad.json.requestId as string, '--json').stdout) as { trace: { configVersion: number; checks: { id: string; outcome: string }[] }; refusing: { id: string } };
    assert.equal(x.trace.configVersion, 1);
    assert.equal(x.refusing.id, 'scopes');
    assert.deepEqual(x.trace.checks.map((c) => c.id), ['request-shape', 'api-key', 'jwt', 'account-status', 'subscription', 'access-policy', 'scopes']);
  });

  test('explain of an unknown request id fails with a clear message', () => {
    const x = explain('no-such-request');
    assert.equal(x.status, 1);
    assert.match(x.stderr, /no trace for request no-such-request/);
  });

  test('simulate finds the blocking layer, and --skip scopes shows that nothing else blocks', () => {
    const s = runCli(['simulate', '--method', 'POST', '--path', '/api/orders', '--key', 'pk_demo_reader', '--header', 'content-type: application/json', '--data-dir', dataDir]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /DENY 403 insufficient_scope at "scopes"/);
    assert.match(s.stdout, /only "scopes" blocks/);
    const skipped = runCli(['simulate', '--method', 'POST', '--path', '/api/orders', '--key', 'pk_demo_reader', '--skip', 'scopes', '--header', 'content-type: application/json', '--data-dir', dataDir]);
    assert.match(skipped.stdout, /decision\s+ALLOW/);
    assert.match(skipped.stdout, /bypassed\s+scopes/);
  });

  test('simulate lists every blocking layer in order when several would refuse', () => {
    const s = runCli(['simulate', '--path', '/api/internal/report', '--key', 'pk_demo_expired', '--data-dir', dataDir, '--json']);
    const r = JSON.parse(s.stdout) as { blockingLayers: { check: string; code: string }[] };
    assert.deepEqual(r.blockingLayers, [{ check: 'ip-filter', code: 'ip_not_allowed' }, { check: 'api-key', code: 'credential_expired' }]);
  });
});

describe('a second demo on ports the first one holds', () => {
  const second = (...ports: string[]) => runCli(['demo', ...ports, '--data-dir', join(dataDir, 'second')]);
  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at \S+ \(|node:internal/, 'a sentence, not a stack trace');

  test('the same --port: it names the taken port and how to move, and exits 1', () => {
    const r = second('--port', String(demo.port));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`could not listen on port ${demo.port + 2}: it is in use .*--port N`));
    noStack(r.stderr);
  });

  test('only the gateway port taken: it says so and exits 1 instead of hanging on its log thread', () => {
    const r = second('--port', String(demo.port), '--echo-port', '0', '--admin-port', '0', '--vault-port', '0');
    assert.equal(r.status, 1, `exit ${r.status} (null: killed by the 30 s timeout) ${r.stderr}`);
    assert.match(r.stderr, /port already in use .*choose another with --port/);
    noStack(r.stderr);
  });

  test('only the admin port taken: it names the admin API and --admin-port, and exits 1', () => {
    const r = second('--port', '0', '--echo-port', '0', '--admin-port', String(demo.port + 1), '--vault-port', '0');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`the admin API could not listen on port ${demo.port + 1}: it is in use .*--admin-port N`));
    noStack(r.stderr);
  });
});
