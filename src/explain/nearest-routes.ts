import type { PinpointConfig } from '../config/schema.ts';

type Route = PinpointConfig['routes'][number];

/** How many routes a 404 explanation lists before saying how many more there are. */
export const shownRoutes = 5;

/**
 * The routes ordered by how close their pattern is to a path nobody serves: an edit distance
 * over path segments, where a parameter matches any segment and swapping one segment for a
 * similar one (orders/order) costs less than for an unrelated one; ties go to the longer
 * common prefix, then to config order. A typo then ranks its intended route first, where the
 * router's own hint (the longest literal prefix) finds nothing below a shared "/api".
 */
export function nearestRoutes(path: string, routes: readonly Route[]): Route[] {
  const want = segments(path);
  return routes
    .map((route, order) => {
      const have = segments(route.path);
      return { route, order, distance: segmentDistance(want, have), prefix: commonPrefix(want, have) };
    })
    .sort((a, b) => a.distance - b.distance || b.prefix - a.prefix || a.order - b.order)
    .map((x) => x.route);
}

const segments = (p: string): string[] => p.split('/').filter((s) => s !== '');

/** {id} and {rest*}: a wildcard may match more segments, but as a hint one is close enough. */
const isParam = (s: string) => /^\{.*\}$/.test(s);

function segmentCost(a: string, b: string): number {
  if (isParam(b) || a === b) return 0;
  // Up to 2 (a delete and an insert): "comments" for "order" must cost more than one extra segment does.
  return (2 * charDistance(a.toLowerCase(), b.toLowerCase())) / Math.max(a.length, b.length);
}

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && segmentCost(a[n]!, b[n]!) === 0) n++;
  return n;
}

/** Levenshtein over segments: insert or delete a segment costs 1, a substitution twice its relative character distance (0..2). */
const segmentDistance = (a: readonly string[], b: readonly string[]): number => editDistance(a, b, segmentCost);

const charDistance = (a: string, b: string): number => editDistance(a, b, (x, y) => (x === y ? 0 : 1));

/** Levenshtein distance: inserting or deleting an element costs 1, substituting one costs `substitute`. */
function editDistance<T>(a: ArrayLike<T>, b: ArrayLike<T>, substitute: (x: T, y: T) => number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + substitute(a[i - 1]!, b[j - 1]!));
    prev = cur;
  }
  return prev[b.length]!;
}
