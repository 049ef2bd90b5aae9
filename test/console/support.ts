import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// The console's tests drive Debian's chromium (never a downloaded browser) against a real
// demo process: its gateway, admin listener and state, over loopback.

export const chromiumPath = '/usr/bin/chromium';

export interface ConsoleEnv {
  readonly gateway: string;
  readonly admin: string;
  readonly browser: Browser;
  close(): Promise<void>;
}

async function waitFor(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try { await fetch(url); return; } catch { if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms`); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startConsoleEnv(): Promise<ConsoleEnv> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: install Debian's chromium (apt-get install -y chromium).`);
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-console-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child: ChildProcess = spawn(process.execPath, ['bin/pinpoint.js', 'demo', '--port', String(port), '--data-dir', dir, '--reset', '--vault-port', '0'], { stdio: 'ignore' });
  const gateway = `http://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${port + 1}`;
  await waitFor(`${admin}/openapi.json`, 20000);
  await waitFor(`${gateway}/api/public/health`, 5000);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  return {
    gateway, admin, browser,
    async close() {
      await browser.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A page that records every page error and console error, for the test to assert none happened. */
export async function watchedPage(env: ConsoleEnv): Promise<{ page: Page; errors: string[] }> {
  const page = await env.browser.newPage({ viewport: { width: 1366, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { page, errors };
}

export async function signIn(page: Page, admin: string, token: string): Promise<void> {
  await page.goto(`${admin}/`);
  await page.getByLabel('Admin token').fill(token);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}
