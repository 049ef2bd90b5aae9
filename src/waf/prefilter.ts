import { lowerCaseFold, NOT_ONE_UNIT } from './lower-case-fold.ts';
import { buildNeedleAutomaton } from './needle-automaton.ts';
import { patternRules } from './rules.ts';

// Which rules can possibly match a part, decided once per part: every needle of every
// rule is found in one pass over the normalized value (an Aho-Corasick automaton),
// and a rule is a candidate for the part when each of its needle groups has a hit. This
// is exactly the test `groups.every((g) => g.some((n) => value.includes(n)))`, at one
// table step per character instead of a substring search per needle, rule and part —
// what made a 64 KB body of a thousand strings cost milliseconds. Most parts are not
// candidates for any rule: scanDecodedAll reads the normalized form off the decoded value,
// and the engine normalizes only the parts a rule runs on.
//
// Soundness rests on the rules: a rule's needles must be present in every string its
// pattern matches (test/waf/engine-equivalence.test.ts checks that the engine finds
// what running every pattern on every part finds).

export interface PartPrefilter {
  /** 32-bit words of needle-group bits per part. */
  readonly words: number;
  /** Writes the bits of the needle groups present in `normalized` (normalizeForRules' output) to out[at * words ...]. */
  scan(normalized: string, out: Int32Array, at: number): void;
  /** scan() of every text, texts[j]'s bits at out[(at ? at[j] : j) * words ...]. */
  scanAll(normalized: readonly string[], out: Int32Array, at?: readonly number[]): void;
  /**
   * The bits of normalizeForRules(decoded[i]) at out[i * words ...], read off the decoded
   * values without building the normalized ones; returns the indexes of the values it could
   * not read (their bits are not written): an HTML entity, an SQL comment, an İ or a Σ
   * (normalizing changes more than case and whitespace there), or all of them when the
   * needles need more than one word of bits.
   */
  scanDecodedAll(decoded: readonly string[], out: Int32Array): number[];
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

// Kinds of code units in scanDecodedAll besides the automaton's classes (which are below these).
const NEEDS_NORMALIZING = 253;
const AMPERSAND = 254;
const SLASH = 255;

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

  const { classOf, wideClassOf, shift, next, output } = buildNeedleAutomaton(groupNeedles, words, NEEDS_NORMALIZING);
  // Class of every UTF-16 code unit of a normalized value, and kind of every code unit of a
  // decoded one: the class of its lower case (whitespace: a space's), or a kind above.
  const fold = lowerCaseFold();
  const classOfUnit = new Uint8Array(0x10000);
  const kindOfUnit = new Uint8Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    classOfUnit[c] = c < 128 ? classOf[c]! : (wideClassOf.get(c) ?? 0);
    const f = fold[c]!;
    kindOfUnit[c] = f === NOT_ONE_UNIT ? NEEDS_NORMALIZING : f === 0x26 ? AMPERSAND : f === 0x2f ? SLASH : f < 128 ? classOf[f]! : (wideClassOf.get(f) ?? 0);
  }
  const ampersand = classOf[0x26]!;
  const slash = classOf[0x2f]!;
  // A surrogate's lower case depends on its pair: needles with one are read off normalized values only.
  const readsDecoded = words === 1 && groupNeedles.every((g) => g.every((n) => !/[\ud800-\udfff]/.test(n)));

  // The loops read UTF-16 code units from a typed array, not the strings: charCodeAt ran
  // them two to four times slower in a process that had seen many kinds of string (V8 then
  // calls it instead of inlining it). States are premultiplied by the row length (one add
  // finds the next), and the | 0s keep V8 on 32-bit integers.
  const prefilter: PartPrefilter = {
    words,
    scan(normalized, out, at) {
      prefilter.scanAll([normalized], out, [at]);
    },
    scanAll(texts, out, at) {
      const units = utf16Units(texts.join(''));
      let u = 0;
      for (let j = 0; j < texts.length; j++) {
        const end = u + texts[j]!.length;
        const base = (at ? at[j]! : j) * words;
        let state = 0;
        if (words === 1) {
          let hits = 0;
          for (; u < end; u++) {
            state = next[(state + classOfUnit[units[u]!]!) | 0]! | 0;
            hits |= output[state >> shift]!;
          }
          out[base] = hits;
          continue;
        }
        for (let w = 0; w < words; w++) out[base + w] = 0;
        for (; u < end; u++) {
          state = next[(state + classOfUnit[units[u]!]!) | 0]! | 0;
          const o = (state >> shift) * words;
          for (let w = 0; w < words; w++) out[base + w]! |= output[o + w]!;
        }
      }
    },
    scanDecodedAll(decoded, out) {
      if (!readsDecoded) return decoded.map((_, i) => i);
      const unread: number[] = [];
      const units = utf16Units(decoded.join(''));
      let u = 0;
      for (let j = 0; j < decoded.length; j++) {
        const end = u + decoded[j]!.length;
        let state = 0;
        let hits = 0;
        for (; u < end; u++) {
          let k = kindOfUnit[units[u]!]! | 0;
          if (k >= NEEDS_NORMALIZING) {
            // An HTML entity starts with & then # or a letter (htmlEntityDecode's pattern,
            // before lower-casing); an SQL comment with /* (after lower-casing).
            const d = u + 1 < end ? units[u + 1]! : 0;
            if (k === NEEDS_NORMALIZING
              || (k === AMPERSAND && (d === 0x23 || ((d | 0x20) >= 0x61 && (d | 0x20) <= 0x7a)))
              || (k === SLASH && fold[d] === 0x2a)) break;
            k = k === AMPERSAND ? ampersand : slash;
          }
          state = next[(state + k) | 0]! | 0;
          hits |= output[state >> shift]!;
        }
        if (u < end) { unread.push(j); u = end; } else out[j] = hits;
      }
      return unread;
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
  return prefilter;
}

function utf16Units(s: string): Uint16Array {
  const bytes = Buffer.from(s, 'utf16le');
  // Pooled buffers start at a multiple of 8; copy anyway if one ever does not.
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  return new Uint16Array(Uint8Array.prototype.slice.call(bytes).buffer);
}
