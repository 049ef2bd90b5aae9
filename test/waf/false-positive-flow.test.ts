import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';
import { runCli } from '../support/cli.ts';
import { post, wafConfig } from './waf-support.ts';

// The documented workflow, end to end: a legitimate request is blocked; its request id
// leads through `pinpoint explain` to the rule, the part and the one-line exception; the
// exception is added to the config, which reloads; the request passes and nothing else opens.

let upstream: TestUpstream;
let t: TestGateway;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway(wafConfig(upstream.url));
});

after(async () => {
  await t.close();
  await upstream.close();
});

test('request id -> explain -> rule and fragment -> one-line exception -> the request passes, the rest stays blocked', async () => {
  const legit = JSON.stringify({ title: 'Cleanup script', code: "DELETE FROM carts WHERE updated_at < now() - interval '30 days'; DROP TABLE IF EXISTS tmp_carts;" });
  const blocked = await post(t.url, '/api/comments', legit);
  assertProblem(blocked, 403, 'waf_blocked');
  assert.equal(blocked.json.detail, 'Blocked by web application firewall rule sqli-004.');

  await traceOf(t, blocked);
  const x = runCli(['explain', blocked.json.requestId as string, '--data-dir', t.dataDir]);
  assert.equal(x.status, 0, x.stderr);
  assert.match(x.stdout, /part=body\.\$\.code/);
  assert.match(x.stdout, /fragment='; drop table/);
  const line = /- \{ rule: sqli-004, part: "body\.\$\.code" \}/.exec(x.stdout);
  assert.ok(line, x.stdout);

  const config = wafConfig(upstream.url) as { routes: { id: string; waf?: { exceptions?: unknown[] } }[] };
  const route = config.routes.find((r) => r.id === 'comments')!;
  route.waf = { ...route.waf, exceptions: [{ rule: 'sqli-004', part: 'body.$.code' }] };
  const reload = t.rewrite(stringify(config));
  assert.equal(reload.ok, true, reload.message);

  const passed = await post(t.url, '/api/comments', legit);
  assert.equal(passed.status, 201, passed.text);
  assert.equal(upstream.seen.at(-1)!.body, legit);

  const sameRuleOtherField = await post(t.url, '/api/comments', JSON.stringify({ title: "x'; DROP TABLE users" }));
  assertProblem(sameRuleOtherField, 403, 'waf_blocked');
  assert.equal(checkRecord(await traceOf(t, sameRuleOtherField), 'waf').evidence?.part, 'body.$.title');
  const otherRuleSameField = await post(t.url, '/api/comments', JSON.stringify({ code: '<script>alert(1)</script>' }));
  assertProblem(otherRuleSameField, 403, 'waf_blocked');
});
