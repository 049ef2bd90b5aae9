import { ruleWhitespace } from './decode.ts';

// What normalizeForRules' toLowerCase and whitespace collapsing make of each UTF-16 code
// unit, for reading the normalized form of a value off the value itself (prefilter.ts).

/** A code unit whose lower case is not one code unit that depends on it alone. */
export const NOT_ONE_UNIT = 0xffff;

// What normalizeForRules turns into one space (with its neighbours of the same kind).
const whitespace = new RegExp(ruleWhitespace.source, 'g');

let table: Uint16Array | null = null;

/**
 * For each code unit: its lower case when that is one code unit (K, the Kelvin sign, is k),
 * a space for whitespace, and NOT_ONE_UNIT for İ (two code units) and Σ (σ or ς depending
 * on what follows; U+FFFF itself is counted there too). Surrogates stay themselves (the
 * lower case of a pair is a pair). Built once per process, 1024 code units per toLowerCase
 * call.
 */
export function lowerCaseFold(): Uint16Array {
  if (table) return table;
  const t = new Uint16Array(0x10000);
  const BLOCK = 1024;
  const units = new Array<number>(BLOCK);
  for (let from = 0; from < 0x10000; from += BLOCK) {
    if (from >= 0xd800 && from < 0xe000) { for (let k = 0; k < BLOCK; k++) t[from + k] = from + k; continue; }
    for (let k = 0; k < BLOCK; k++) units[k] = from + k;
    let lower = String.fromCharCode(...units).toLowerCase();
    // Where the block keeps its length, every code unit became one code unit.
    if (lower.length !== BLOCK) {
      lower = units.map((c) => { const l = String.fromCharCode(c).toLowerCase(); return l.length === 1 ? l : String.fromCharCode(NOT_ONE_UNIT); }).join('');
    }
    for (let k = 0; k < BLOCK; k++) t[from + k] = lower.charCodeAt(k);
    for (const m of lower.matchAll(whitespace)) t[from + m.index] = 0x20;
  }
  t[0x3a3] = NOT_ONE_UNIT;
  table = t;
  return t;
}
