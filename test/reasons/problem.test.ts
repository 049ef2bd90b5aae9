import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reasonCodes, reasons } from '../../src/reasons/catalogue.ts';
import { renderProblem } from '../../src/reasons/problem.ts';

const base = { code: 'insufficient_scope' as const, requestId: 'req-1', detail: "key 'k1' has a; GET /x needs b.", typeBase: 'urn:pinpoint:reason:' };

test('a problem body has the RFC 9457 members plus code, requestId and a hint for a 403', () => {
  const { status, body } = renderProblem({ ...base, verbosity: 'standard' });
  const p = JSON.parse(body) as Record<string, unknown>;
  assert.equal(status, 403);
  assert.deepEqual(Object.keys(p).sort(), ['code', 'detail', 'hint', 'requestId', 'status', 'title', 'type']);
  assert.equal(p.type, 'urn:pinpoint:reason:insufficient_scope');
  assert.equal(p.detail, base.detail);
});

test('minimal verbosity tells the caller only the title, not what the credential holds', () => {
  const p = JSON.parse(renderProblem({ ...base, verbosity: 'minimal' }).body) as Record<string, unknown>;
  assert.equal(p.detail, `${reasons.insufficient_scope.title}.`);
  assert.doesNotMatch(JSON.stringify(p), /k1/);
});

test('debug verbosity adds the refusing check and its evidence', () => {
  const p = JSON.parse(renderProblem({ ...base, verbosity: 'debug', check: 'scopes', evidence: { missing: ['b'] } }).body) as Record<string, unknown>;
  assert.equal(p.check, 'scopes');
  assert.deepEqual(p.evidence, { missing: ['b'] });
  const standard = JSON.parse(renderProblem({ ...base, verbosity: 'standard', check: 'scopes', evidence: { missing: ['b'] } }).body) as Record<string, unknown>;
  assert.equal(standard.evidence, undefined, 'evidence stays in the log at standard verbosity');
});

test('404 and 405 answers carry no hint, 401/403/429 always do', () => {
  for (const code of reasonCodes) {
    const p = JSON.parse(renderProblem({ code, requestId: 'r', verbosity: 'standard', typeBase: '' }).body) as Record<string, unknown>;
    assert.equal(p.status, reasons[code].status);
    assert.equal('hint' in p, [401, 403, 429].includes(reasons[code].status), code);
  }
});

test('every reason has a title, a hint and at least one cause and one fix', () => {
  for (const code of reasonCodes) {
    const r = reasons[code];
    assert.ok(r.title && r.hint && r.causes.length > 0 && r.fixes.length > 0, code);
    assert.ok(r.status >= 400 && r.status <= 599, code);
  }
});
