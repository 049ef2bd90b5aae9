import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startConsoleEnv, watchedPage, type ConsoleEnv } from './support.ts';

// Sign-in refusals as the console shows them. A demo process of its own: the lock this test
// provokes covers the whole loopback address, which would refuse every other console test.

let env: ConsoleEnv;
before(async () => { env = await startConsoleEnv(); });
after(async () => { await env?.close(); });

// Chromium reports every non-2xx fetch as a console error; those are the point here.
const unexpected = (errors: string[]) => errors.filter((e) => !/Failed to load resource: the server responded with a status of (401|429)/.test(e));

test('a wrong admin token is told it is not known, and after repeated guesses the console says sign-in is paused and for how long', async () => {
  const { page, errors } = await watchedPage(env);
  await page.goto(`${env.admin}/`);
  await page.getByLabel('Admin token').fill('adm_wrong_guess_0');
  await page.keyboard.press('Enter');
  await page.getByText('That admin token is not known.').waitFor();

  // The demo locks an address after 10 failures within 300 s: eight more from outside the page...
  for (let i = 1; i <= 8; i++) {
    const r = await fetch(`${env.admin}/v1/status`, { headers: { authorization: `Bearer adm_wrong_guess_${i}` } });
    assert.equal(r.status, 401, `guess ${i} is still only unknown`);
  }
  // ...the tenth in the page locks it, and the eleventh, even with the operator's token, is paused.
  await page.getByLabel('Admin token').fill('adm_wrong_guess_9');
  await page.keyboard.press('Enter');
  await page.getByText('That admin token is not known.').waitFor();
  await page.getByLabel('Admin token').fill('adm_demo_operator');
  await page.keyboard.press('Enter');
  const notice = page.getByText(/Signing in is paused: Too many failed admin authentications from this address; retry after \d+ s\./);
  await notice.waitFor();
  const seconds = Number(/retry after (\d+) s/.exec(await notice.textContent() ?? '')![1]);
  assert.ok(seconds > 0 && seconds <= 300, `a wait within the window: ${seconds} s`);
  assert.equal(await page.getByRole('heading', { name: 'Overview' }).count(), 0, 'not signed in');
  assert.equal(await page.getByLabel('Admin token').count(), 1, 'the sign-in form is shown again');
  assert.deepEqual(unexpected(errors), []);
  await page.close();
});
