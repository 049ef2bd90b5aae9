import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizePath } from '../../src/router/normalize-path.ts';
import { RouteTable, RouteTableError, type RouteMatch, type Routable } from '../../src/router/route-table.ts';

type Headers = Record<string, string | string[] | undefined>;

function segmentsOf(path: string): readonly string[] {
  const n = normalizePath(path);
  assert.ok(n.ok);
  return n.segments;
}

function lookup(table: RouteTable<Routable>, method: string, path: string, host?: string, headers: Headers = {}): RouteMatch<Routable> {
  return table.match(method, segmentsOf(path), host, headers);
}

function foundId(m: RouteMatch<Routable>): string {
  assert.equal(m.kind, 'found', JSON.stringify(m));
  return m.kind === 'found' ? m.route.id : '';
}

describe('RouteTable path matching', () => {
  const table = new RouteTable<Routable>([
    { id: 'root', path: '/', methods: ['GET'] },
    { id: 'list-orders', path: '/v1/orders', methods: ['GET', 'POST'] },
    { id: 'get-order', path: '/v1/orders/{orderId}', methods: ['GET', 'DELETE'] },
    { id: 'order-items', path: '/v1/orders/{orderId}/items/{itemId}', methods: ['GET'] },
    { id: 'current-user', path: '/v1/users/me', methods: ['GET'] },
    { id: 'user', path: '/v1/users/{userId}', methods: ['GET'] },
    { id: 'files', path: '/files/{rest*}', methods: ['GET'] },
    { id: 'assets', path: '/assets/**', methods: ['GET'] },
  ]);

  test('a literal path finds its route with no params', () => {
    const m = lookup(table, 'GET', '/v1/orders');
    assert.equal(foundId(m), 'list-orders');
    assert.deepEqual(m.kind === 'found' && m.params, {});
  });

  test('the root path finds the root route', () => {
    assert.equal(foundId(lookup(table, 'GET', '/')), 'root');
  });

  test('parameters are captured by name', () => {
    const m = lookup(table, 'GET', '/v1/orders/A-17/items/3');
    assert.equal(foundId(m), 'order-items');
    assert.deepEqual(m.kind === 'found' && m.params, { orderId: 'A-17', itemId: '3' });
  });

  test('a parameter receives the decoded segment', () => {
    const m = lookup(table, 'GET', '/v1/orders/caf%C3%A9');
    assert.deepEqual(m.kind === 'found' && m.params, { orderId: 'café' });
  });

  test('a literal segment wins over a parameter at the same position', () => {
    assert.equal(foundId(lookup(table, 'GET', '/v1/users/me')), 'current-user');
    const m = lookup(table, 'GET', '/v1/users/u-9');
    assert.equal(foundId(m), 'user');
    assert.deepEqual(m.kind === 'found' && m.params, { userId: 'u-9' });
  });

  test('a parameter does not match an empty segment', () => {
    assert.equal(lookup(table, 'GET', '/v1/orders/').kind, 'not_found');
  });

  test('a {rest*} wildcard captures the remaining segments joined by /', () => {
    const m = lookup(table, 'GET', '/files/a/b/c.txt');
    assert.equal(foundId(m), 'files');
    assert.deepEqual(m.kind === 'found' && m.params, { rest: 'a/b/c.txt' });
  });

  test('a ** wildcard captures the remaining segments under the name rest', () => {
    const m = lookup(table, 'GET', '/assets/css/site.css');
    assert.equal(foundId(m), 'assets');
    assert.deepEqual(m.kind === 'found' && m.params, { rest: 'css/site.css' });
  });

  test('a path that matches no pattern is not found, with the nearest route as a hint', () => {
    const m = lookup(table, 'GET', '/v1/orders/7/invoices');
    assert.equal(m.kind, 'not_found');
    assert.equal(m.kind === 'not_found' && m.nearest, 'get-order');
    assert.match(m.kind === 'not_found' ? m.why : '', /no route/);
  });

  test('a path with nothing in common with any route has no nearest route', () => {
    const m = lookup(table, 'GET', '/nothing/here');
    assert.deepEqual(m.kind === 'not_found' && m.nearest, null);
  });

  test('a failed deeper match leaves no stray params behind', () => {
    const t = new RouteTable<Routable>([
      { id: 'deep', path: '/{a}/x/{b}', methods: ['GET'] },
      { id: 'shallow', path: '/{a}/y', methods: ['GET'] },
    ]);
    const m = lookup(t, 'GET', '/1/y');
    assert.equal(foundId(m), 'shallow');
    assert.deepEqual(m.kind === 'found' && m.params, { a: '1' });
  });
});

