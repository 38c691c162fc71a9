// "Did you mean …?": the closest known words to what a user typed.

/**
 * Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions, each
 * substring edited once): `delte` → `delete` is 1, `lsit` → `list` is 1. Stops early and returns
 * `max + 1` once the distance must exceed `max`. O(|a|·|b|) time, O(|b|) memory.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/** The largest edit distance that still reads as a typo of a word this long: 1 up to 4 characters, then a third of the length. */
export function typoBudget(word: string): number {
  return word.length <= 4 ? 1 : Math.max(2, Math.floor(word.length / 3));
}

/**
 * Known words closest to `word` (case-insensitive), at most `limit`, best first, ties in the
 * order given. A word counts as close when it is within {@link typoBudget} edits, or when one
 * starts with the other (`deploy` → `deployments`).
 */
export function closest(word: string, known: Iterable<string>, limit = 3): string[] {
  const w = word.toLowerCase();
  const budget = typoBudget(w);
  const scored: { k: string; d: number; i: number }[] = [];
  let i = 0;
  for (const k of known) {
    const kl = k.toLowerCase();
    let d = editDistance(w, kl, budget);
    if (d > budget && w.length >= 3 && (kl.startsWith(w) || w.startsWith(kl))) d = budget;
    if (d <= budget) scored.push({ k, d, i });
    i++;
  }
  scored.sort((x, y) => x.d - y.d || x.i - y.i);
  const out: string[] = [];
  for (const s of scored) if (!out.includes(s.k)) out.push(s.k);
  return out.slice(0, limit);
}

/** `; did you mean "x"?` or `; did you mean "x" or "y"?`, or '' when nothing is close. */
export function didYouMean(word: string, known: Iterable<string>, limit = 2): string {
  const c = closest(word, known, limit);
  if (c.length === 0) return '';
  return `; did you mean ${c.map((x) => JSON.stringify(x)).join(' or ')}?`;
}
