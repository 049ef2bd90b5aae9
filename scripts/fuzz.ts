import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// The long fuzz: the same properties as the bounded fuzz of the test command
// (test/hardening/fuzz-*.test.ts: API keys, JWTs random and mutated, raw header lines,
// paths, query strings, bodies, the YAML config loader, admin API payloads), with SCALE times the runs and
// the time budget of each property.
//
//   node scripts/fuzz.ts                 scale 100: ~20k-50k inputs per property, up to ~7 min each
//   node scripts/fuzz.ts --scale 20
//   node scripts/fuzz.ts --seed=-1234    replay the seed a failure printed (same --scale as the failing run)
//   node scripts/fuzz.ts --only config   just test/hardening/fuzz-config.test.ts (or: http, admin)

const { values } = parseArgs({ options: { scale: { type: 'string', default: '100' }, seed: { type: 'string' }, only: { type: 'string' } } });
const root = fileURLToPath(new URL('..', import.meta.url));
const files = ['fuzz-config', 'fuzz-http', 'fuzz-admin'].filter((f) => !values.only || f.includes(values.only)).map((f) => `test/hardening/${f}.test.ts`);
const started = Date.now();
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit',
  env: { ...process.env, PINPOINT_FUZZ_SCALE: values.scale, ...(values.seed ? { PINPOINT_FUZZ_SEED: values.seed } : {}) },
});
process.stderr.write(`fuzz: scale ${values.scale}, ${files.length} file(s), ${Math.round((Date.now() - started) / 1000)} s, exit ${r.status}\n`);
process.exit(r.status ?? 1);
