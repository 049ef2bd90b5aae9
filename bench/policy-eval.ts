// Policy evaluation cost at scale, standalone (not part of bench/run.ts):
//   node bench/policy-eval.ts [--policies 10000] [--keys 100000] [--seconds 3]
// Builds a tenancy state with that many policies and API keys, compiles it as the gateway
// does on every change (that time is the propagation cost at this scale), then decides
// random requests the way the request path does: sha256 of the presented key, one map
// lookup, subscription, access policy and ownership decisions. Prints decisions per second
// on one core and the number of policies looked at per decision (O(matching), not O(all)).

import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { hashApiKey } from '../src/credentials/directory.ts';
import { compileTenancy } from '../src/policy/compile.ts';
import { decideAccess, decideOwnership, decideSubscription } from '../src/policy/evaluate.ts';
import type { EntityKind, EntityTypes, Stored } from '../src/tenancy/model.ts';
import { applyChanges, emptyState, type Change } from '../src/tenancy/state.ts';

const { values } = parseArgs({ options: { policies: { type: 'string', default: '10000' }, keys: { type: 'string', default: '100000' }, seconds: { type: 'string', default: '3' } } });
const POLICIES = Number(values.policies);
const KEYS = Number(values.keys);
const SECONDS = Number(values.seconds);
const TENANTS = 100;
const KEYS_PER_CONSUMER = 5;
const CONSUMERS = Math.ceil(KEYS / KEYS_PER_CONSUMER);
const ROUTES_PER_API = 10;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

function build(): { changes: Change[]; plainKeys: string[] } {
  const changes: Change[] = [];
  const put = <K extends EntityKind>(kind: K, id: string, after: EntityTypes[K]) => changes.push({ kind, id, before: null, after } as Change);
  for (let t = 0; t < TENANTS; t++) {
    put('tenant', `t${t}`, { id: `t${t}`, status: 'active' });
    put('api', `api${t}`, {
      id: `api${t}`, tenant: `t${t}`, version: '1', status: 'published', visibility: 'tenant', policies: 'enforce',
      routes: Array.from({ length: ROUTES_PER_API }, (_, r) => `t${t}-r${r}`),
      ownership: [{ id: 'owner', routes: [`t${t}-r0`], methods: ['PUT'], param: 'id', source: `res${t}` }],
    });
  }
  const plainKeys: string[] = [];
  for (let c = 0; c < CONSUMERS; c++) {
    const tenant = `t${c % TENANTS}`;
    put('consumer', `c${c}`, { id: `c${c}`, tenant, status: 'active', jwtSubjects: [] });
    put('subscription', `c${c}.api${c % TENANTS}`, { id: `c${c}.api${c % TENANTS}`, consumer: `c${c}`, api: `api${c % TENANTS}`, status: c % 10 === 9 ? 'requested' : 'approved' });
    for (let k = 0; k < KEYS_PER_CONSUMER && plainKeys.length < KEYS; k++) {
      const plain = `pk_bench_${c}_${k}`;
      plainKeys.push(plain);
      put('key', `k${c}_${k}`, { id: `k${c}_${k}`, consumer: `c${c}`, hash: `sha256:${hashApiKey(plain)}`, scopes: [], roles: c % 3 === 0 ? ['reader'] : [] });
    }
  }
  for (let p = 0; p < POLICIES; p++) {
    const t = p % TENANTS;
    // Policies name two consumers of their tenant, a route and a method; one in ten is a deny.
    const a = (p * 7) % CONSUMERS;
    const c1 = a - (a % TENANTS) + t;
    const c2 = (c1 + TENANTS) % CONSUMERS;
    put('policy', `p${p}`, {
      id: `p${p}`, tenant: `t${t}`, api: `api${t}`, effect: p % 10 === 0 ? 'deny' : 'allow',
      subjects: { consumers: [`c${c1}`, `c${c2}`], roles: p % 50 === 0 ? ['reader'] : [] },
      routes: [`t${t}-r${p % ROUTES_PER_API}`], methods: [METHODS[p % METHODS.length]!], conditions: [],
    });
  }
  return { changes, plainKeys };
}

const t0 = performance.now();
const { changes, plainKeys } = build();
const t1 = performance.now();
const state = { version: 1, at: Date.now(), entities: applyChanges(emptyState().entities, changes, 1) };
const compiled = compileTenancy(state);
const keysByHash = new Map<string, Stored<'key'>>();
for (const k of state.entities.key.values()) keysByHash.set(k.data.hash.slice(7), k);
const t2 = performance.now();

let decisions = 0;
let evaluated = 0;
const outcomes = new Map<string, number>();
let seed = 42;
const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const end = performance.now() + SECONDS * 1000;
const now = Date.now();
while (performance.now() < end) {
  for (let i = 0; i < 1000; i++) {
    const key = keysByHash.get(hashApiKey(plainKeys[rnd(plainKeys.length)]!))!;
    const consumer = state.entities.consumer.get(key.data.consumer)!;
    const t = Number(consumer.data.tenant.slice(1));
    const routeId = `t${t}-r${rnd(ROUTES_PER_API)}`;
    const method = METHODS[rnd(METHODS.length)]!;
    const api = compiled.apiByRoute.get(routeId)!;
    let outcome: string = decideSubscription(compiled, api, { consumerId: consumer.id, tenantId: consumer.data.tenant }).outcome;
    if (outcome === 'ok') {
      const d = decideAccess(compiled, api.id, routeId, method, { consumerId: consumer.id, tenantId: consumer.data.tenant, subject: consumer.id, roles: key.data.roles, scopes: key.data.scopes, headers: {}, now });
      evaluated += d.evaluated;
      outcome = d.outcome;
      if (outcome === 'allow') outcome = decideOwnership(compiled, api, routeId, method, { id: String(rnd(100)) }, consumer.id).outcome === 'not_resource_owner' ? 'not_resource_owner' : 'allow';
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    decisions++;
  }
}
// The sha256 alone, for scale: what any key lookup costs whatever the policies.
let hashes = 0;
const hashEnd = performance.now() + 1000;
while (performance.now() < hashEnd) for (let i = 0; i < 1000; i++) { hashApiKey(plainKeys[rnd(plainKeys.length)]!); hashes++; }
const seconds = SECONDS;
const perSec = Math.round(decisions / seconds);
console.log(`policy evaluation benchmark — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}`);
console.log(`state: ${TENANTS} tenants, ${CONSUMERS} consumers, ${plainKeys.length} keys, ${POLICIES} policies, ${CONSUMERS} subscriptions`);
console.log(`compile (what every state change costs before it is live): ${(t2 - t1).toFixed(0)} ms (building the test data: ${(t1 - t0).toFixed(0)} ms)`);
console.log(`decisions: ${perSec.toLocaleString('en')} per second on one core (${(1e6 / perSec).toFixed(2)} µs each, including the sha256 of the key)`);
console.log(`of which the sha256 of the key alone: ${(1e6 / hashes).toFixed(2)} µs (${hashes.toLocaleString('en')} per second)`);
console.log(`policies evaluated per decision: ${(evaluated / decisions).toFixed(2)} on average, out of ${POLICIES}`);
console.log(`outcomes: ${[...outcomes].map(([k, v]) => `${k} ${(100 * v / decisions).toFixed(1)}%`).join(', ')}`);
