import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { explainAnswer } from './support.ts';

// A 404 lists the routes nearest to the requested path first, and says how many it left
// out: the reason catalogue promises that explain "shows the nearest route".

let upstream: TestUpstream;
let t: TestGateway;

// Fourteen unrelated routes listed before the two the typos are near: the old text showed
// the first twelve in config order and never reached them.
const filler = Array.from({ length: 14 }, (_, i) => ({ id: `filler-${i}`, path: `/misc/thing-${i}`, methods: ['GET'], upstream: 'backend' }));

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway({
    upstreams: { backend: { targets: [{ url: upstream.url }] } },
    routes: [
      ...filler,
      { id: 'comments', path: '/api/comments', methods: ['POST'], upstream: 'backend' },
      { id: 'invoices', path: '/api/invoices', methods: ['GET'], upstream: 'backend' },
      { id: 'invoice', path: '/api/invoices/{id}', methods: ['GET', 'PUT'], upstream: 'backend' },
    ],
  });
});
after(async () => { await t?.close(); await upstream?.close(); });

const nearestLine = async (path: string): Promise<string> => {
  const a = await call(`${t.url}${path}`);
  assertProblem(a, 404, 'route_not_found');
  const { x } = await explainAnswer(t, a);
  const line = x.findings.find((f) => f.startsWith('Nearest routes'));
  assert.ok(line, x.findings.join('\n'));
  return line;
};

test('a typo of a route ranks that route first, the related one next, and says how many more there are', async () => {
  const line = await nearestLine('/api/invoice');
  assert.match(line, /^Nearest routes to \/api\/invoice: "invoices" GET \/api\/invoices; "invoice" GET, PUT \/api\/invoices\/\{id\}; "comments" POST \/api\/comments;/);
  assert.match(line, /… and 12 more \(see the routes block of the config\)\.$/);
  assert.equal(line.split('; ').length, 6, 'five routes and the "more" note');
});

test('a typo in a collection followed by an id ranks the parameterised route first', async () => {
  const line = await nearestLine('/api/invoice/7');
  assert.match(line, /^Nearest routes to \/api\/invoice\/7: "invoice" GET, PUT \/api\/invoices\/\{id\}; "invoices" GET \/api\/invoices;/);
});
