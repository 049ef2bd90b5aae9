#!/usr/bin/env node
// Pinpoint needs Node.js 24 (type stripping, node:sqlite). `npm install` provides it as
// node_modules/node; if this script was started by an older system node, hand over to it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(local)) {
    process.stderr.write(`pinpoint needs Node.js 24 or later (this is ${process.version}); run \`npm install\` in the project first.\n`);
    process.exit(1);
  }
  const r = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
await import('../src/cli/main.ts');
