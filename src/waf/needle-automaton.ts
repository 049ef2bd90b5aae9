// An Aho-Corasick automaton over the WAF rules' needles: one table step per character
// finds every needle in a value, as a set of needle-group bits. prefilter.ts runs it.

export interface NeedleAutomaton {
  /** Class of each ASCII character (0: in no needle). */
  readonly classOf: Uint8Array;
  /** Classes of the non-ASCII characters needles use (usually none). */
  readonly wideClassOf: ReadonlyMap<number, number>;
  readonly classes: number;
  /** log2 of the row length (the classes rounded up to a power of two). */
  readonly shift: number;
  /** Complete transitions, failure links folded in: next[state + class], states premultiplied by the row length. */
  readonly next: Int32Array;
  /** Group bits of the needles ending at a state, suffixes included: output[(state >> shift) * words + word]. */
  readonly output: Int32Array;
}

/**
 * `groups[bit]` are the needles that set `bit`. A run of spaces reads as one space (the
 * normalized form never has two in a row, and prefilter.ts reads whitespace runs of a
 * decoded value as spaces): after a space, another one leaves the state as it is.
 */
export function buildNeedleAutomaton(groups: readonly (readonly string[])[], words: number, maxClasses: number): NeedleAutomaton {
  const classOf = new Uint8Array(128);
  const wideClassOf = new Map<number, number>();
  let classes = 1;
  const classFor = (c: number): number => {
    if (c < 128) return classOf[c] !== 0 ? classOf[c]! : (classOf[c] = classes++);
    let k = wideClassOf.get(c);
    if (k === undefined) { k = classes++; wideClassOf.set(c, k); }
    return k;
  };
  for (const group of groups) for (const needle of group) for (let i = 0; i < needle.length; i++) classFor(needle.charCodeAt(i));
  if (classes > maxClasses) throw new Error(`WAF needles use more than ${maxClasses - 1} distinct characters`);
  let shift = 0;
  while (1 << shift < classes) shift++;
  const stride = 1 << shift;

  // The trie: goto[state] maps a class to the next state; label[state] is the class that leads to it.
  const goto: Map<number, number>[] = [new Map()];
  const label: number[] = [0];
  const ends: number[][] = [[]];
  groups.forEach((group, bit) => {
    for (const needle of group) {
      let s = 0;
      for (let i = 0; i < needle.length; i++) {
        const k = classFor(needle.charCodeAt(i));
        let t = goto[s]!.get(k);
        if (t === undefined) { t = goto.length; goto.push(new Map()); label.push(k); ends.push([]); goto[s]!.set(k, t); }
        s = t;
      }
      ends[s]!.push(bit);
    }
  });

  // One more state: "at the root, after a space", the root but for the space's self-loop.
  const n = goto.length;
  const afterSpace = n;
  const delta = new Int32Array((n + 1) * stride);
  const bits = new Int32Array((n + 1) * words);
  const fail = new Int32Array(n);
  // Breadth first, each state's transitions are its own or its failure state's, and its
  // output includes its failure state's (a needle that is a suffix of another).
  const queue: number[] = [];
  for (const [k, t] of goto[0]!) { delta[k] = t; queue.push(t); }
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q]!;
    for (const b of ends[s]!) bits[s * words + (b >> 5)]! |= 1 << (b & 31);
    for (let w = 0; w < words; w++) bits[s * words + w]! |= bits[fail[s]! * words + w]!;
    for (let k = 0; k < classes; k++) {
      const t = goto[s]!.get(k);
      if (t === undefined) { delta[s * stride + k] = delta[fail[s]! * stride + k]!; continue; }
      fail[t] = delta[fail[s]! * stride + k]!;
      delta[s * stride + k] = t;
      queue.push(t);
    }
  }
  const space = classOf[0x20]!;
  if (space !== 0) {
    // The state after a space is a trie state reached by a space, or the root; a second
    // space must leave it there, as if it had been collapsed into the first.
    for (let k = 0; k < stride; k++) delta[afterSpace * stride + k] = delta[k]!;
    for (let s = 0; s <= n; s++) if (delta[s * stride + space] === 0) delta[s * stride + space] = afterSpace;
    for (let s = 1; s < n; s++) if (label[s] === space) delta[s * stride + space] = s;
    delta[afterSpace * stride + space] = afterSpace;
  }
  return { classOf, wideClassOf, classes, shift, next: delta.map((t) => t << shift), output: bits };
}