describe('RouteTable 404 versus 405', () => {
  const table = new RouteTable<Routable>([
    { id: 'read-order', path: '/v1/orders/{id}', methods: ['GET', 'HEAD'] },
    { id: 'change-order', path: '/v1/orders/{id}', methods: ['PATCH', 'DELETE'] },
    { id: 'replace-order', path: '/v1/orders/{id}', methods: ['PUT', 'GET'], headers: { 'x-api-version': '2' } },
  ]);

  test('a known path with an unserved method is 405 with the allow list in declared order', () => {
    const m = lookup(table, 'POST', '/v1/orders/9');
    assert.equal(m.kind, 'method_not_allowed');
    assert.deepEqual(m.kind === 'method_not_allowed' && m.allow, ['GET', 'HEAD', 'PATCH', 'DELETE', 'PUT']);
    assert.deepEqual(m.kind === 'method_not_allowed' && m.routeIds, ['read-order', 'change-order', 'replace-order']);
  });

  test('methods are matched exactly, so a lower-case method is not allowed', () => {
    assert.equal(lookup(table, 'get', '/v1/orders/9').kind, 'method_not_allowed');
  });

  test('an unknown path is 404, not 405', () => {
    assert.equal(lookup(table, 'POST', '/v1/customers/9').kind, 'not_found');
  });
});

describe('RouteTable header-conditioned routes', () => {
  const v1 = { id: 'orders-v1', path: '/orders', methods: ['GET'] };
  const v2 = { id: 'orders-v2', path: '/orders', methods: ['GET'], headers: { 'API-Version': '2' } };

  test('a request carrying the API version header gets the versioned route', () => {
    const table = new RouteTable<Routable>([v2, v1]);
    assert.equal(foundId(lookup(table, 'GET', '/orders', undefined, { 'api-version': '2' })), 'orders-v2');
  });

  test('a versioned route declared after an unconditioned one is still reachable', () => {
    const table = new RouteTable<Routable>([v1, v2]);
    assert.equal(foundId(lookup(table, 'GET', '/orders', undefined, { 'api-version': '2' })), 'orders-v2');
  });

  test('a request without the header, or with another value, falls back to the unconditioned route', () => {
    const table = new RouteTable<Routable>([v2, v1]);
    assert.equal(foundId(lookup(table, 'GET', '/orders')), 'orders-v1');
    assert.equal(foundId(lookup(table, 'GET', '/orders', undefined, { 'api-version': '3' })), 'orders-v1');
  });

  test('with only a versioned route, a request without the header is 404 naming the required header', () => {
    const table = new RouteTable<Routable>([v2]);
    const m = lookup(table, 'GET', '/orders');
    assert.equal(m.kind, 'not_found');
    assert.equal(m.kind === 'not_found' && m.nearest, 'orders-v2');
    assert.match(m.kind === 'not_found' ? m.why : '', /orders-v2.*API-Version: 2/);
  });

  test('a header value must match exactly', () => {
    const table = new RouteTable<Routable>([v2]);
    assert.equal(lookup(table, 'GET', '/orders', undefined, { 'api-version': '2.0' }).kind, 'not_found');
    assert.equal(lookup(table, 'GET', '/orders', undefined, { 'api-version': ['2', '2'] }).kind, 'not_found');
  });

  test('every required header must be present', () => {
    const table = new RouteTable<Routable>([{ id: 'both', path: '/x', methods: ['GET'], headers: { 'x-a': '1', 'x-b': '2' } }]);
    assert.equal(lookup(table, 'GET', '/x', undefined, { 'x-a': '1' }).kind, 'not_found');
    assert.equal(foundId(lookup(table, 'GET', '/x', undefined, { 'x-a': '1', 'x-b': '2' })), 'both');
  });
});

