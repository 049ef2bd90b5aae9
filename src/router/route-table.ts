// A segment trie: lookup cost depends on the path's depth, not on the number of routes.

export interface Routable {
  readonly id: string;
  readonly path: string;
  readonly methods: readonly string[];
  readonly host?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export type RouteMatch<R extends Routable> =
  | { readonly kind: 'found'; readonly route: R; readonly params: Record<string, string> }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[]; readonly routeIds: readonly string[] }
  | { readonly kind: 'not_found'; readonly nearest: string | null; readonly why: string };

interface TrieNode<R> {
  readonly literal: Map<string, TrieNode<R>>;
  param: { readonly name: string; readonly node: TrieNode<R> } | null;
  wildcard: { readonly name: string; readonly routes: R[] } | null;
  routes: R[];
}

const newNode = <R>(): TrieNode<R> => ({ literal: new Map(), param: null, wildcard: null, routes: [] });

export class RouteTableError extends Error {}

export class RouteTable<R extends Routable> {
  private readonly byHost = new Map<string, TrieNode<R>>();
  private readonly anyHost = newNode<R>();

  constructor(routes: readonly R[]) {
    for (const route of routes) this.insert(route);
  }

  match(method: string, segments: readonly string[], host: string | undefined, headers: Readonly<Record<string, string | string[] | undefined>>): RouteMatch<R> {
    const hostName = host ? stripPort(host).toLowerCase() : undefined;
    const hostTrie = hostName ? this.byHost.get(hostName) : undefined;
    const params: Record<string, string> = {};
    const candidates = (hostTrie && find(hostTrie, segments, 0, params)) || find(this.anyHost, segments, 0, params);
    if (!candidates) return { kind: 'not_found', nearest: this.nearest(segments), why: 'no route pattern matches the path' };
    // A route conditioned on headers is more specific than one that is not, whatever the
    // declared order; otherwise an unconditioned route declared first would shadow it.
    let headerMiss: R | null = null;
    let unconditioned: R | null = null;
    for (const route of candidates) {
      if (!route.methods.includes(method)) continue;
      if (!route.headers || Object.keys(route.headers).length === 0) { unconditioned ??= route; continue; }
      if (!headersMatch(route.headers, headers)) { headerMiss ??= route; continue; }
      return { kind: 'found', route, params };
    }
    if (unconditioned) return { kind: 'found', route: unconditioned, params };
    if (headerMiss) {
      const wanted = Object.entries(headerMiss.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ');
      return { kind: 'not_found', nearest: headerMiss.id, why: `the path matches route ${headerMiss.id}, which requires ${wanted}` };
    }
    const allow: string[] = [];
    for (const route of candidates) for (const m of route.methods) if (!allow.includes(m)) allow.push(m);
    return { kind: 'method_not_allowed', allow, routeIds: candidates.map((r) => r.id) };
  }

  private insert(route: R): void {
    const root = route.host ? this.hostRoot(route.host.toLowerCase()) : this.anyHost;
    const parts = route.path.split('/').slice(1);
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const wild = /^\{([A-Za-z_][A-Za-z0-9_]*)\*\}$/.exec(part) ?? (part === '**' ? [part, 'rest'] : null);
      if (wild) {
        if (i !== parts.length - 1) throw new RouteTableError(`route ${route.id}: a wildcard segment must be the last one`);
        if (node.wildcard && node.wildcard.name !== wild[1]) {
          throw new RouteTableError(`route ${route.id}: wildcard {${wild[1]}*} conflicts with {${node.wildcard.name}*} at the same position`);
        }
        node.wildcard ??= { name: wild[1]!, routes: [] };
        addUnique(node.wildcard.routes, route);
        return;
      }
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
      if (param) {
        if (node.param && node.param.name !== param[1]) {
          throw new RouteTableError(`route ${route.id}: parameter {${param[1]}} conflicts with {${node.param.name}} at the same position`);
        }
        node.param ??= { name: param[1]!, node: newNode<R>() };
        node = node.param.node;
      } else {
        if (part.includes('{') || part.includes('}')) throw new RouteTableError(`route ${route.id}: "${part}" mixes text and a parameter; use a whole segment {name}`);
        let next = node.literal.get(part);
        if (!next) { next = newNode<R>(); node.literal.set(part, next); }
        node = next;
      }
    }
    addUnique(node.routes, route);
  }

  private hostRoot(host: string): TrieNode<R> {
    let root = this.byHost.get(host);
    if (!root) { root = newNode<R>(); this.byHost.set(host, root); }
    return root;
  }

  /** The route whose literal prefix shares the most segments with the path: a hint for explain. */
  private nearest(segments: readonly string[]): string | null {
    let node: TrieNode<R> | undefined = this.anyHost;
    let best: string | null = null;
    for (const seg of segments) {
      node = node.literal.get(seg) ?? node.param?.node;
      if (!node) break;
      const r = node.routes[0] ?? node.wildcard?.routes[0];
      if (r) best = r.id;
    }
    return best;
  }
}

/** Two routes on one pattern may share a method only if they require different headers. */
function addUnique<R extends Routable>(routes: R[], route: R): void {
  const key = headerKey(route.headers);
  for (const existing of routes) {
    for (const m of route.methods) {
      if (existing.methods.includes(m) && headerKey(existing.headers) === key) {
        throw new RouteTableError(`routes ${existing.id} and ${route.id} both serve ${m} ${route.path}`);
      }
    }
  }
  routes.push(route);
}

/** Header names are case-insensitive and their order in the config does not matter. */
function headerKey(headers: Readonly<Record<string, string>> | undefined): string {
  return JSON.stringify(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0)));
}

function find<R>(node: TrieNode<R>, segments: readonly string[], i: number, params: Record<string, string>): R[] | null {
  if (i === segments.length) return node.routes.length > 0 ? node.routes : null;
  const seg = segments[i]!;
  const lit = node.literal.get(seg);
  if (lit) {
    const found = find(lit, segments, i + 1, params);
    if (found) return found;
  }
  if (node.param && seg !== '') {
    const found = find(node.param.node, segments, i + 1, params);
    if (found) { params[node.param.name] = seg; return found; }
  }
  if (node.wildcard) {
    params[node.wildcard.name] = segments.slice(i).join('/');
    return node.wildcard.routes;
  }
  return null;
}

function headersMatch(wanted: Readonly<Record<string, string>>, got: Readonly<Record<string, string | string[] | undefined>>): boolean {
  for (const name in wanted) if (got[name.toLowerCase()] !== wanted[name]) return false;
  return true;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
