import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RequestContext } from '../../src/pipeline/types.ts';
import { visitParts } from '../../src/waf/parts.ts';

// Part names are what exceptions and explain match on: a JSON key is written after a dot
// exactly when JSONPath allows it (/^[A-Za-z_$][\w$]*$/), in brackets otherwise.

const namesOf = (json: unknown): string[] => {
  const ctx = { path: '/', query: '', headers: {}, body: { kind: 'json', json, raw: Buffer.from(JSON.stringify(json)), mediaType: 'application/json', parseError: null } } as unknown as RequestContext;
  const names: string[] = [];
  visitParts(ctx, new Set(), (name) => { names.push(name); return false; });
  return names;
};

test('a JSON key is named after a dot exactly when it is an identifier, in brackets (and inspected itself) otherwise', () => {
  const key = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: fc.constantFrom(...'aZ_$09-. é[]"'.split('')), maxLength: 6 }));
  fc.assert(fc.property(key, (k) => {
    const names = namesOf({ [k]: 'v' });
    const plain = /^[A-Za-z_$][\w$]*$/.test(k);
    assert.deepEqual(names.slice(1), plain ? [`body.$.${k}`] : [`body.$[${JSON.stringify(k)}]#key`, `body.$[${JSON.stringify(k)}]`], JSON.stringify(k));
  }), { numRuns: 3000 });
});
