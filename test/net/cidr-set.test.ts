import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CidrError, CidrSet, canonicalIp, parseAddress } from '../../src/net/cidr-set.ts';

describe('CidrSet with IPv4 ranges', () => {
  test('an address inside a /8 matches and one just outside does not', () => {
    const set = new CidrSet(['10.0.0.0/8']);
    assert.equal(set.match('10.0.0.0'), '10.0.0.0/8');
    assert.equal(set.match('10.255.255.255'), '10.0.0.0/8');
    assert.equal(set.match('9.255.255.255'), null);
    assert.equal(set.match('11.0.0.0'), null);
  });

  test('a prefix that does not fall on an octet boundary covers exactly its range', () => {
    const set = new CidrSet(['192.168.1.64/27']);
    assert.equal(set.match('192.168.1.63'), null);
    assert.equal(set.match('192.168.1.64'), '192.168.1.64/27');
    assert.equal(set.match('192.168.1.95'), '192.168.1.64/27');
    assert.equal(set.match('192.168.1.96'), null);
  });

  test('a /32 matches only its own address', () => {
    const set = new CidrSet(['203.0.113.7/32']);
    assert.equal(set.match('203.0.113.7'), '203.0.113.7/32');
    assert.equal(set.match('203.0.113.6'), null);
    assert.equal(set.match('203.0.113.8'), null);
  });

  test('a bare address without a prefix is a single-host entry', () => {
    const set = new CidrSet(['198.51.100.1']);
    assert.equal(set.match('198.51.100.1'), '198.51.100.1');
    assert.equal(set.match('198.51.100.2'), null);
  });

  test('0.0.0.0/0 matches every IPv4 address but no IPv6 address', () => {
    const set = new CidrSet(['0.0.0.0/0']);
    assert.equal(set.match('0.0.0.0'), '0.0.0.0/0');
    assert.equal(set.match('255.255.255.255'), '0.0.0.0/0');
    assert.equal(set.match('2001:db8::1'), null);
  });

  test('an empty set matches nothing and has size 0', () => {
    const set = new CidrSet([]);
    assert.equal(set.size, 0);
    assert.equal(set.match('10.0.0.1'), null);
  });

  test('size counts the listed entries', () => {
    assert.equal(new CidrSet(['10.0.0.0/8', '::1', '192.168.0.0/16']).size, 3);
  });
});

