import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { hashApiKey } from '../../src/credentials/directory.ts';
import { demoConfigYaml } from '../../src/demo/demo-config.ts';
import { demoKeys } from '../../src/demo/demo-keys.ts';
import { freePortBlock, runCli, startCli } from '../support/cli.ts';
import { b64url, demoToken, rawExchange, rawRequest } from './support.ts';

// Secrets hygiene, end to end: the real demo process at debug log level is sent every kind
// of credential in every place a client might put one (right, wrong, malformed, twice, in
// a cookie, a custom header, the query string, the body), valid and refused; then every
// log line it wrote and every byte of its store (database and WAL, all tables) is scanned
// for each secret. Fresh random secrets are used so that a hit cannot be a coincidence;
// the demo keys are scanned too, except in the stored config text, whose header comment
// lists them on purpose (they are public demo keys).

test('no secret sent to the gateway, valid or refused, appears in any log line or stored row', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-secrets-'));
  try {
    const freshKey = `pk_live_${randomBytes(18).toString('base64url')}`;
    const unknownKey = `pk_live_${randomBytes(18).toString('base64url')}`;
    const cookieSecret = randomBytes(24).toString('hex');
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const customToken = `tok_${randomBytes(16).toString('hex')}`;

    const config = parse(demoConfigYaml(Date.now())) as { consumers: { id: string; tenant: string; keys: unknown[] }[] };
    config.consumers.push({ id: 'acme-fresh', tenant: 'acme', keys: [{ id: 'key_fresh', hash: `sha256:${hashApiKey(freshKey)}`, scopes: ['orders:read'] }] });
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'pinpoint.yaml'), stringify(config));

    const port = await freePortBlock();
    const demo = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/, { PINPOINT_LOG_LEVEL: 'debug' });
    const valid = await demoToken();
    const expired = await demoToken({}, {}, -60);
    const wrongAud = await demoToken({ aud: 'elsewhere' });
    const tampered = `${valid.slice(0, -6)}AAAAAA`;
    const tokens = [valid, expired, wrongAud, tampered];
    const keys = [freshKey, unknownKey, ...Object.values(demoKeys)];
    const ids: string[] = [];
    try {
      const special: { id: string; what: string }[] = [];
      const send = async (requestLine: string, headers: string[], body = '') => {
        const a = await rawRequest(port, requestLine, body ? [...headers, `Content-Length: ${Buffer.byteLength(body)}`] : headers, body);
        if (a.headers['x-request-id']) ids.push(a.headers['x-request-id']);
        if (a.headers['x-request-id']) special.push({ id: a.headers['x-request-id'], what: `${requestLine} ${headers.join(' ')}` });
        return a;
      };
      for (const k of keys) {
        await send('GET /api/orders HTTP/1.1', [`X-API-Key: ${k}`]);
        await send('POST /api/orders HTTP/1.1', [`X-API-Key: ${k}`, 'Content-Type: application/json'], `{"key":"${k}"}`);
        await send('GET /api/orders HTTP/1.1', [`X-API-Key: ${k}`, `X-API-Key: ${k}`]);
        await send('GET /api/orders HTTP/1.1', [`X-API-Key:  ${k} trailing`]);
        await send('GET /api/internal/report HTTP/1.1', [`X-API-Key: ${k}`]);
        await send('GET /api/limited HTTP/1.1', [`X-API-Key: ${k}`]);
        await send(`GET /api/orders?api_key=${k}&x=1 HTTP/1.1`, []);
        await send('GET /api/orders HTTP/1.1', [`Authorization: ApiKey ${k}`, `Api-Key: ${k}`]);
        await send('GET /nope HTTP/1.1', [`X-API-Key: ${k}`]);
      }
      for (const t of tokens) {
        await send('GET /api/orders HTTP/1.1', [`Authorization: Bearer ${t}`]);
        await send('GET /api/orders HTTP/1.1', [`Authorization: Bearer ${t}`, `Authorization: Bearer ${t}`]);
        await send(`GET /api/orders?access_token=${t} HTTP/1.1`, []);
        await send('GET /api/orders HTTP/1.1', [`Authorization: bearer    ${t}   `]);
        await send('DELETE /api/orders HTTP/1.1', [`Authorization: Bearer ${t}`]);
      }
      await send('GET /api/orders HTTP/1.1', ['X-API-Key: pk_demo_writer', `Cookie: session=${cookieSecret}; theme=dark`, `Proxy-Authorization: Basic ${b64url(`u:${password}`)}`]);
      await send('GET /api/orders HTTP/1.1', ['X-API-Key: pk_demo_writer', `X-Auth-Token: ${customToken}`, `X-Session-Secret: ${cookieSecret}`]);
      await send(`GET /api/public/health?password=${password}&token=${customToken} HTTP/1.1`, []);
      await send('POST /api/backend-forbidden HTTP/1.1', [`X-API-Key: ${freshKey}`, 'Content-Type: application/json'], `{"p":"${password}"}`);
      // Broken framing and oversized headers that carry a secret: refused by the parser.
      await rawExchange(port, `GET /api/orders HTTP/1.1\r\nHost: x\r\nX-API-Key: ${freshKey}\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
      await rawExchange(port, `GET /api/orders HTTP/1.1\r\nHost: x\r\nX-API-Key: ${freshKey}\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`);
      // explain prints what the store holds: its output must be clean too.
      const pick = (needle: string) => special.find((r) => r.what.includes(needle))?.id;
      for (const id of [pick('?api_key='), pick('?access_token='), pick('X-Auth-Token')]) {
        assert.ok(id, 'the request to explain was answered');
        const x = runCli(['explain', id, '--data-dir', dataDir]);
        for (const s of [freshKey, unknownKey, cookieSecret, password, customToken, ...tokens]) assert.ok(!x.stdout.includes(s), `explain ${id} shows a secret`);
      }
    } finally {
      assert.equal(await demo.stop(), 0);
    }
    assert.ok(ids.length > 80, `requests were answered and logged: ${ids.length}`);

    const logText = demo.output();
    const db = new DatabaseSync(join(dataDir, 'pinpoint.db'));
    let rows: string;
    let configText: string;
    try {
      assert.ok((db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n >= ids.length, 'every answered request was logged');
      rows = (db.prepare('SELECT * FROM calls').all() as Record<string, unknown>[]).map((r) => JSON.stringify(r)).join('\n')
        + (db.prepare('SELECT * FROM log_stats').all() as Record<string, unknown>[]).map((r) => JSON.stringify(r)).join('\n');
      configText = (db.prepare('SELECT text FROM config_versions').all() as { text: string }[]).map((r) => r.text).join('\n');
    } finally {
      db.close();
    }
    // Every byte SQLite keeps (pages not yet checkpointed, freed pages), not only live rows.
    const storeBytes = Buffer.concat(readdirSync(dataDir).filter((f) => f.startsWith('pinpoint.db')).map((f) => readFileSync(join(dataDir, f)))).toString('latin1');

    const fresh = { freshKey, unknownKey, cookieSecret, password, customToken, validToken: valid, expiredToken: expired, wrongAudToken: wrongAud, tamperedToken: tampered };
    for (const [name, secret] of Object.entries(fresh)) {
      assert.ok(!logText.includes(secret), `${name} appears in the process log`);
      assert.ok(!rows.includes(secret), `${name} appears in a call-log row`);
      assert.ok(!configText.includes(secret), `${name} appears in a stored config version`);
      assert.ok(!storeBytes.includes(secret), `${name} appears in the store's bytes`);
      // The signature alone would let no one in, but header.payload is the claims: the
      // whole token is the secret, and so is its signature part.
      if (name.endsWith('Token')) assert.ok(!storeBytes.includes(secret.split('.')[2]!), `${name}'s signature appears in the store`);
    }
    // The demo's banner on stdout suggests curl commands with pk_demo_writer on purpose;
    // the operational log is the JSON lines.
    const jsonLog = logText.split('\n').filter((l) => l.startsWith('{')).join('\n');
    assert.ok(jsonLog.includes('"level":30'), 'the log lines were captured and scanned');
    for (const k of Object.values(demoKeys)) {
      assert.ok(!jsonLog.includes(k), `${k} appears in the process log`);
      assert.ok(!rows.includes(k), `${k} appears in a call-log row`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('credential-named query parameters and headers are logged with their name and length only', async () => {
  const { redactHeaders, redactQuery } = await import('../../src/log/redact.ts');
  assert.equal(redactQuery('?api_key=abc123&page=2'), '?api_key=[redacted 6 chars]&page=2');
  assert.equal(redactQuery('?access_token=a.b.c&X-Amz-Signature=ff&client_secret=s&key=k&sort=asc'), '?access_token=[redacted 5 chars]&X-Amz-Signature=[redacted 2 chars]&client_secret=[redacted 1 chars]&key=[redacted 1 chars]&sort=asc');
  assert.equal(redactQuery('?api%5Fkey=abc'), '?api%5Fkey=[redacted 3 chars]', 'an encoded name is recognized');
  assert.equal(redactQuery('?monkey=1&keyboard=2&tokens_left=3'), '?monkey=1&keyboard=2&tokens_left=3', 'only whole words of the name count');
  assert.equal(redactQuery(''), '');
  const h = redactHeaders({ 'x-auth-token': 'tok', 'api-key': 'k', 'x-session-secret': 's', 'keep-alive': 'timeout=5', 'user-agent': 'ua' }, new Set());
  assert.deepEqual(h, { 'x-auth-token': '[redacted 3 chars]', 'api-key': '[redacted 1 chars]', 'x-session-secret': '[redacted 1 chars]', 'keep-alive': 'timeout=5', 'user-agent': 'ua' });
});
