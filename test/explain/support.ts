import type { DatabaseSync } from 'node:sqlite';
import { explainTrace, type Explanation } from '../../src/explain/explain.ts';
import { renderExplanation } from '../../src/explain/render.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { traceOf } from '../support/assertions.ts';
import type { Answer, TestGateway } from '../support/harness.ts';

// The explanation of a request the gateway answered over loopback, read back from its
// call log as `pinpoint explain` does (in process: the CLI adds nothing to the text tested here).

export interface Explained {
  readonly x: Explanation;
  readonly text: string;
  readonly findings: string;
}

export function explainFrom(db: DatabaseSync, trace: Parameters<typeof explainTrace>[1]): Explained {
  const x = explainTrace(db, trace);
  return { x, text: renderExplanation(x), findings: x.findings.join('\n') };
}

export async function explainAnswer(t: TestGateway, a: Answer): Promise<Explained> {
  const trace = await traceOf(t, a);
  const db = openDatabase(t.databaseFile, { readOnly: true });
  try {
    return explainFrom(db, trace);
  } finally {
    db.close();
  }
}