describe('RouteTable host-specific routes', () => {
  const table = new RouteTable<Routable>([
    { id: 'admin-status', path: '/status', methods: ['GET'], host: 'Admin.Example.com' },
    { id: 'public-status', path: '/status', methods: ['GET'] },
    { id: 'admin-only', path: '/config', methods: ['GET'], host: 'admin.example.com' },
    { id: 'v6-host', path: '/v6', methods: ['GET'], host: '[::1]' },
  ]);

  test('a request for the route host gets the host-specific route, ignoring case and port', () => {
    assert.equal(foundId(lookup(table, 'GET', '/status', 'admin.example.com')), 'admin-status');
    assert.equal(foundId(lookup(table, 'GET', '/status', 'ADMIN.example.com:8443')), 'admin-status');
  });

  test('another host gets the route that serves any host', () => {
    assert.equal(foundId(lookup(table, 'GET', '/status', 'www.example.com')), 'public-status');
    assert.equal(foundId(lookup(table, 'GET', '/status', undefined)), 'public-status');
  });

  test('a host-specific route is not served on other hosts', () => {
    assert.equal(lookup(table, 'GET', '/config', 'www.example.com').kind, 'not_found');
    assert.equal(lookup(table, 'GET', '/config', undefined).kind, 'not_found');
    assert.equal(foundId(lookup(table, 'GET', '/config', 'admin.example.com')), 'admin-only');
  });

  test('a bracketed IPv6 host with a port matches its route', () => {
    assert.equal(foundId(lookup(table, 'GET', '/v6', '[::1]:8080')), 'v6-host');
  });
});

describe('RouteTable refuses ambiguous tables', () => {
  function refusal(routes: Routable[]): string {
    let message = '';
    assert.throws(() => new RouteTable(routes), (err: unknown) => {
      assert.ok(err instanceof RouteTableError);
      message = err.message;
      return true;
    });
    return message;
  }

  test('two routes serving the same method on the same path are a duplicate', () => {
    const msg = refusal([
      { id: 'a', path: '/orders', methods: ['GET', 'POST'] },
      { id: 'b', path: '/orders', methods: ['DELETE', 'POST'] },
    ]);
    assert.match(msg, /a and b both serve POST \/orders/);
  });

  test('parameter names do not disguise a duplicate pattern', () => {
    assert.throws(() => new RouteTable<Routable>([
      { id: 'a', path: '/orders/{id}', methods: ['GET'] },
      { id: 'b', path: '/orders/{id}', methods: ['GET'] },
    ]), RouteTableError);
  });

  test('two wildcard routes serving the same method on the same prefix are a duplicate', () => {
    assert.match(refusal([
      { id: 'a', path: '/files/{rest*}', methods: ['GET'] },
      { id: 'b', path: '/files/{rest*}', methods: ['GET'] },
    ]), /a and b both serve GET/);
  });

  test('routes requiring the same headers, spelled in another case or order, are a duplicate', () => {
    assert.match(refusal([
      { id: 'a', path: '/orders', methods: ['GET'], headers: { 'API-Version': '2', 'x-tenant': 't' } },
      { id: 'b', path: '/orders', methods: ['GET'], headers: { 'x-tenant': 't', 'api-version': '2' } },
    ]), /a and b both serve GET/);
  });

  test('the same path with different methods, headers or hosts is not a duplicate', () => {
    const table = new RouteTable<Routable>([
      { id: 'read', path: '/orders', methods: ['GET'] },
      { id: 'write', path: '/orders', methods: ['POST'] },
      { id: 'read-v2', path: '/orders', methods: ['GET'], headers: { 'api-version': '2' } },
      { id: 'read-admin', path: '/orders', methods: ['GET'], host: 'admin.example.com' },
      { id: 'files-read', path: '/files/{rest*}', methods: ['GET'] },
      { id: 'files-write', path: '/files/{rest*}', methods: ['PUT'] },
    ]);
    assert.equal(foundId(lookup(table, 'POST', '/orders')), 'write');
    assert.equal(foundId(lookup(table, 'PUT', '/files/a')), 'files-write');
  });

  test('different parameter names at the same position are refused', () => {
    assert.match(refusal([
      { id: 'a', path: '/orders/{id}', methods: ['GET'] },
      { id: 'b', path: '/orders/{orderId}/items', methods: ['GET'] },
    ]), /\{orderId\} conflicts with \{id\}/);
  });

  test('different wildcard names at the same position are refused', () => {
    assert.match(refusal([
      { id: 'a', path: '/files/{rest*}', methods: ['GET'] },
      { id: 'b', path: '/files/{path*}', methods: ['PUT'] },
    ]), /\{path\*\} conflicts with \{rest\*\}/);
  });

  test('a wildcard that is not the last segment is refused', () => {
    assert.match(refusal([{ id: 'a', path: '/files/{rest*}/meta', methods: ['GET'] }]), /last one/);
  });

  test('a segment mixing text and a parameter is refused', () => {
    assert.match(refusal([{ id: 'a', path: '/orders/v{version}', methods: ['GET'] }]), /mixes text and a parameter/);
  });
});
