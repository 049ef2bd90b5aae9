import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RequestContext } from '../../src/pipeline/types.ts';
import { requestLevelFindings } from '../../src/waf/protocol.ts';

// proto-006 is defined by what a backend's decoder does: the query or form body fails
// decodeURIComponent. The check skips the decoding when it cannot fail; these properties
// hold it to the definition.

const throwsOnDecode = (raw: string): boolean => {
  try { decodeURIComponent(raw.replace(/\+/g, ' ')); return false; } catch { return true; }
};

const escapes = fc.array(fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
  fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`),
  fc.constantFrom('%', '%2', '%zz', '%u00e9', '%C3%A9', '%E2%82%AC', '%F0%9F%98%80', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', 'a', '+', '=', '&', 'é'),
), { maxLength: 12 }).map((xs) => xs.join(''));

const contextWithQuery = (raw: string) => ({ path: '/', query: `?${raw}`, headers: {}, body: null }) as unknown as RequestContext;

test('proto-006 is found exactly when the query does not decode as UTF-8 (proto-005 off, so malformed escapes reach it)', () => {
  fc.assert(fc.property(escapes, (raw) => {
    const finding = requestLevelFindings(contextWithQuery(raw), new Set(['proto-006']));
    assert.equal(finding?.rule === 'proto-006', raw !== '' && throwsOnDecode(raw), JSON.stringify(raw));
  }), { numRuns: 3000 });
});

test('with proto-005 on, a query it lets through has proto-006 exactly when it does not decode', () => {
  fc.assert(fc.property(escapes, (raw) => {
    const finding = requestLevelFindings(contextWithQuery(raw), new Set(['proto-005', 'proto-006']));
    if (finding?.rule === 'proto-005') return;
    assert.equal(finding?.rule === 'proto-006', raw !== '' && throwsOnDecode(raw), JSON.stringify(raw));
  }), { numRuns: 3000 });
});
