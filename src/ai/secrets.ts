// Provider keys are resolved from references (`env://NAME`, `vault://<vault>/<secret>`) at
// request time, through a SecretSource, and cached for a short TTL: they never sit in the
// config file, the trace or the log. The vault's implementation plugs in by registering a
// source for the `vault` scheme (see docs/ai-gateway.md).

export interface SecretSource {
  /** The scheme this source answers for, e.g. `env` or `vault`. */
  readonly scheme: string;
  /** Resolves a full reference (`env://NAME`); rejects with SecretUnavailable when it cannot. */
  resolve(reference: string): Promise<string>;
}

export class SecretUnavailable extends Error {
  readonly reference: string;
  constructor(reference: string, why: string) {
    super(`${reference}: ${why}`);
    this.name = 'SecretUnavailable';
    this.reference = reference;
  }
}

/** `env://NAME`: the gateway process's environment. */
export class EnvSecretSource implements SecretSource {
  readonly scheme = 'env';
  readonly #env: NodeJS.ProcessEnv;
  constructor(env: NodeJS.ProcessEnv = process.env) { this.#env = env; }
  resolve(reference: string): Promise<string> {
    const name = reference.slice('env://'.length);
    const value = this.#env[name];
    if (value === undefined || value === '') return Promise.reject(new SecretUnavailable(reference, `environment variable ${name} is not set`));
    return Promise.resolve(value);
  }
}

interface Cached { value: string; until: number }

/**
 * Dispatches a reference to the source of its scheme and keeps each answer for `ttlMs`;
 * concurrent first requests share one lookup, and a failed lookup is not cached.
 */
export class SecretResolver {
  readonly #sources = new Map<string, SecretSource>();
  readonly #cache = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<string>>();
  readonly #now: () => number;

  constructor(sources: readonly SecretSource[], now: () => number = Date.now) {
    for (const s of sources) this.#sources.set(s.scheme, s);
    this.#now = now;
  }

  register(source: SecretSource): void {
    this.#sources.set(source.scheme, source);
    for (const k of this.#cache.keys()) if (k.startsWith(`${source.scheme}://`)) this.#cache.delete(k);
  }

  hasScheme(scheme: string): boolean { return this.#sources.has(scheme); }

  schemes(): ReadonlySet<string> { return new Set(this.#sources.keys()); }

  resolve(reference: string, ttlMs: number): Promise<string> {
    const hit = this.#cache.get(reference);
    if (hit && hit.until > this.#now()) return Promise.resolve(hit.value);
    const inFlight = this.#pending.get(reference);
    if (inFlight) return inFlight;
    const scheme = reference.slice(0, Math.max(0, reference.indexOf('://')));
    const source = this.#sources.get(scheme);
    if (!source) return Promise.reject(new SecretUnavailable(reference, `no secret source for ${scheme}:// in this gateway`));
    const p = source.resolve(reference).then((value) => {
      if (ttlMs > 0) this.#cache.set(reference, { value, until: this.#now() + ttlMs });
      return value;
    }).finally(() => this.#pending.delete(reference));
    this.#pending.set(reference, p);
    return p;
  }
}
