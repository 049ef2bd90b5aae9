import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CallLogWriter } from '../../src/log/call-log-writer.ts';
import { allPermissions, app, fetchToken, httpsRequest, sdkClient, settingsFor, startTestVault, TENANT } from '../vault/support.ts';

// Secrets hygiene for the vault (landed after the first hardening pass): with the real
// Azure SDK, a fresh client secret obtains tokens, sets and reads a fresh secret value,
// and a wrong client secret is tried. Afterwards no byte of the vault's store (database
// and WAL: values are encrypted at rest), its audit log or the call log it writes to
// contains the client secret, the secret value or an access token.

test('the vault stores and logs no client secret, secret value or access token', async () => {
  const a = app('hygiene-app', { secret: `cs-${randomBytes(18).toString('base64url')}` });
  const wrong = { ...a, secret: `cs-${randomBytes(18).toString('base64url')}` };
  const value = `v-${randomBytes(24).toString('hex')}`;
  const settings = settingsFor([a], [{ name: 'demo', tenant: TENANT, softDeleteRetentionDays: 7, accessPolicies: [{ objectId: a.objectId, secrets: allPermissions }] }]);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const logDir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-log-'));
  const callLog = new CallLogWriter(join(logDir, 'calls.db'), { maxPending: 10_000, flushIntervalMs: 10, retentionHours: 0, onError: () => undefined });
  const vaultDir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-hygiene-'));
  const t = await startTestVault(settings, { callLog, dir: vaultDir });
  const tokens: string[] = [];
  try {
    const client = sdkClient(t, a);
    await client.setSecret('hygiene', value);
    assert.equal((await client.getSecret('hygiene')).value, value, 'the SDK round trip works');
    const tok = await fetchToken(t, a);
    assert.equal(tok.status, 200);
    tokens.push(String(tok.json.access_token));
    const refused = await fetchToken(t, wrong);
    assert.ok(refused.status >= 400, 'a wrong client secret is refused');
    // The token sent the wrong way (query) and a refused read carrying it.
    await httpsRequest(t, `${t.url}/secrets/hygiene?api-version=7.5&access_token=${tokens[0]}`);
    await httpsRequest(t, `${t.url}/secrets/nope?api-version=7.5`, { headers: { authorization: `Bearer ${tokens[0]}` } });
    await callLog.flush();
  } finally {
    await t.close().catch(() => undefined);
  }
  await callLog.close();
  try {
    const bytes = (dir: string, prefix: string) => Buffer.concat(readdirSync(dir).filter((f) => f.startsWith(prefix)).map((f) => readFileSync(join(dir, f)))).toString('latin1');
    const places: Record<string, string> = {
      'vault store (db + WAL)': bytes(t.dir, 'vault.db'),
      'vault audit log': bytes(t.dir, 'vault-audit'),
      'call log (db + WAL)': bytes(logDir, 'calls.db'),
    };
    assert.ok(places['vault audit log']!.length > 0, 'the audit log was written');
    assert.ok(places['call log (db + WAL)']!.length > 0, 'the call log was written');
    const secrets: Record<string, string> = { 'client secret': a.secret, 'wrong client secret': wrong.secret, 'secret value': value, 'access token': tokens[0]!, 'access token signature': tokens[0]!.split('.')[2]! };
    for (const [where, text] of Object.entries(places)) {
      for (const [what, s] of Object.entries(secrets)) assert.ok(!text.includes(s), `the ${what} appears in the ${where}`);
    }
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  }
});