describe('CidrSet with IPv6 ranges', () => {
  test('an address inside a /32 documentation prefix matches and one outside does not', () => {
    const set = new CidrSet(['2001:db8::/32']);
    assert.equal(set.match('2001:db8::1'), '2001:db8::/32');
    assert.equal(set.match('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), '2001:db8::/32');
    assert.equal(set.match('2001:db9::1'), null);
  });

  test('a /128 matches only its own address, in any spelling', () => {
    const set = new CidrSet(['2001:db8::1/128']);
    assert.equal(set.match('2001:db8::1'), '2001:db8::1/128');
    assert.equal(set.match('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1/128');
    assert.equal(set.match('2001:DB8::1'), '2001:db8::1/128');
    assert.equal(set.match('2001:db8::2'), null);
  });

  test('::/0 matches every IPv6 address but no IPv4 address', () => {
    const set = new CidrSet(['::/0']);
    assert.equal(set.match('::1'), '::/0');
    assert.equal(set.match('fe80::1'), '::/0');
    assert.equal(set.match('10.0.0.1'), null);
  });

  test('a loopback entry ::1 does not match the unspecified address ::', () => {
    const set = new CidrSet(['::1']);
    assert.equal(set.match('::1'), '::1');
    assert.equal(set.match('::'), null);
  });

  test('a link-local address with a zone id matches its prefix', () => {
    const set = new CidrSet(['fe80::/10']);
    assert.equal(set.match('fe80::1%eth0'), 'fe80::/10');
    assert.equal(set.match('febf::1'), 'fe80::/10');
    assert.equal(set.match('fec0::1'), null);
  });

  test('an IPv6 address with an embedded dotted tail is read correctly', () => {
    const set = new CidrSet(['64:ff9b::/96']);
    assert.equal(set.match('64:ff9b::192.0.2.33'), '64:ff9b::/96');
    assert.equal(set.match('64:ff9c::192.0.2.33'), null);
  });
});

describe('CidrSet with IPv4-mapped IPv6 addresses', () => {
  test('an IPv4-mapped peer address matches an IPv4 rule', () => {
    const set = new CidrSet(['10.0.0.0/8']);
    assert.equal(set.match('::ffff:10.1.2.3'), '10.0.0.0/8');
    assert.equal(set.match('::FFFF:10.1.2.3'), '10.0.0.0/8');
    assert.equal(set.match('::ffff:11.1.2.3'), null);
  });

  test('an IPv4-mapped CIDR covers the same range as its IPv4 form', () => {
    const set = new CidrSet(['::ffff:10.0.0.0/104']);
    assert.equal(set.match('10.9.9.9'), '::ffff:10.0.0.0/104');
    assert.equal(set.match('::ffff:10.9.9.9'), '::ffff:10.0.0.0/104');
    assert.equal(set.match('11.0.0.0'), null);
  });

  test('an IPv4-mapped single address matches the plain IPv4 address', () => {
    const set = new CidrSet(['::ffff:192.0.2.1']);
    assert.equal(set.match('192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(set.match('192.0.2.2'), null);
  });

  test('an IPv4-mapped CIDR shorter than /96 is refused', () => {
    assert.throws(() => new CidrSet(['::ffff:10.0.0.0/95']), CidrError);
  });
});

describe('CidrSet with overlapping entries', () => {
  test('the first listed entry is reported even when a later one is more specific', () => {
    assert.equal(new CidrSet(['10.0.0.0/24', '10.0.0.0/8']).match('10.0.0.5'), '10.0.0.0/24');
    assert.equal(new CidrSet(['10.0.0.0/8', '10.0.0.0/24']).match('10.0.0.5'), '10.0.0.0/8');
  });

  test('a broader entry listed first is still reported for addresses outside the narrow one', () => {
    const set = new CidrSet(['10.0.0.0/24', '10.0.0.0/8']);
    assert.equal(set.match('10.1.0.5'), '10.0.0.0/8');
  });
});

describe('CidrSet refuses invalid entries', () => {
  const invalid = [
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '10.0.0.0/ 8',
    '10.0.0.0/1e1',
    '10.0.0.0/0x8',
    '10.0.0.0/8.0',
    '256.0.0.0/8',
    '10.0.0/8',
    'not-an-address',
    'example.com/24',
    '',
    '/8',
    '2001:db8:::1/64',
  ];
  for (const cidr of invalid) {
    test(`"${cidr}" throws a CidrError naming the entry`, () => {
      assert.throws(() => new CidrSet([cidr]), (err: unknown) => {
        assert.ok(err instanceof CidrError);
        assert.ok(err.message.includes(`"${cidr}"`), err.message);
        return true;
      });
    });
  }

  test('one invalid entry among valid ones still fails the whole set', () => {
    assert.throws(() => new CidrSet(['10.0.0.0/8', 'bogus', '::1']), CidrError);
  });
});

describe('CidrSet.match on input that is not an address', () => {
  test('garbage, an address with a port and an empty string match nothing', () => {
    const set = new CidrSet(['0.0.0.0/0', '::/0']);
    assert.equal(set.match('garbage'), null);
    assert.equal(set.match('1.2.3.4:80'), null);
    assert.equal(set.match(''), null);
    assert.equal(set.match('1.2.3'), null);
  });
});

describe('parseAddress', () => {
  test('an IPv4 address gives its four bytes', () => {
    assert.deepEqual([...parseAddress('192.0.2.255')!], [192, 0, 2, 255]);
  });

  test('an IPv6 address gives sixteen bytes with :: expanded', () => {
    assert.deepEqual([...parseAddress('2001:db8::ff01')!], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x01]);
  });

  test('an IPv4-mapped address, dotted or in hex, gives the four IPv4 bytes', () => {
    assert.deepEqual([...parseAddress('::ffff:192.0.2.1')!], [192, 0, 2, 1]);
    assert.deepEqual([...parseAddress('::ffff:c000:201')!], [192, 0, 2, 1]);
  });

  test('a non-address gives null', () => {
    assert.equal(parseAddress('10.0.0.256'), null);
    assert.equal(parseAddress('hello'), null);
  });
});

describe('canonicalIp', () => {
  test('an IPv4-mapped address is shown as plain IPv4 whatever its spelling', () => {
    assert.equal(canonicalIp('::ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(canonicalIp('::FFFF:203.0.113.9'), '203.0.113.9');
    assert.equal(canonicalIp('0:0:0:0:0:ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(canonicalIp('::ffff:cb00:7109'), '203.0.113.9');
  });

  test('plain IPv4 and ordinary IPv6 addresses are returned unchanged', () => {
    assert.equal(canonicalIp('203.0.113.9'), '203.0.113.9');
    assert.equal(canonicalIp('2001:db8::1'), '2001:db8::1');
    assert.equal(canonicalIp('::1'), '::1');
  });
});
