import { spawnSync } from 'node:child_process';
import { BenchAbort } from './procs.ts';

// The load generator and the two native peers are Debian packages, installed here when
// missing so `npm run bench` works on a fresh Debian/Ubuntu box (as root, or it says how).

export function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

interface Need {
  /** The program that must be on PATH. */
  readonly command: string;
  /** Debian packages to try, in order (the first that installs wins). */
  readonly packages: readonly string[];
  readonly why: string;
}

export const needs: readonly Need[] = [
  { command: 'wrk', packages: ['wrk'], why: 'the load generator' },
  { command: 'nginx', packages: ['nginx-light', 'nginx'], why: 'the nginx peer' },
  { command: 'haproxy', packages: ['haproxy'], why: 'the HAProxy peer' },
];

// nginx and haproxy live in /usr/sbin, which is not on every PATH (sudo -E, minimal shells).
for (const dir of ['/usr/sbin', '/sbin']) {
  if (!(process.env.PATH ?? '').split(':').includes(dir)) process.env.PATH = `${process.env.PATH ?? ''}:${dir}`;
}

/**
 * Installs with apt-get whatever of `wanted` is missing. `apt-get update` runs once, first,
 * because a fresh container has no package lists; then each package with its fallbacks.
 */
export function ensureTools(wanted: readonly string[], log: (line: string) => void): void {
  const missing = needs.filter((n) => wanted.includes(n.command) && !have(n.command));
  if (missing.length === 0) return;
  const names = missing.map((n) => `${n.command} (${n.why})`).join(', ');
  const manual = `install ${missing.map((n) => n.packages[0]).join(' ')} yourself (Debian/Ubuntu: \`apt-get update && apt-get install -y ${missing.map((n) => n.packages[0]).join(' ')}\`) and run the benchmark again, or leave those systems out with --only`;
  if (!have('apt-get')) throw new BenchAbort(`missing: ${names}, and there is no apt-get here: ${manual}`);
  if (process.getuid?.() !== 0) throw new BenchAbort(`missing: ${names}; installing needs root: ${manual.replace(/apt-get/g, 'sudo apt-get')}`);
  // No prompts, and keep any config file already on the machine.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', '-o', 'Dpkg::Options::=--force-confold', ...args], { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  log(`missing: ${names}`);
  log('apt-get update (once, then the packages) ...');
  if (!apt(['update', '-q'])) log('apt-get update failed; trying the install with the package lists already here');
  for (const need of missing) {
    let ok = false;
    for (const pkg of need.packages) {
      log(`apt-get install -y ${pkg} (for ${need.command}) ...`);
      if (apt(['install', '-y', '-q', '--no-install-recommends', pkg]) && have(need.command)) { ok = true; break; }
      log(`  ${pkg} did not provide ${need.command}`);
    }
    if (!ok) throw new BenchAbort(`could not install ${need.command} (${need.packages.join(' or ')}) with apt-get (no network to the mirror?): ${manual}`);
    log(`  ${need.command} installed: ${version(need.command)}`);
  }
}

export function version(command: string): string {
  const r = spawnSync(command, ['-v'], { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  return text.replace(/\s+Copyright.*$/, '') || 'unknown version';
}
