import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `src/` (and package.json) of a git ref, extracted into `into` with this checkout's
 * node_modules linked, so a benchmark can import the old code beside the new in one process
 * and compare them in the same run. Returns the ref's short commit.
 */
export function extractSrcAt(root: string, ref: string, into: string): string {
  const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', ref], { encoding: 'utf8' }).trim();
  mkdirSync(into, { recursive: true });
  execFileSync('sh', ['-c', `git -C "${root}" archive "${ref}" src package.json | tar -x -C "${into}"`]);
  symlinkSync(join(root, 'node_modules'), join(into, 'node_modules'));
  return commit;
}
