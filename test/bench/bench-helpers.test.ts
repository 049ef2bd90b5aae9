import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luaScript } from '../../bench/lib/wrk.ts';
import { summarise } from '../../bench/lib/cpu-profile.ts';
import { jsonOfSize } from '../../bench/scenarios.ts';

describe('benchmark helpers', () => {
  it('a rotating wrk script sets the Host header, which wrk.format would otherwise leave out', () => {
    const lua = luaScript({ url: 'http://127.0.0.1:4567/api/orders', method: 'GET', headers: {}, rotate: [{ 'x-api-key': 'a' }, { 'x-api-key': 'b' }] }, 1);
    assert.match(lua, /wrk\.headers\["Host"\] = \[==\[127\.0\.0\.1:4567\]==\]/);
    assert.match(lua, /\[ \[==\[x-api-key\]==\] \]=\[==\[b\]==\]/);
  });

  it('a paced wrk script spaces requests by threads / rate', () => {
    const lua = luaScript({ url: 'http://127.0.0.1:1/', method: 'GET', headers: {}, rate: 4000 }, 2);
    assert.match(lua, /local interval = 0\.5\n/);
    assert.match(lua, /function delay\(\)/);
  });

  it('the POST bodies are valid JSON of exactly the size asked', () => {
    for (const size of [1024, 65536]) {
      const body = jsonOfSize(size);
      assert.equal(Buffer.byteLength(body), size);
      assert.equal((JSON.parse(body) as { sku: string }).sku, 'A-1');
    }
  });

  it('the profile summary counts self time only inside the measured window and leaves idle out', () => {
    const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0 });
    const profile = {
      nodes: [{ id: 1, callFrame: frame('(root)') }, { id: 2, callFrame: frame('startup') }, { id: 3, callFrame: frame('hot') }, { id: 4, callFrame: frame('(idle)') }],
      // 1000 µs start-up, then 3 samples of 100 µs in "hot" and one idle sample.
      samples: [2, 3, 3, 3, 4], timeDeltas: [1000, 100, 100, 100, 100], startTime: 0, endTime: 1400,
    };
    const s = summarise(profile, 10, 1050, 1400);
    assert.equal(s.total, 300);
    assert.match(s.functions, /\| hot \| {2}\| 0 ms \| 100\.0% \|/);
    assert.doesNotMatch(s.functions, /startup/);
  });
});
