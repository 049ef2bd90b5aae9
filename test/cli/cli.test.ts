import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { reasonsMarkdown } from '../../src/cli/reasons.ts';
import { reasonCodes } from '../../src/reasons/catalogue.ts';
import { runCli } from '../support/cli.ts';

const required = ['credential_missing', 'credential_malformed', 'credential_unknown', 'credential_expired', 'credential_not_yet_valid', 'credential_revoked',
  'token_signature_invalid', 'token_algorithm_rejected', 'token_audience_mismatch', 'token_issuer_untrusted', 'insufficient_scope', 'permission_denied',
  'ip_not_allowed', 'account_suspended', 'rate_limited', 'quota_exhausted', 'route_not_found', 'method_not_allowed', 'payload_too_large',
  'unsupported_media_type', 'upstream_unavailable', 'upstream_timeout'];

test('the catalogue has every reason code the gateway promises, exactly so named', () => {
  for (const code of required) assert.ok(reasonCodes.includes(code as never), `missing ${code}`);
});

test('docs/reasons.md is generated from the catalogue and is up to date', () => {
  const onDisk = readFileSync(new URL('../../docs/reasons.md', import.meta.url), 'utf8');
  assert.equal(onDisk, reasonsMarkdown(), 'docs/reasons.md is stale: run `npx pinpoint reasons --markdown > docs/reasons.md`');
});

test('pinpoint reasons prints every code, and one code with its causes and fixes', () => {
  const all = runCli(['reasons']);
  assert.equal(all.status, 0);
  for (const code of required) assert.match(all.stdout, new RegExp(`\\b${code}\\b`));
  const one = runCli(['reasons', 'insufficient_scope']);
  assert.match(one.stdout, /insufficient_scope \(403, authz\)/);
  assert.match(one.stdout, /fix: /);
  const unknown = runCli(['reasons', 'no_such_code']);
  assert.equal(unknown.status, 1);
});

test('pinpoint token mints an RS256 demo token with the requested claims', () => {
  const r = runCli(['token', '--sub', 'alice', '--scope', 'orders:read orders:write', '--ttl', '120']);
  assert.equal(r.status, 0, r.stderr);
  const token = r.stdout.trim();
  assert.equal(decodeProtectedHeader(token).alg, 'RS256');
  const claims = decodeJwt(token);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.iss, 'pinpoint-demo-issuer');
  assert.equal(claims.aud, 'pinpoint-demo');
  assert.equal(claims.scope, 'orders:read orders:write');
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 120);
});

test('pinpoint token without --sub or with a bad --ttl says what is wrong and exits 2', () => {
  assert.equal(runCli(['token']).status, 2);
  const bad = runCli(['token', '--sub', 'a', '--ttl', 'soon']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--ttl must be a whole number/);
});

test('pinpoint serve refuses an invalid config with the file, line and path of each problem, and starts nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'upstreams:',
      '  api:',
      '    targets: [{ url: "http://127.0.0.1:9" }]',
      'routes:',
      '  - id: orders',
      '    path: /orders',
      '    methods: [GET]',
      '    upstream: missing-upstream',
      '  - id: limited',
      '    path: /limited',
      '    methods: [GET]',
      '    upstream: api',
      '    rateLimit: { limit: three, windowSeconds: 60 }',
      '',
    ].join('\n'));
    const r = runCli(['serve', '--config', file, '--data-dir', dir, '--port', '0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nothing was started/);
    assert.match(r.stderr, /bad\.yaml:13:\d+ routes\[1\]\.rateLimit\.limit: .*number/);
    const second = runCli(['serve', '--config', file.replace('bad', 'none'), '--data-dir', dir]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, /cannot read the file/);
    writeFileSync(file, readFileSync(file, 'utf8').replace('limit: three', 'limit: 3'));
    const third = runCli(['serve', '--config', file, '--data-dir', dir, '--port', '0']);
    assert.equal(third.status, 1);
    assert.match(third.stderr, /bad\.yaml:8:\d+ routes\[0\]\.upstream: upstream "missing-upstream" is not declared/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pinpoint key new prints a key once and a config entry holding only its hash', () => {
  const r = runCli(['key', 'new', '--prefix', 'pk_test', '--scopes', 'orders:read']);
  assert.equal(r.status, 0);
  const key = /shown once, store it now\): (\S+)/.exec(r.stdout)![1]!;
  assert.match(key, /^pk_test_[0-9a-f]{8}_[A-Za-z0-9_-]{32}$/);
  const hashed = runCli(['key', 'hash', key]).stdout.trim();
  assert.ok(r.stdout.includes(`hash: ${hashed}`));
  assert.equal(r.stdout.split(key).length - 1, 1, 'the key itself appears once');
});

test('an unknown verb prints the usage and exits 2', () => {
  const r = runCli(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /pinpoint explain REQUEST_ID/);
});
