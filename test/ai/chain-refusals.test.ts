import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { assertProblem } from '../support/assertions.ts';
import { call, startTestGateway, type TestGateway } from '../support/harness.ts';
import { aiConfig, aiRoutes, openaiClient, writerKey } from './support.ts';

// Refusals decided by the general checks before the AI handler (authentication, rate limits)
// reach an OpenAI SDK like the AI gateway's own: the problem+json carries an OpenAI-style
// `error` member, so the SDK's message is the readable detail and `code` the reason code.

let t: TestGateway;

before(async () => {
  const config = aiConfig({
    providers: { demo: { type: 'demo-echo' } },
    models: { 'demo-echo': { provider: 'demo' } },
    access: [{ consumer: 'writer-app', models: ['demo-echo'] }],
  }) as { routes: object[] };
  // The model list is rate limited to one request a minute.
  config.routes = aiRoutes.map((r) => (r.id === 'ai-models' ? { ...r, rateLimit: { limit: 1, windowSeconds: 60, algorithm: 'sliding-log' } } : r));
  t = await startTestGateway(config);
});
after(() => t.close());

const ask = [{ role: 'user' as const, content: 'hello' }];
/** The SDK with no Authorization header at all (a null default header removes the one it would add). */
const keyless = () => new OpenAI({ apiKey: 'unused', baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 10_000, defaultHeaders: { authorization: null } });

type ApiError = InstanceType<typeof OpenAI.APIError>;

function assertReadable(err: unknown, kind: abstract new (...args: never[]) => ApiError, status: number, code: string): ApiError {
  assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
  assert.equal(err.status, status);
  assert.equal(err.code, code);
  assert.equal(err.type, code);
  assert.match(err.message, new RegExp(`^${status} [A-Z]`), 'a sentence after the status, not a JSON document');
  assert.doesNotMatch(err.message, /[{}"]/);
  assert.match(err.requestID ?? '', /^[0-9a-f-]{36}$/);
  return err;
}

describe('chain refusals on AI routes, as the openai client shows them', () => {
  test('a missing key is an AuthenticationError with code credential_missing and a readable message', async () => {
    await assert.rejects(keyless().chat.completions.create({ model: 'demo-echo', messages: ask }), (err: unknown) => {
      assertReadable(err, OpenAI.AuthenticationError, 401, 'credential_missing');
      return true;
    });
  });

  test('an unknown key is an AuthenticationError with code credential_unknown whose message is the detail', async () => {
    await assert.rejects(openaiClient(t, 'pk_not_a_key').chat.completions.create({ model: 'demo-echo', messages: ask }), (err: unknown) => {
      const e = assertReadable(err, OpenAI.AuthenticationError, 401, 'credential_unknown');
      const body = e.error as { message?: string };
      assert.equal(e.message, `401 ${body.message}`);
      return true;
    });
  });

  test('a rate-limited request is a RateLimitError with code rate_limited, and the rate-limit headers stay', async () => {
    const client = openaiClient(t, writerKey);
    await client.models.list();
    await assert.rejects(client.models.list(), (err: unknown) => {
      const e = assertReadable(err, OpenAI.RateLimitError, 429, 'rate_limited');
      assert.equal(e.headers?.get('x-ratelimit-remaining'), '0');
      return true;
    });
  });

  test('the body stays an RFC 9457 problem: type, title, status, detail, code and requestId as before, plus error', async () => {
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: ask }) });
    assertProblem(a, 401, 'credential_missing');
    assert.equal(a.headers.get('content-type'), 'application/problem+json');
    const { type, title, status, detail, code, requestId, error } = a.json as Record<string, unknown>;
    assert.match(String(type), /credential_missing$/);
    assert.equal(typeof title, 'string');
    assert.equal(status, 401);
    assert.equal(code, 'credential_missing');
    assert.equal(requestId, a.headers.get('x-request-id'));
    assert.deepEqual(error, { message: detail, type: 'credential_missing', code: 'credential_missing', param: null });
  });
});

describe('refusals on routes that are not AI routes', () => {
  test('keep the plain problem+json without an error member', async () => {
    const config = aiConfig({ providers: { demo: { type: 'demo-echo' } }, models: { 'demo-echo': { provider: 'demo' } }, access: [] }, [
      { id: 'plain', path: '/plain', methods: ['GET'], upstream: 'nowhere', auth: ['apiKey'] },
    ]) as Record<string, unknown>;
    const other = await startTestGateway({ ...config, upstreams: { nowhere: { targets: [{ url: 'http://127.0.0.1:9' }] } } });
    try {
      const a = await call(`${other.url}/plain`);
      assertProblem(a, 401, 'credential_missing');
      assert.equal('error' in a.json, false);
    } finally { await other.close(); }
  });
});
