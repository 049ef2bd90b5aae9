import { patternRules } from './rules.ts';

// Which rules can possibly match a part, decided once per part: every needle of every
// rule is found in one pass over the normalized value (an Aho-Corasick automaton),
// and a rule is a candidate for the part when each of its needle groups has a hit. This
// is exactly the test `groups.every((g) => g.some((n) => value.includes(n)))`, at one
// table step per character instead of a substring search per needle, rule and part —
// what made a 64 KB body of a thousand strings cost milliseconds.
//
// Soundness rests on the rules: a rule's needles must be present in every string its
// pattern matches (test/waf/engine-equivalence.test.ts checks that the engine finds
// what running every pattern on every part finds).

export interface PartPrefilter {
  /** 32-bit words of needle-group bits per part. */
  readonly words: number;
  /** Writes the bits of the needle groups present in `text` to out[at * words ...]. */
  scan(text: string, out: Int32Array, at: number): void;
  /** scan() of every text, texts[i]'s bits at out[i * words ...]. */
  scanAll(texts: readonly string[], out: Int32Array): void;
  /** Whether rule `rule` (its index in the list given) can match a part whose bits are at out[at * words ...]. */
  admits(rule: number, bits: Int32Array, at: number): boolean;
}

type NeedleGroups = readonly (readonly string[])[];

let forPatternRules: PartPrefilter | null = null;

/**
 * One prefilter over every pattern rule, shared by all engines whatever rules they enable
 * (an engine asks only about its own): the scan costs the same for any number of needles,
 * and with a single instance in the process V8 keeps its scan loop tuned to it (a second
 * instance, for a route at another paranoia level, made the loop a fifth slower for both).
 */
export function patternRulesPrefilter(): PartPrefilter {
  forPatternRules ??= createPartPrefilter(patternRules.map((r) => r.needles));
  return forPatternRules;
}

export function createPartPrefilter(rules: readonly NeedleGroups[]): PartPrefilter {
  // One bit per distinct group (lfi-001 and lfi-002 share theirs, so do several others).
  const bitOfGroup = new Map<string, number>();
  const groupNeedles: string[][] = [];
  // A group holding "" always has a hit (every string includes it): it requires nothing.
  // An empty group never has one: its bit is never set, so its rule is never a candidate.
  const ruleBits = rules.map((groups) => groups.filter((group) => !group.includes('')).map((group) => {
    const needles = [...new Set(group)].sort();
    const key = JSON.stringify(needles);
    let bit = bitOfGroup.get(key);
    if (bit === undefined) { bit = groupNeedles.length; bitOfGroup.set(key, bit); groupNeedles.push(needles); }
    return bit;
  }));
  const words = Math.max(1, Math.ceil(groupNeedles.length / 32));
  // A rule's requirement, as a mask per word; a rule with no needles is always a candidate.
  const required = new Int32Array(rules.length * words);
  ruleBits.forEach((bits, r) => { for (const b of bits) required[r * words + (b >> 5)]! |= 1 << (b & 31); });

  const { classOf, wideClassOf, stride, next, output } = buildAutomaton(groupNeedles, words);
  const wide = wideClassOf.size > 0;
  // The class of every UTF-16 code unit, for scanAll.
  const classOfUnit = new Uint8Array(0x10000);
  classOfUnit.set(classOf);
  for (const [c, k] of wideClassOf) classOfUnit[c] = k;
  return {
    words,
    scanAll(texts, out) {
      if (words !== 1) {
        for (let i = 0; i < texts.length; i++) this.scan(texts[i]!, out, i);
        return;
      }
      // All texts' UTF-16 code units in one typed array: the loop reads that instead of the
      // strings (charCodeAt), which ran it two to four times slower in a process that had
      // seen many kinds of string (V8 then calls charCodeAt instead of inlining it).
      const units = utf16Units(texts.join(''));
      let at = 0;
      for (let p = 0; p < texts.length; p++) {
        const end = at + texts[p]!.length;
        let state = 0;
        let hits = 0;
        for (; at < end; at++) {
          state = next[(state + classOfUnit[units[at]!]!) | 0]! | 0;
          hits |= output[state]!;
        }
        out[p] = hits;
      }
    },
    scan(text, out, at) {
      // States are premultiplied by the stride: one add per character to find the next.
      let state = 0;
      if (words === 1) {
        let hits = 0;
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          state = next[state + (c < 128 ? classOf[c]! : wide ? (wideClassOf.get(c) ?? 0) : 0)]!;
          hits |= output[state]!;
        }
        out[at] = hits;
        return;
      }
      const base = at * words;
      for (let w = 0; w < words; w++) out[base + w] = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        state = next[state + (c < 128 ? classOf[c]! : wide ? (wideClassOf.get(c) ?? 0) : 0)]!;
        const o = (state / stride) * words;
        for (let w = 0; w < words; w++) out[base + w]! |= output[o + w]!;
      }
    },
    admits(rule, bits, at) {
      const r = rule * words;
      const p = at * words;
      for (let w = 0; w < words; w++) {
        const m = required[r + w]!;
        if ((bits[p + w]! & m) !== m) return false;
      }
      return true;
    },
  };
}

