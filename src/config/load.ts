import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Document } from 'yaml';
import type { ConfigLocation } from '../pipeline/types.ts';
import { configSchema, type PinpointConfig } from './schema.ts';

export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

/** Thrown at load only (never on the request path): every problem found, each located. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return `${where} ${p.path || '(document)'}: ${p.message}`;
}

export type PathSegment = string | number;

export interface LoadedConfig {
  readonly config: PinpointConfig;
  readonly file: string;
  readonly text: string;
  /** sha256 of the text: equal texts get the same config version. */
  readonly hash: string;
  locate(path: readonly PathSegment[]): ConfigLocation;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  return loadConfigText(text, file, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const display = basename(file);
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { file: display, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` };
    }));
  }
  const locate = (path: readonly PathSegment[]): ConfigLocation => {
    const { line } = positionOf(doc, lineCounter, path);
    return { file: display, line, path: formatPath(path) };
  };
  const unset = interpolateEnv(doc, env).map(({ node, path, name }): ConfigProblem => {
    const pos = node.range ? lineCounter.linePos(node.range[0]) : positionOf(doc, lineCounter, path);
    return { file: display, line: pos.line, column: pos.col, path: formatPath(path), message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` };
  });
  if (unset.length > 0) throw new ConfigError(unset);
  const raw: unknown = toPlainData(doc, lineCounter, display);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => {
      const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
      const pos = positionOf(doc, lineCounter, path);
      return { file: display, line: pos.line, column: pos.col, path: formatPath(path), message: describeIssue(issue, raw, path) };
    }));
  }
  const hash = createHash('sha256').update(text).digest('hex');
  return { config: parsed.data, file, text, hash, locate };
}

/**
 * yaml resolves aliases only when converting to plain data, and reports an alias to an
 * unknown anchor, or an alias bomb ("billion laughs", past maxAliasCount), by throwing a
 * ReferenceError: turned here into a located problem like any other.
 */
function toPlainData(doc: Document, lc: LineCounter, display: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    let at: { line: number; col: number } = { line: 1, col: 1 };
    visit(doc, { Alias(_key, node) { if (node.range) { at = lc.linePos(node.range[0]); return visit.BREAK; } return undefined; } });
    throw new ConfigError([{ file: display, line: at.line, column: at.col, path: '', message: `YAML aliases: ${(err as Error).message.split('\n')[0]}` }]);
  }
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

function positionOf(doc: Document, lc: LineCounter, path: readonly PathSegment[]): { line: number; col: number } {
  // Walk up until a node exists: a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if ((isMap(node) || isSeq(node) || isScalar(node)) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, col: pos.col };
    }
  }
  return { line: 1, col: 1 };
}

function describeIssue(issue: { code: string; message: string }, raw: unknown, path: readonly PathSegment[]): string {
  let got: unknown = raw;
  for (const seg of path) got = got && typeof got === 'object' ? (got as Record<string | number, unknown>)[seg] : undefined;
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 60);
  if (issue.code === 'unrecognized_keys') return issue.message;
  return `${issue.message}; got ${shown}`;
}

const envPattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

interface UnsetVariable { readonly node: Scalar; readonly path: PathSegment[]; readonly name: string }

/**
 * Substitutes ${VAR} and ${VAR:-default} in scalar values (never in keys), in place. An
 * unquoted scalar then reads as if the value had been written there, so `port: ${PORT}`
 * is a number; a quoted one stays a string. Only numbers and booleans are recognized:
 * an environment value never adds structure to the config.
 */
function interpolateEnv(doc: Document, env: NodeJS.ProcessEnv): UnsetVariable[] {
  const unset: UnsetVariable[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const path = pathTo(ancestors, node);
      const text = node.value.replace(envPattern, (_m, name: string, fallback: string | undefined) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        unset.push({ node, path, name });
        return '';
      });
      node.value = node.type === Scalar.PLAIN ? plainValue(text) : text;
    },
  });
  return unset;
}

function plainValue(text: string): string | number | boolean {
  if (/^[-+]?(?:\d+|\d*\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) return Number(text);
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  return text;
}

function pathTo(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const chain = [...ancestors, node];
  const path: PathSegment[] = [];
  for (let i = 0; i < chain.length - 1; i++) {
    const a = chain[i];
    const next = chain[i + 1];
    if (isSeq(a)) path.push(a.items.indexOf(next as never));
    else if (isPair(a) && a.value === next) path.push(isScalar(a.key) ? String(a.key.value) : String(a.key));
  }
  return path;
}
