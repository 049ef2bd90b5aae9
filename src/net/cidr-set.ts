import { isIPv4, isIPv6 } from 'node:net';

// A binary trie of CIDR prefixes per address family: a lookup walks at most 32 or 128
// bits, whatever the size of the list, so a 10,000-entry allow-list costs what a
// 1-entry one does.

interface TrieNode {
  zero: TrieNode | null;
  one: TrieNode | null;
  /** The CIDR as written in the config, when a prefix ends here. */
  entry: string | null;
  /** Its position in the list, so that the first listed match wins over a longer prefix. */
  order: number;
}

const newNode = (): TrieNode => ({ zero: null, one: null, entry: null, order: -1 });

export class CidrError extends Error {}

export class CidrSet {
  private readonly v4 = newNode();
  private readonly v6 = newNode();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    cidrs.forEach((cidr, i) => this.add(cidr, i));
    this.size = cidrs.length;
  }

  /** The first listed CIDR that contains `ip`, or null. `ip` must be a valid address. */
  match(ip: string): string | null {
    const bytes = parseAddress(ip);
    if (!bytes) return null;
    let node: TrieNode | null = bytes.length === 4 ? this.v4 : this.v6;
    const bits = bytes.length * 8;
    let best: TrieNode | null = null;
    for (let i = 0; node; i++) {
      if (node.entry !== null && (best === null || node.order < best.order)) best = node;
      if (i === bits) break;
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      node = bit ? node.one : node.zero;
    }
    return best?.entry ?? null;
  }

  private add(cidr: string, order: number): void {
    const slash = cidr.indexOf('/');
    const addr = slash === -1 ? cidr : cidr.slice(0, slash);
    const bytes = parseAddress(addr);
    if (!bytes) throw new CidrError(`"${cidr}" is not an IPv4 or IPv6 address or CIDR`);
    // An IPv4-mapped IPv6 CIDR (::ffff:10.0.0.0/104) is written with a 128-bit prefix but
    // stored in the IPv4 trie, where every mapped address is looked up.
    const mapped = bytes.length === 4 && !isIPv4(addr);
    const max = mapped ? 128 : bytes.length * 8;
    const prefixText = cidr.slice(slash + 1);
    let prefix = slash === -1 ? max : Number(prefixText);
    if (slash !== -1 && !/^\d{1,3}$/.test(prefixText) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new CidrError(`"${cidr}" has an invalid prefix length (0-${max})`);
    }
    if (mapped) {
      if (prefix < 96) throw new CidrError(`"${cidr}" is an IPv4-mapped address with a prefix shorter than /96; list IPv4 and IPv6 ranges separately`);
      prefix -= 96;
    }
    let node = bytes.length === 4 ? this.v4 : this.v6;
    for (let i = 0; i < prefix; i++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      const next = bit ? node.one : node.zero;
      if (next) node = next;
      else {
        const created = newNode();
        if (bit) node.one = created; else node.zero = created;
        node = created;
      }
    }
    if (node.entry === null) { node.entry = cidr; node.order = order; }
  }
}

/**
 * Bytes of an address; IPv4-mapped IPv6 (::ffff:a.b.c.d, as Node reports IPv4 peers on
 * dual-stack sockets) becomes its IPv4 form so one rule covers both spellings.
 */
export function parseAddress(ip: string): Uint8Array | null {
  if (isIPv4(ip)) return parseV4(ip);
  const zone = ip.indexOf('%');
  const bare = zone === -1 ? ip : ip.slice(0, zone);
  if (!isIPv6(bare)) return null;
  const v6 = parseV6(bare);
  if (v6 && isV4Mapped(v6)) return v6.subarray(12);
  return v6;
}

function parseV4(ip: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = ip.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function parseV6(ip: string): Uint8Array | null {
  const out = new Uint8Array(16);
  let head = ip;
  let tailV4: Uint8Array | null = null;
  const lastColon = ip.lastIndexOf(':');
  const maybeV4 = ip.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    if (!isIPv4(maybeV4)) return null;
    tailV4 = parseV4(maybeV4);
    head = ip.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right !== undefined && right !== '' ? right.split(':') : [];
  const groups = new Array<number>(8).fill(0);
  for (let i = 0; i < l.length; i++) groups[i] = parseInt(l[i]!, 16);
  for (let i = 0; i < r.length; i++) groups[8 - r.length + i] = parseInt(r[i]!, 16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (groups[i]! >> 8) & 0xff;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  if (tailV4) out.set(tailV4, 12);
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * The canonical text of an address for logs, evidence and limit keys: IPv4-mapped shown
 * as IPv4 in whatever spelling it came (::FFFF:a.b.c.d, ::ffff:0a00:0001), so one client
 * cannot appear as several.
 */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip) || !ip.includes(':')) return ip;
  const bytes = parseAddress(ip);
  return bytes !== null && bytes.length === 4 ? bytes.join('.') : ip;
}
