import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { storeContract, type StoreFactory } from './store-contract.ts';
import { callLogReaderContract } from './call-log-reader-contract.ts';
import { alertStateContract } from './alert-state-contract.ts';

const factory: StoreFactory = {
  async fresh(t) {
    const dir = mkdtempSync(join(tmpdir(), 'pinpoint-store-'));
    const store = new SqliteStore(join(dir, 'pinpoint.db'));
    t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
    return store;
  },
  async again(t, store) {
    if (store.location.kind !== 'sqlite') throw new Error('not sqlite');
    const other = new SqliteStore(store.location.file);
    t.after(() => other.close());
    return other;
  },
};
storeContract('sqlite', factory);
callLogReaderContract('sqlite', factory);
alertStateContract('sqlite', { ...factory, leaderTtlMatters: true });
