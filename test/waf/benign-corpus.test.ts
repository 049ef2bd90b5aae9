import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { traceOf } from '../support/assertions.ts';
import { benignCorpus } from './fixtures/benign-corpus.ts';
import { WAF_KEY, wafConfig } from './waf-support.ts';

// The false-positive budget at the default paranoia level is zero: every request of the
// benign corpus goes through a real gateway with the WAF in block mode.

let upstream: TestUpstream;
let t: TestGateway;

before(async () => {
  upstream = await startUpstream((_req, res) => { res.writeHead(201, { 'content-type': 'application/json' }); res.end('{}'); });
  t = await startTestGateway(wafConfig(upstream.url));
});

after(async () => {
  await t.close();
  await upstream.close();
});

test('the corpus holds at least 500 distinct realistic requests', () => {
  const corpus = benignCorpus();
  assert.ok(corpus.length >= 500, `${corpus.length} requests`);
  assert.equal(new Set(corpus.map((r) => `${r.path} ${r.body}`)).size, corpus.length, 'no duplicates');
  const all = corpus.map((r) => r.body + r.path).join('\n');
  for (const needle of ["O'Brien", 'SELECT name, price FROM products', 'Union Select Dining Chair', 'https://', '```', '&&']) {
    assert.ok(all.includes(needle) || all.includes(encodeURIComponent(needle)), `the corpus contains ${needle}`);
  }
});

test('every benign request passes the WAF at the default paranoia level (zero false positives)', async () => {
  const corpus = benignCorpus();
  const blocked: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < corpus.length) {
      const r = corpus[next++]!;
      const a = await call(`${t.url}${r.path}`, { method: 'POST', headers: { ...r.headers, 'x-api-key': WAF_KEY, 'content-type': r.contentType }, body: r.body });
      if (a.status !== 201) {
        const trace = a.json.code === 'waf_blocked' ? await traceOf(t, a) : null;
        const ev = trace?.checks.find((c) => c.id === 'waf')?.evidence;
        blocked.push(`${r.name}: ${a.status} ${String(a.json.code)} ${ev ? `${String(ev.rule)} at ${String(ev.part)}: ${String(ev.fragment)}` : a.text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.deepEqual(blocked, [], `${blocked.length} false positives:\n${blocked.join('\n')}`);
});
