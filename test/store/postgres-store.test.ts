import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { postgresMigrations } from '../../src/store/postgres/migrations.ts';
import { scratchDatabase } from '../support/postgres.ts';
import { runCli } from '../support/cli.ts';
import { storeContract, type StoreFactory } from './store-contract.ts';
import { callLogReaderContract } from './call-log-reader-contract.ts';
import { alertStateContract } from './alert-state-contract.ts';

const databases: ReturnType<typeof scratchDatabase>[] = [];
after(async () => { for (const d of databases) await d.drop(); });

const factory: StoreFactory = {
  async fresh(t) {
    const db = scratchDatabase('store');
    databases.push(db);
    const store = await PostgresStore.open(db.url);
    t.after(() => store.close());
    return store;
  },
  async again(t, store) {
    if (store.location.kind !== 'postgres') throw new Error('not postgres');
    const other = await PostgresStore.open(store.location.url);
    t.after(() => other.close());
    return other;
  },
};
storeContract('postgres', factory);
callLogReaderContract('postgres', factory);
alertStateContract('postgres', { ...factory, leaderTtlMatters: false });

test('opening a store on a database that does not exist creates it and records every migration once', async () => {
  const db = scratchDatabase('create');
  databases.push(db);
  const [a, b] = await Promise.all([PostgresStore.open(db.url), PostgresStore.open(db.url)]);
  try {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    await client.end();
    assert.deepEqual(rows.map((r) => r.version), postgresMigrations.map((_, i) => i + 1));
  } finally {
    await a.close();
    await b.close();
  }
});

test('a reader (pinpoint stats/audit --store) on a database that does not exist is told so, and the database is not created', async () => {
  const db = scratchDatabase('reader-missing');
  databases.push(db);
  const r = runCli(['stats', '--store', db.url, '--since', '10m']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cannot open the store .*does not exist/s);
  const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    assert.equal(rows.length, 0, 'the mistyped database was not created');
  } finally {
    await admin.end();
  }
});

test('an unreachable server is a clear error, not a hang', async () => {
  await assert.rejects(PostgresStore.open('postgresql://postgres@127.0.0.1:9/nothing'), /ECONNREFUSED|connect/);
});