function utf16Units(s: string): Uint16Array {
  const bytes = Buffer.from(s, 'utf16le');
  // Pooled buffers start at a multiple of 8; copy anyway if one ever does not.
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  return new Uint16Array(Uint8Array.prototype.slice.call(bytes).buffer);
}

interface Automaton {
  /** Character -> class for ASCII; other characters a needle uses are in wideClassOf; the rest are class 0. */
  readonly classOf: Uint8Array;
  readonly wideClassOf: ReadonlyMap<number, number>;
  /** Classes rounded up to a power of two: a state's row starts at state * stride. */
  readonly stride: number;
  /** The complete transition table (failure links folded in), from and to premultiplied states. */
  readonly next: Int32Array;
  /**
   * Group bits of every needle ending at a state, its failure chain's included: for one
   * word, output[premultiplied state]; for more, output[state * words + word].
   */
  readonly output: Int32Array;
}

function buildAutomaton(groupNeedles: readonly (readonly string[])[], words: number): Automaton {
  const classOf = new Uint8Array(128);
  const wideClassOf = new Map<number, number>();
  let classes = 1;
  const classFor = (c: number): number => {
    if (c < 128) return classOf[c] !== 0 ? classOf[c]! : (classOf[c] = classes++);
    let k = wideClassOf.get(c);
    if (k === undefined) { k = classes++; wideClassOf.set(c, k); }
    return k;
  };
  for (const group of groupNeedles) for (const needle of group) for (let i = 0; i < needle.length; i++) classFor(needle.charCodeAt(i));
  if (classes > 255) throw new Error('WAF needles use more than 254 distinct characters');
  let stride = 1;
  while (stride < classes) stride *= 2;

  // The trie, with goto[state] mapping class -> state.
  const goto: Map<number, number>[] = [new Map()];
  const out: number[][] = [[]];
  groupNeedles.forEach((group, bit) => {
    for (const needle of group) {
      let s = 0;
      for (let i = 0; i < needle.length; i++) {
        const k = classFor(needle.charCodeAt(i));
        let t = goto[s]!.get(k);
        if (t === undefined) { t = goto.length; goto.push(new Map()); out.push([]); goto[s]!.set(k, t); }
        s = t;
      }
      out[s]!.push(bit);
    }
  });

  // Breadth first, each state's transitions are its own or its failure state's, and its
  // output includes its failure state's (a needle that is a suffix of another).
  const n = goto.length;
  const delta = new Int32Array(n * stride);
  const bits = new Int32Array(n * words);
  const fail = new Int32Array(n);
  const queue: number[] = [];
  for (const [k, t] of goto[0]!) { delta[k] = t; queue.push(t); }
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q]!;
    for (const b of out[s]!) bits[s * words + (b >> 5)]! |= 1 << (b & 31);
    for (let w = 0; w < words; w++) bits[s * words + w]! |= bits[fail[s]! * words + w]!;
    for (let k = 0; k < classes; k++) {
      const t = goto[s]!.get(k);
      if (t === undefined) { delta[s * stride + k] = delta[fail[s]! * stride + k]!; continue; }
      fail[t] = delta[fail[s]! * stride + k]!;
      delta[s * stride + k] = t;
      queue.push(t);
    }
  }
  const next = delta.map((t) => t * stride);
  let output = bits;
  if (words === 1) {
    output = new Int32Array(n * stride);
    for (let s = 0; s < n; s++) output[s * stride] = bits[s]!;
  }
  return { classOf, wideClassOf, stride, next, output };
}
