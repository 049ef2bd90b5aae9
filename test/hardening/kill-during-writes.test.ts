import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { demoKeys } from '../../src/demo/demo-keys.ts';
import { demoAdminTokens } from '../../src/demo/demo-tenancy.ts';
import { freePortBlock, startCli, type RunningServer } from '../support/cli.ts';
import { httpsRequest } from '../vault/support.ts';

// SIGKILL of the real `pinpoint demo` process while admin API clients create and revoke API
// keys and create and update access policies, and vault clients set and delete secrets, all
// at once. Every change answered 2xx before the kill is recorded; after a restart on the same
// data directory each one is there: a created key opens GET /api/orders, a revoked key is
// refused credential_revoked, a policy has its acknowledged revision, a secret version reads
// back its value, a deleted secret is in deleted secrets. Both SQLite files pass
// `PRAGMA integrity_check`, and the restarted demo serves. Two rounds: kill, restart, verify,
// write more, kill again. The moment of each kill is random (printed on failure).

const ROUNDS = Number(process.env.PINPOINT_KILL_ROUNDS ?? '2');
const operator = demoAdminTokens.operator;

interface Acked {
  /** Keys whose creation was answered 201, with the plain key; `revoked` once a revoke was answered 200. */
  keys: Map<string, { plain: string; revoked: boolean }>;
  /** Policies by id: the last acknowledged revision (description) and its state version. */
  policies: Map<string, { description: string; version: number }>;
  /** Secrets by name: the last acknowledged write (a version and its value, or deleted). */
  secrets: Map<string, { version: string; value: string } | 'deleted'>;
  /** What was in flight when the process died: either outcome is correct for these. */
  inFlight: Set<string>;
  /** Answers a live server should not have given. */
  errors: string[];
  counts: { keyCreate: number; keyRevoke: number; policyCreate: number; policyUpdate: number; secretSet: number; secretDelete: number };
}

interface Demo { server: RunningServer; gateway: string; admin: string; vault: string; ca: string }

async function startDemo(dataDir: string, port: number): Promise<Demo> {
  const server = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/);
  return { server, gateway: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${port + 1}`, vault: `https://127.0.0.1:${port + 443}`, ca: readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8') };
}

async function admin(d: Demo, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${d.admin}${path}`, { method, headers: { authorization: `Bearer ${operator}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {} };
}

