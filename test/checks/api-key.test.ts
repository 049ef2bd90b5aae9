import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, keyEntry, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, rawCall, storeBytes, traceOf } from '../support/assertions.ts';

// Every way an API key can be wrong, over real HTTP: each is refused before the upstream
// sees anything, with its own reason code, and the call log names the key by id only.

const KEYS = {
  valid: 'pk_live_valid_7f3a9c1e5b2d4068',
  expired: 'pk_live_expired_2b8e6d0a4c1f9375',
  future: 'pk_live_future_9d4c2a7e1b6f0853',
  revoked: 'pk_live_revoked_5e1b7d3f9a2c6048',
  unknown: 'pk_live_unknown_3c9f1a5e7b2d8064',
} as const;

describe('api-key check', () => {
  let upstream: TestUpstream;
  let t: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    t = await startTestGateway({
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      consumers: [{
        id: 'shop',
        keys: [
          keyEntry(KEYS.valid, 'shop-live', ['orders:read']),
          keyEntry(KEYS.expired, 'shop-old', ['orders:read'], { expiresAt: '2020-01-01T00:00:00Z', replacedBy: 'shop-live' }),
          keyEntry(KEYS.future, 'shop-next', ['orders:read'], { notBefore: '2099-01-01T00:00:00Z' }),
          keyEntry(KEYS.revoked, 'shop-leaked', ['orders:read'], { revokedAt: '2021-06-01T00:00:00Z', revokedReason: 'posted in a public repo' }),
        ],
      }],
      routes: [{ id: 'orders', path: '/orders', methods: ['GET'], upstream: 'backend', auth: ['apiKey'] }],
    });
  });

  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** A refused request never reaches the upstream. */
  async function refusedBeforeUpstream<T>(send: () => Promise<T>): Promise<T> {
    const seen = upstream.seen.length;
    const answer = await send();
    assert.equal(upstream.seen.length, seen, 'the upstream saw nothing');
    return answer;
  }

  test('a request without a key gets 401 credential_missing with a challenge that names the header and no error', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`));
    assertProblem(a, 401, 'credential_missing');
    const challenge = a.headers.get('www-authenticate');
    assert.equal(challenge, 'ApiKey realm="pinpoint", header="x-api-key"');
    assert.doesNotMatch(challenge, /error=/, 'RFC 6750 3.1: no error code when no credential was sent');
  });

  test('a key sent twice gets 401 credential_malformed, not a lookup of either copy', async () => {
    const a = await refusedBeforeUpstream(() => rawCall(t.url, '/orders', ['x-api-key', KEYS.valid, 'x-api-key', KEYS.valid]));
    assertProblem(a, 401, 'credential_malformed');
    assert.match(String(a.json.detail), /more than once|twice|2 times/);
    assert.match(a.headers.get('www-authenticate') ?? '', /error="invalid_key"/);
    const trace = await traceOf(t, a);
    assert.equal(checkRecord(trace, 'api-key').evidence?.problem, 'sent more than once');
  });

  test('a key containing a space gets 401 credential_malformed', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`, { headers: { 'x-api-key': 'pk_live valid' } }));
    assertProblem(a, 401, 'credential_malformed');
    assert.match(String(a.json.detail), /spaces/);
    assert.match(a.headers.get('www-authenticate') ?? '', /error="invalid_key"/);
  });

  test('a key longer than 256 characters gets 401 credential_malformed without being hashed or looked up', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`, { headers: { 'x-api-key': `pk_${'x'.repeat(300)}` } }));
    assertProblem(a, 401, 'credential_malformed');
    assert.match(String(a.json.detail), /longer than 256/);
  });

  test('a well-formed key nobody issued gets 401 credential_unknown and the log keeps only a hint of it', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`, { headers: { 'x-api-key': KEYS.unknown } }));
    assertProblem(a, 401, 'credential_unknown');
    assert.match(a.headers.get('www-authenticate') ?? '', /^ApiKey realm="pinpoint", header="x-api-key", error="invalid_key"$/);
    const evidence = checkRecord(await traceOf(t, a), 'api-key').evidence ?? {};
    const hint = String(evidence.key_hint);
    assert.ok(KEYS.unknown.startsWith(hint.split('…')[0]!), `the hint ${hint} is the key's beginning`);
    assert.ok(hint.split('…')[0]!.length <= 8, 'at most 8 characters of an unknown key are kept');
  });

  test('an expired key gets 401 credential_expired and the log names the key that replaces it', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`, { headers: { 'x-api-key': KEYS.expired } }));
    assertProblem(a, 401, 'credential_expired');
    assert.match(String(a.json.detail), /shop-old expired on 2020-01-01/);
    const evidence = checkRecord(await traceOf(t, a), 'api-key').evidence ?? {};
    assert.equal(evidence.key_id, 'shop-old');
    assert.equal(evidence.replaced_by, 'shop-live');
  });

  test('a key whose notBefore is in the future gets 401 credential_not_yet_valid', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`, { headers: { 'x-api-key': KEYS.future } }));
    assertProblem(a, 401, 'credential_not_yet_valid');
    assert.match(String(a.json.detail), /shop-next is valid from 2099-01-01/);
  });

  test('a revoked key gets 401 credential_revoked and the log keeps the revocation reason', async () => {
    const a = await refusedBeforeUpstream(() => call(`${t.url}/orders`, { headers: { 'x-api-key': KEYS.revoked } }));
    assertProblem(a, 401, 'credential_revoked');
    const trace = await traceOf(t, a);
    assert.equal(trace.deniedBy, 'api-key');
    const evidence = checkRecord(trace, 'api-key').evidence ?? {};
    assert.equal(evidence.key_id, 'shop-leaked');
    assert.equal(evidence.revoked_reason, 'posted in a public repo');
  });

  test('a valid key reaches the upstream, which sees the key id but not the key', async () => {
    const seen = upstream.seen.length;
    const a = await call(`${t.url}/orders?page=2`, { headers: { 'x-api-key': KEYS.valid } });
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.length, seen + 1);
    const got = upstream.seen.at(-1)!;
    assert.equal(got.url, '/orders?page=2');
    assert.equal(got.headers['x-api-key'], undefined, 'the credential is not forwarded');
    assert.equal(got.headers['x-credential-id'], 'shop-live');
    assert.equal(got.headers['x-consumer-id'], 'shop');
  });

  test('a client cannot pass itself off as another consumer by sending identity headers', async () => {
    const a = await call(`${t.url}/orders`, { headers: { 'x-api-key': KEYS.valid, 'x-consumer-id': 'admin', 'x-authenticated-scopes': 'everything' } });
    assert.equal(a.status, 200, a.text);
    const got = upstream.seen.at(-1)!;
    assert.equal(got.headers['x-consumer-id'], 'shop');
    assert.equal(got.headers['x-authenticated-scopes'], 'orders:read');
  });

  test('the stored trace names the key id and the call log never holds a plaintext key', async () => {
    const ok = await call(`${t.url}/orders`, { headers: { 'x-api-key': KEYS.valid } });
    assert.equal(ok.status, 200);
    const trace = await traceOf(t, ok);
    assert.equal(trace.answeredBy, 'upstream');
    assert.equal(trace.identity?.credentialId, 'shop-live');
    assert.equal(checkRecord(trace, 'api-key').evidence?.key_id, 'shop-live');
    assert.equal(trace.request.headers['x-api-key'], `[redacted ${KEYS.valid.length} chars]`);
    assert.ok(!JSON.stringify(trace).includes(KEYS.valid), 'the trace does not contain the key');

    await t.gateway.writer.flush();
    const bytes = storeBytes(t);
    // The positive control: this is the store the traces were written to.
    assert.ok(bytes.includes('shop-live'), 'the store holds the key id');
    assert.ok(bytes.includes('shop-leaked'), 'the store holds the revoked key id');
    for (const [name, key] of Object.entries(KEYS)) {
      assert.equal(bytes.includes(key), false, `the ${name} key is nowhere in the SQLite files`);
    }
  });
});
