import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CidrSet } from '../../src/net/cidr-set.ts';
import { resolveClientIp } from '../../src/net/client-ip.ts';

// The gateway sits behind a load balancer at 10.0.0.1 and an internal proxy at 10.0.0.2.
const proxies = new CidrSet(['10.0.0.0/24', 'fd00::/8']);

describe('resolveClientIp without a trusted proxy', () => {
  test('X-Forwarded-For is ignored when no proxies are trusted', () => {
    assert.deepEqual(resolveClientIp('198.51.100.4', '203.0.113.9', null), { ip: '198.51.100.4', via: 'peer' });
    assert.deepEqual(resolveClientIp('198.51.100.4', '203.0.113.9', new CidrSet([])), { ip: '198.51.100.4', via: 'peer' });
  });

  test('X-Forwarded-For sent directly by an untrusted peer is ignored', () => {
    assert.deepEqual(resolveClientIp('198.51.100.4', '10.0.0.9', proxies), { ip: '198.51.100.4', via: 'peer' });
  });

  test('a trusted peer without X-Forwarded-For is itself the client', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', undefined, proxies), { ip: '10.0.0.1', via: 'peer' });
  });

  test('an IPv4-mapped peer address is reported as plain IPv4', () => {
    assert.deepEqual(resolveClientIp('::ffff:198.51.100.4', undefined, proxies), { ip: '198.51.100.4', via: 'peer' });
  });
});

describe('resolveClientIp through trusted proxies', () => {
  test('the rightmost X-Forwarded-For entry added by a trusted peer is the client', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '203.0.113.9', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });

  test('a forged leftmost X-Forwarded-For entry is ignored', () => {
    // The client sent "X-Forwarded-For: 10.0.0.5" hoping to look internal; the proxy appended its real address.
    assert.deepEqual(resolveClientIp('10.0.0.1', '10.0.0.5, 203.0.113.9', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
    assert.deepEqual(resolveClientIp('10.0.0.1', '1.1.1.1, 8.8.8.8, 203.0.113.9', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });

  test('the walk goes right to left through every trusted hop to the first untrusted one', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '6.6.6.6, 203.0.113.9, 10.0.0.2', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });

  test('when every hop is trusted the leftmost entry is the client', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '10.0.0.3, 10.0.0.2', proxies), { ip: '10.0.0.3', via: 'x-forwarded-for' });
  });

  test('a trusted peer given an IPv4-mapped address is still recognized as a proxy', () => {
    assert.deepEqual(resolveClientIp('::ffff:10.0.0.1', '203.0.113.9', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });

  test('IPv6 hops are walked like IPv4 ones', () => {
    assert.deepEqual(resolveClientIp('fd00::1', '2001:db8::7, fd00::2', proxies), { ip: '2001:db8::7', via: 'x-forwarded-for' });
  });

  test('an IPv4-mapped X-Forwarded-For entry is reported as plain IPv4', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '::ffff:203.0.113.9', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });

  test('whitespace around entries does not matter', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '  6.6.6.6 ,203.0.113.9 ,   10.0.0.2  ', proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });

  test('several X-Forwarded-For header lines are read as one list in order', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', ['6.6.6.6, 203.0.113.9', '10.0.0.2'], proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
    assert.deepEqual(resolveClientIp('10.0.0.1', ['10.0.0.2', '203.0.113.9'], proxies), { ip: '203.0.113.9', via: 'x-forwarded-for' });
  });
});

describe('resolveClientIp with garbage X-Forwarded-For entries', () => {
  test('a garbage rightmost entry leaves the trusted peer as the client', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '203.0.113.9, unknown', proxies), { ip: '10.0.0.1', via: 'peer' });
  });

  test('an entry with a port is not an address and stops the walk', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '203.0.113.9:4711', proxies), { ip: '10.0.0.1', via: 'peer' });
  });

  test('garbage behind a trusted hop stops the walk at that hop rather than reaching further left', () => {
    const got = resolveClientIp('10.0.0.1', '203.0.113.9, <script>, 10.0.0.2', proxies);
    assert.deepEqual(got, { ip: '10.0.0.2', via: 'x-forwarded-for' });
  });

  test('an empty entry stops the walk', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '203.0.113.9,,10.0.0.2', proxies), { ip: '10.0.0.2', via: 'x-forwarded-for' });
  });

  test('an empty header leaves the peer as the client', () => {
    assert.deepEqual(resolveClientIp('10.0.0.1', '', proxies), { ip: '10.0.0.1', via: 'peer' });
    assert.deepEqual(resolveClientIp('10.0.0.1', [], proxies), { ip: '10.0.0.1', via: 'peer' });
  });
});
