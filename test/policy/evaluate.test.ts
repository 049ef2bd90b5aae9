import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTenancy } from '../../src/policy/compile.ts';
import { decideAccess, failedCondition, type Caller } from '../../src/policy/evaluate.ts';
import type { Policy } from '../../src/tenancy/model.ts';
import { policyEntity } from '../../src/tenancy/model.ts';
import { applyChanges, emptyState } from '../../src/tenancy/state.ts';

// The evaluator's semantics, and its cost: it looks only at the policies indexed under the
// request's API, route, method and subjects.

const policy = (p: Record<string, unknown>): Policy => policyEntity.parse({ tenant: 't', api: 'shop', ...p });
const compiled = (policies: Policy[]) => {
  const state = emptyState();
  return compileTenancy({ version: 1, at: 0, entities: applyChanges(state.entities, policies.map((p) => ({ kind: 'policy' as const, id: p.id, before: null, after: p })), 1) });
};
const caller = (over: Partial<Caller> = {}): Caller => ({ consumerId: 'app', tenantId: 't', subject: 'app', roles: [], scopes: [], headers: {}, now: Date.UTC(2026, 0, 5, 12, 0), ...over });

test('deny wins over allow whatever their ids or order', () => {
  const c = compiled([policy({ id: 'a-allow', subjects: { consumers: ['app'] } }), policy({ id: 'z-deny', effect: 'deny', subjects: { roles: ['temp'] }, methods: ['DELETE'] })]);
  assert.equal(decideAccess(c, 'shop', 'items', 'GET', caller({ roles: ['temp'] })).outcome, 'allow');
  const d = decideAccess(c, 'shop', 'items', 'DELETE', caller({ roles: ['temp'] }));
  assert.equal(d.outcome, 'deny');
  assert.equal(d.outcome === 'deny' && d.policy.id, 'z-deny');
});

test('no policy naming the caller is no_access_policy; policies naming it for other actions is permission_denied', () => {
  const c = compiled([policy({ id: 'reads', subjects: { consumers: ['app'] }, methods: ['GET'] })]);
  assert.equal(decideAccess(c, 'shop', 'items', 'GET', caller({ consumerId: 'other' })).outcome, 'no_access_policy');
  assert.equal(decideAccess(c, 'shop', 'items', 'POST', caller()).outcome, 'permission_denied');
  assert.equal(decideAccess(c, 'other-api', 'items', 'GET', caller()).outcome, 'no_access_policy');
});

test('a role policy applies to every caller holding the role; `*` names every consumer', () => {
  const c = compiled([policy({ id: 'clerks', subjects: { roles: ['clerk'] } }), policy({ id: 'health', subjects: { consumers: ['*'] }, routes: ['health'] })]);
  assert.equal(decideAccess(c, 'shop', 'items', 'GET', caller({ roles: ['clerk'] })).outcome, 'allow');
  assert.equal(decideAccess(c, 'shop', 'health', 'GET', caller({ consumerId: 'anyone' })).outcome, 'allow');
  assert.equal(decideAccess(c, 'shop', 'items', 'GET', caller({ consumerId: 'anyone' })).outcome, 'permission_denied');
});

test('conditions: header values, scopes and UTC time windows, including one across midnight', () => {
  assert.equal(failedCondition([{ header: 'x-env', equals: ['prod'] }], caller({ headers: { 'x-env': 'prod' } })), null);
  assert.match(failedCondition([{ header: 'x-env', equals: ['prod'] }], caller())!, /absent/);
  assert.match(failedCondition([{ scope: 'admin' }], caller({ scopes: ['read'] }))!, /scope admin/);
  const noon = Date.UTC(2026, 0, 5, 12, 0);
  const night = Date.UTC(2026, 0, 5, 23, 30);
  assert.equal(failedCondition([{ timeWindow: { from: '08:00', to: '18:00' } }], caller({ now: noon })), null);
  assert.notEqual(failedCondition([{ timeWindow: { from: '08:00', to: '18:00' } }], caller({ now: night })), null);
  assert.equal(failedCondition([{ timeWindow: { from: '22:00', to: '06:00' } }], caller({ now: night })), null);
  assert.notEqual(failedCondition([{ timeWindow: { from: '08:00', to: '18:00', days: [0] } }], caller({ now: noon })), null, '5 January 2026 is a Monday');
});

test('a time window bound that is not a time of day is refused when the policy is written, naming the field', () => {
  for (const bad of ['25:00', '12:60', '99:99', '7:00', '24:01']) {
    const r = policyEntity.safeParse({ tenant: 't', api: 'shop', id: 'tw', subjects: { consumers: ['app'] }, conditions: [{ timeWindow: { from: bad, to: '18:00' } }] });
    assert.equal(r.success, false, `${bad} is refused`);
    assert.match(JSON.stringify(r.error?.issues), /timeWindow/);
  }
  for (const good of ['00:00', '23:59']) assert.equal(policyEntity.safeParse({ tenant: 't', api: 'shop', id: 'tw', subjects: { consumers: ['app'] }, conditions: [{ timeWindow: { from: good, to: '24:00' } }] }).success, true, `${good}-24:00 is a window`);
  assert.equal(failedCondition([{ timeWindow: { from: '12:00', to: '24:00' } }], caller({ now: Date.UTC(2026, 0, 5, 23, 59) })), null, '24:00 as an end covers the last minute of the day');
});

test('evaluation looks at the matching policies only: 10,000 policies of other consumers cost nothing', () => {
  const many = Array.from({ length: 10_000 }, (_, i) => policy({ id: `p${i}`, subjects: { consumers: [`app${i}`] }, routes: [`r${i % 50}`] }));
  const c = compiled([...many, policy({ id: 'mine', subjects: { consumers: ['app'] }, routes: ['items'] })]);
  const d = decideAccess(c, 'shop', 'items', 'GET', caller());
  assert.equal(d.outcome, 'allow');
  assert.equal(d.evaluated, 1, 'one policy evaluated out of 10,001');
});

test('a claim condition holds when the claim (or one element of it) equals a listed value; API keys have no claims', () => {
  const cond = [{ claim: 'groups', equals: ['ops'] }];
  assert.equal(failedCondition(cond, caller({ claims: { groups: ['dev', 'ops'] } })), null);
  assert.match(failedCondition(cond, caller({ claims: { groups: 'dev' } }))!, /claim groups is "dev", needs ops/);
  assert.match(failedCondition(cond, caller({ claims: {} }))!, /absent/);
  assert.equal(failedCondition([{ claim: 'level', equals: ['3'] }], caller({ claims: { level: 3 } })), null);
});
