import type { Evidence } from '../pipeline/types.ts';

/** A string (or number, as text) field of a verdict's evidence, or null. */
export const str = (e: Evidence | undefined, k: string): string | null => {
  const v = e?.[k];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
};

/** A list field of a verdict's evidence, or an empty list. */
export const list = (e: Evidence | undefined, k: string): readonly string[] => {
  const v = e?.[k];
  return Array.isArray(v) ? (v as readonly string[]) : [];
};
