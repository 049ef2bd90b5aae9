import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthFailureThrottle, authThrottleSchema, clientKey } from '../../src/limits/auth-failure-throttle.ts';
import { adminSchema } from '../../src/admin/config.ts';

// The throttle's bookkeeping with an injected clock; the HTTP behaviour is in
// test/admin/brute-force.test.ts and test/identity/client-auth-throttle.test.ts.

const settings = { maxFailures: 3, windowSeconds: 60, globalMaxFailures: 1_000, maxTrackedClients: 1_000 };

test('memory stays bounded: 50,000 failing addresses leave at most maxTrackedClients tracked', () => {
  const t = new AuthFailureThrottle('admin', settings);
  for (let i = 0; i < 50_000; i++) t.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1_000);
  assert.equal(t.trackedClients, 1_000);
});

test('the least recently seen client is the one forgotten, so an active guesser stays locked', () => {
  const t = new AuthFailureThrottle('admin', { ...settings, maxTrackedClients: 10, globalMaxFailures: 1_000_000 });
  for (let i = 0; i < 3; i++) t.failed('192.0.2.1', 0);
  for (let i = 0; i < 100; i++) {
    t.failed(`198.51.100.${i}`, 1);
    assert.ok(t.refusal('192.0.2.1', 2), `still locked after ${i} other clients`);
  }
});

test('an IPv6 client is counted per /64, and an IPv4-mapped address as its IPv4 address', () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('::ffff:10.0.0.1'), '10.0.0.1');
  const t = new AuthFailureThrottle('token-service', settings);
  t.failed('2001:db8:1:2::1', 0);
  t.failed('2001:db8:1:2::2', 0);
  t.failed('2001:db8:1:2:ffff:ffff:ffff:ffff', 0);
  assert.equal(t.refusal('2001:db8:1:2::99', 1)?.scope, 'client');
  assert.equal(t.refusal('2001:db8:1:3::1', 1), null);
});

test('a lock lasts one window from the failure that started it, with Retry-After rounded up', () => {
  const t = new AuthFailureThrottle('admin', { ...settings, windowSeconds: 10 });
  t.failed('192.0.2.7', 0);
  t.failed('192.0.2.7', 4_000);
  const lock = t.failed('192.0.2.7', 5_000);
  assert.equal(lock?.scope, 'client');
  assert.equal(lock?.retryAfterSeconds, 10);
  assert.equal(t.refusal('192.0.2.7', 5_001)?.retryAfterSeconds, 10);
  assert.equal(t.refusal('192.0.2.7', 14_100)?.retryAfterSeconds, 1);
  assert.equal(t.refusal('192.0.2.7', 15_000), null);
});

test('failures older than the window are forgotten: slow, legitimate mistakes never lock', () => {
  const t = new AuthFailureThrottle('admin', { ...settings, windowSeconds: 10 });
  for (let i = 0; i < 20; i++) assert.equal(t.failed('192.0.2.8', i * 6_000), null);
  assert.equal(t.refusal('192.0.2.8', 200_000), null);
});

test('settings are validated: no zero limits, no zero window; defaults fill what is left out', () => {
  const schema = authThrottleSchema(settings);
  assert.equal(schema.safeParse({ maxFailures: 0 }).success, false);
  assert.equal(schema.safeParse({ windowSeconds: 0 }).success, false);
  assert.equal(schema.safeParse({ maxTrackedClients: -1 }).success, false);
  assert.deepEqual(schema.parse({ maxFailures: 7 }), { ...settings, maxFailures: 7 });
  const admin = adminSchema.parse({});
  assert.deepEqual(admin.authThrottle, { maxFailures: 10, windowSeconds: 300, globalMaxFailures: 100, maxTrackedClients: 10_000 });
  assert.equal(adminSchema.safeParse({ trustedOrigins: ['https://admin.example.com/console'] }).success, false);
});