async function vaultToken(d: Demo): Promise<string> {
  const r = await httpsRequest({ caPem: d.ca }, `${d.vault}/demo-tenant/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-app', client_secret: 'demo-app-secret', scope: 'https://vault.localhost/.default' }).toString(),
  });
  assert.equal(r.status, 200, r.text);
  return r.json.access_token as string;
}

const kvUrl = (d: Demo, path: string) => `${d.vault}${path}${path.includes('?') ? '&' : '?'}api-version=7.5`;

/** Writers until `stop()`: each is serial, so at most one of its changes is in flight at the kill. */
function hammer(d: Demo, token: string, acked: Acked, round: number): { stop(): Promise<void> } {
  let running = true;
  const inFlight = (what: string, fn: () => Promise<void>) => async () => {
    acked.inFlight.add(what);
    try { await fn(); acked.inFlight.delete(what); } catch (err) {
      running = false;
      // The server went away (refused or reset connection): the change stays in flight. Any
      // other error is a wrong answer from a live server, reported by the test.
      if (err instanceof assert.AssertionError) acked.errors.push(`${what}: ${err.message}`);
    }
  };
  const keyWriter = async (w: number) => {
    for (let i = 0; running; i++) {
      const id = `kill-r${round}-w${w}-${i}`;
      await inFlight(`key:${id}`, async () => {
        const a = await admin(d, 'POST', '/v1/consumers/acme-writer/keys', { id, scopes: ['orders:read'] });
        assert.equal(a.status, 201, JSON.stringify(a.json));
        acked.keys.set(id, { plain: a.json.secret as string, revoked: false });
        acked.counts.keyCreate++;
      })();
      if (running && i % 2 === 1) {
        await inFlight(`key:${id}`, async () => {
          const a = await admin(d, 'POST', `/v1/keys/${id}/revoke`, { reason: 'revoked before the crash' });
          assert.equal(a.status, 200, JSON.stringify(a.json));
          acked.keys.get(id)!.revoked = true;
          acked.counts.keyRevoke++;
        })();
      }
    }
  };
  const policyWriter = async (w: number) => {
    const id = `kill-r${round}-policy-${w}`;
    await inFlight(`policy:${id}`, async () => {
      const a = await admin(d, 'POST', '/v1/policies', { id, tenant: 'acme', api: 'orders', description: 'rev 0', subjects: { consumers: ['acme-reader'] }, methods: ['GET'] });
      assert.equal(a.status, 201, JSON.stringify(a.json));
      acked.policies.set(id, { description: 'rev 0', version: (a.json.item as { version: number }).version });
      acked.counts.policyCreate++;
    })();
    for (let rev = 1; running; rev++) {
      await inFlight(`policy:${id}`, async () => {
        const a = await admin(d, 'PATCH', `/v1/policies/${id}`, { description: `rev ${rev}` });
        assert.equal(a.status, 200, JSON.stringify(a.json));
        acked.policies.set(id, { description: `rev ${rev}`, version: (a.json.item as { version: number }).version });
        acked.counts.policyUpdate++;
      })();
    }
  };
  const secretWriter = async (w: number) => {
    const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (let i = 0; running; i++) {
      const name = `kill-r${round}-w${w}-${i % 4}`;
      const value = `value ${round}/${w}/${i} ${'x'.repeat(i % 7 * 50)}`;
      if (acked.secrets.get(name) === 'deleted') {
        // A deleted name is reserved until purged: purge it, then it can be set again.
        await inFlight(`secret:${name}`, async () => {
          const p = await httpsRequest({ caPem: d.ca }, kvUrl(d, `/deletedsecrets/${name}`), { method: 'DELETE', headers: h });
          assert.equal(p.status, 204, p.text);
          acked.secrets.delete(name);
        })();
      }
      if (!running) break;
      await inFlight(`secret:${name}`, async () => {
        const r = await httpsRequest({ caPem: d.ca }, kvUrl(d, `/secrets/${name}`), { method: 'PUT', headers: h, body: JSON.stringify({ value }) });
        assert.equal(r.status, 200, r.text);
        acked.secrets.set(name, { version: String(r.json.id).split('/').at(-1)!, value });
        acked.counts.secretSet++;
      })();
      if (running && i % 2 === 1) {
        await inFlight(`secret:${name}`, async () => {
          const r = await httpsRequest({ caPem: d.ca }, kvUrl(d, `/secrets/${name}`), { method: 'DELETE', headers: h });
          assert.equal(r.status, 200, r.text);
          acked.secrets.set(name, 'deleted');
          acked.counts.secretDelete++;
        })();
      }
    }
  };
  const all = Promise.all([
    ...[0, 1].map((w) => keyWriter(w)), ...[0, 1].map((w) => policyWriter(w)), ...[0, 1, 2].map((w) => secretWriter(w)),
  ]);
  return { stop: async () => { running = false; await all; } };
}

function integrity(file: string): string {
  const db = new DatabaseSync(file);
  try { return (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check; } finally { db.close(); }
}

async function verify(d: Demo, acked: Acked, context: string): Promise<number> {
  let checked = 0;
  const failures: string[] = [];
  for (const [id, k] of acked.keys) {
    if (acked.inFlight.has(`key:${id}`)) continue;
    const res = await fetch(`${d.gateway}/api/orders`, { headers: { 'x-api-key': k.plain } });
    const body = await res.text();
    checked++;
    if (k.revoked && !(res.status === 401 && body.includes('credential_revoked'))) failures.push(`key ${id} was revoked (acknowledged): got ${res.status} ${body.slice(0, 160)}`);
    if (!k.revoked && res.status !== 200) failures.push(`key ${id} was created (acknowledged): got ${res.status} ${body.slice(0, 160)}`);
  }
  for (const [id, p] of acked.policies) {
    const a = await admin(d, 'GET', `/v1/policies/${id}`);
    checked++;
    const item = a.json.item as { version: number; data: { description?: string } } | undefined;
    if (a.status !== 200 || !item) { failures.push(`policy ${id}: ${a.status}`); continue; }
    if (acked.inFlight.has(`policy:${id}`)) {
      // The update in flight may have committed before the kill: the acknowledged revision or the next.
      const next = `rev ${Number(p.description.split(' ')[1]) + 1}`;
      if (item.data.description !== p.description && item.data.description !== next) failures.push(`policy ${id}: ${item.data.description}, acknowledged ${p.description}`);
      // Whichever it is, it is what the next round must find.
      else acked.policies.set(id, { description: item.data.description, version: item.version });
    } else if (item.data.description !== p.description || item.version !== p.version) {
      failures.push(`policy ${id}: ${item.data.description} v${item.version}, acknowledged ${p.description} v${p.version}`);
    }
  }
  const token = await vaultToken(d);
  const h = { authorization: `Bearer ${token}` };
  for (const [name, s] of acked.secrets) {
    if (acked.inFlight.has(`secret:${name}`)) continue;
    checked++;
    if (s === 'deleted') {
      const r = await httpsRequest({ caPem: d.ca }, kvUrl(d, `/deletedsecrets/${name}`), { headers: h });
      if (r.status !== 200) failures.push(`secret ${name} was deleted (acknowledged): deleted secrets answers ${r.status}`);
    } else {
      const r = await httpsRequest({ caPem: d.ca }, kvUrl(d, `/secrets/${name}/${s.version}`), { headers: h });
      if (r.status !== 200 || r.json.value !== s.value) failures.push(`secret ${name}/${s.version}: ${r.status} ${String(r.json.value).slice(0, 40)}, acknowledged ${s.value.slice(0, 40)}`);
    }
  }
  assert.deepEqual(failures, [], `${context}: ${failures.length} acknowledged changes lost or wrong of ${checked} checked`);
  return checked;
}

test('SIGKILL while keys, policies and secrets are written: after restart every acknowledged change is there and both stores are intact', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-kill-writes-'));
  const acked: Acked = { keys: new Map(), policies: new Map(), secrets: new Map(), inFlight: new Set(), errors: [], counts: { keyCreate: 0, keyRevoke: 0, policyCreate: 0, policyUpdate: 0, secretSet: 0, secretDelete: 0 } };
  const kills: string[] = [];
  try {
    const port = await freePortBlock();
    let d = await startDemo(dataDir, port);
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const load = hammer(d, await vaultToken(d), acked, round);
        // Let the writers get going, then kill at a random moment within the next 2 s.
        const before = Object.values(acked.counts).reduce((a, b) => a + b, 0);
        for (const until = Date.now() + 30_000; Date.now() < until && Object.values(acked.counts).reduce((a, b) => a + b, 0) < before + 40;) await new Promise((r) => setTimeout(r, 20));
        const delay = Math.floor(Math.random() * 2000);
        await new Promise((r) => setTimeout(r, delay));
        const exited = new Promise((r) => d.server.child.once('exit', r));
        d.server.child.kill('SIGKILL');
        await exited;
        await load.stop();
        assert.deepEqual(acked.errors, [], 'every write before the kill was answered as expected');
        kills.push(`round ${round}: killed ${delay} ms after 40 more acknowledged writes; in flight: ${[...acked.inFlight].join(', ')}`);

        assert.equal(integrity(join(dataDir, 'pinpoint.db')), 'ok', `pinpoint.db after kill ${round}`);
        assert.equal(integrity(join(dataDir, 'vault.db')), 'ok', `vault.db after kill ${round}`);
        d = await startDemo(dataDir, port);
        const checked = await verify(d, acked, `after kill ${round} (${kills.at(-1)})`);
        assert.ok(checked >= 12, `enough acknowledged changes to judge after kill ${round}: ${checked}`);
        // The restarted demo serves: gateway, admin and vault.
        assert.equal((await fetch(`${d.gateway}/api/orders`, { headers: { 'x-api-key': demoKeys.writer } })).status, 200);
        assert.equal((await admin(d, 'GET', '/v1/status')).status, 200);
        const g = await httpsRequest({ caPem: d.ca }, kvUrl(d, '/secrets/greeting'), { headers: { authorization: `Bearer ${await vaultToken(d)}` } });
        assert.equal(g.json.value, 'hello from pinpoint');
        // A key or secret whose change was in flight is in an unknown state: judged no more.
        for (const what of acked.inFlight) {
          const [kind, id] = [what.slice(0, what.indexOf(':')), what.slice(what.indexOf(':') + 1)];
          if (kind === 'key') acked.keys.delete(id);
          if (kind === 'secret') acked.secrets.delete(id);
        }
        acked.inFlight.clear();
      }
    } finally {
      await d.server.stop();
    }
    const c = acked.counts;
    assert.ok(c.keyCreate > 0 && c.keyRevoke > 0 && c.policyCreate > 0 && c.policyUpdate > 0 && c.secretSet > 0 && c.secretDelete > 0, `every kind of write was acknowledged: ${JSON.stringify(c)}`);
    console.log(`# kill-during-writes: ${ROUNDS} kills, acknowledged ${JSON.stringify(c)}\n# ${kills.join("\n# ")}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
