import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizePath, type NormalizedPath } from '../../src/router/normalize-path.ts';

function accepted(raw: string): { path: string; segments: readonly string[] } {
  const got: NormalizedPath = normalizePath(raw);
  assert.ok(got.ok, `expected ${JSON.stringify(raw)} to be accepted, got ${got.ok ? '' : got.problem}`);
  return { path: got.path, segments: got.segments };
}

function refused(raw: string): string {
  const got = normalizePath(raw);
  assert.ok(!got.ok, `expected ${JSON.stringify(raw)} to be refused, got ${got.ok ? got.path : ''}`);
  return got.problem;
}

describe('normalizePath on ordinary paths', () => {
  test('a plain path is kept as is and split into segments', () => {
    assert.deepEqual(accepted('/v1/orders/42'), { path: '/v1/orders/42', segments: ['v1', 'orders', '42'] });
  });

  test('the root is one empty segment', () => {
    assert.deepEqual(accepted('/'), { path: '/', segments: [''] });
  });

  test('a trailing slash is kept as a final empty segment', () => {
    assert.deepEqual(accepted('/v1/orders/'), { path: '/v1/orders/', segments: ['v1', 'orders', ''] });
  });

  test('empty segments in the middle are collapsed', () => {
    assert.deepEqual(accepted('//v1///orders'), { path: '/v1/orders', segments: ['v1', 'orders'] });
  });

  test('a path that does not start with / is refused', () => {
    assert.match(refused(''), /start with \//);
    assert.match(refused('v1/orders'), /start with \//);
    assert.match(refused('*'), /start with \//);
  });
});

describe('normalizePath resolves dot segments', () => {
  test('single dots are dropped and double dots remove the previous segment', () => {
    assert.deepEqual(accepted('/v1/./orders/../users/7'), { path: '/v1/users/7', segments: ['v1', 'users', '7'] });
  });

  test('a path that climbs back to the root is the root', () => {
    assert.deepEqual(accepted('/admin/..'), { path: '/', segments: [''] });
    assert.deepEqual(accepted('/./'), { path: '/', segments: [''] });
  });

  test('percent-encoded dot segments are resolved like literal ones', () => {
    assert.deepEqual(accepted('/public/%2e%2E/admin'), { path: '/admin', segments: ['admin'] });
    assert.deepEqual(accepted('/public/%2e/x'), { path: '/public/x', segments: ['public', 'x'] });
  });

  test('".." above the root is refused', () => {
    assert.match(refused('/..'), /above the root/);
    assert.match(refused('/a/../../etc/passwd'), /above the root/);
    assert.match(refused('/%2e%2e/etc/passwd'), /above the root/);
  });

  test('dots that are part of a segment name are ordinary characters', () => {
    assert.deepEqual(accepted('/.well-known/jwks.json').segments, ['.well-known', 'jwks.json']);
    assert.deepEqual(accepted('/a/.../b').segments, ['a', '...', 'b']);
  });
});

describe('normalizePath and percent-encoding', () => {
  test('segments are decoded once and re-encoded canonically', () => {
    assert.deepEqual(accepted('/%76%31/caf%C3%A9'), { path: '/v1/caf%C3%A9', segments: ['v1', 'café'] });
    assert.deepEqual(accepted('/a%20b'), { path: '/a%20b', segments: ['a b'] });
  });

  test('an encoded percent sign alone is decoded only once', () => {
    assert.deepEqual(accepted('/100%25'), { path: '/100%25', segments: ['100%'] });
  });

  test('double percent-encoding is refused as ambiguous, since a backend decoding twice would read it differently', () => {
    for (const raw of ['/%252F', '/%252e%252e/admin', '/a/%25%32%65']) {
      const got = normalizePath(raw);
      assert.equal(got.ok, false, raw);
      assert.equal(!got.ok && got.ambiguous, true, raw);
      assert.match(!got.ok ? got.problem : '', /double percent-encoding/);
    }
  });

  test('a ; path parameter, raw or encoded, is refused as ambiguous', () => {
    for (const raw of ['/api/..;/admin', '/api/orders;jsessionid=1', '/api/%3b/x']) {
      const got = normalizePath(raw);
      assert.equal(!got.ok && got.ambiguous, true, raw);
    }
  });

  test('with caseInsensitive the canonical path is lower-cased', () => {
    assert.deepEqual(normalizePath('/API/Admin', { caseInsensitive: true }), { ok: true, path: '/api/admin', segments: ['api', 'admin'] });
    assert.deepEqual(normalizePath('/API/./Admin%20X', { caseInsensitive: true }), { ok: true, path: '/api/admin%20x', segments: ['api', 'admin x'] });
  });

  test('an encoded slash is refused in either case', () => {
    assert.match(refused('/files/a%2Fb'), /encoded slash/);
    assert.match(refused('/files/a%2fb'), /encoded slash/);
  });

  test('a backslash, raw or encoded, is refused', () => {
    assert.match(refused('/files/a\\b'), /backslash/);
    assert.match(refused('/files/a%5Cb'), /backslash/);
  });

  test('a NUL byte, raw or encoded, is refused', () => {
    assert.match(refused('/files/a%00b'), /NUL/);
    assert.match(refused('/files/a\0b'), /NUL/);
  });

  test('invalid percent-encoding is refused', () => {
    for (const raw of ['/a%zz', '/a%', '/a%4', '/caf%C3', '/%C0%AF', '/%ED%A0%80']) {
      assert.match(refused(raw), /invalid percent-encoding/, raw);
    }
  });

  test('the problem quotes at most 40 characters of a bad segment', () => {
    const problem = refused('/' + 'x'.repeat(100) + '%zz');
    assert.ok(!problem.includes('x'.repeat(41)), problem);
  });
});
