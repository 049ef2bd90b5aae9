import pg from 'pg';
import { quoteIdent } from '../../src/store/postgres/database.ts';
import { postgresBase, uniqueName } from './services.ts';

/** A database URL of its own for this test run; `drop()` removes it and any connection left to it. */
export function scratchDatabase(purpose: string): { url: string; name: string; drop(): Promise<void> } {
  const name = uniqueName(purpose);
  return {
    name,
    url: `${postgresBase}/${name}`,
    async drop() {
      const admin = new pg.Client({ connectionString: `${postgresBase}/postgres` });
      await admin.connect();
      try { await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`); } finally { await admin.end(); }
    },
  };
}
