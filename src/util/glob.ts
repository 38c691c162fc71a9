// Glob matching in time linear in the text: `*` is any run of characters (line breaks included),
// `?` one UTF-16 code unit, everything else itself. The stars cut a pattern into segments of
// literals and `?`. The first segment must match at the start, the last at the end, and each
// segment between them is matched at its leftmost place after the previous one: with no other
// metacharacters, leftmost is always right (it leaves the most room for what follows), so nothing
// is ever retried and no backtracking happens. Each candidate place costs at most the segment's
// length, so a match costs O(len(text) × len(pattern)) steps at worst (a fixed pattern: linear in
// the text), where a RegExp such as /^web-.*-.*-prod$/ backtracks and takes O(n³).
//
// Used by the shared filters (--user, --group, --name, --client: src/filter/index.ts), the
// anomalies allowlist, and the rule language (src/rules/lang/ops.ts, with Sigma's backslash escapes).

/** Literal text, 0 for `?`, 1 for `*`. */
export type GlobToken = string | 0 | 1;

/**
 * Parses a glob. With `escapes` (the Sigma specification's), `\*`, `\?` and `\\` are the plain
 * characters and any other backslash is itself; without, a backslash is a plain character.
 * Consecutive stars are one.
 */
export function parseGlob(p: string, escapes = false): GlobToken[] {
  const out: GlobToken[] = [];
  let lit = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (escapes && c === '\\' && i + 1 < p.length && (p[i + 1] === '*' || p[i + 1] === '?' || p[i + 1] === '\\')) {
      lit += p[++i];
    } else if (c === '*' || c === '?') {
      if (lit) out.push(lit);
      lit = '';
      if (c === '?') out.push(0);
      else if (out[out.length - 1] !== 1) out.push(1);
    } else lit += c;
  }
  if (lit) out.push(lit);
  return out;
}

/** A segment: the tokens between two stars (literals and `?`), and how many code units it spans. */
interface Segment {
  tokens: (string | 0)[];
  length: number;
}

/** A compiled glob. */
export interface Glob {
  /** No star: the text must be exactly one segment long. */
  starless: boolean;
  /** Segments in order; with stars, the first is anchored at the start and the last at the end. */
  segments: Segment[];
  /** Minimum text length. */
  minLength: number;
}

export function compileGlobTokens(tokens: readonly GlobToken[]): Glob {
  const segments: Segment[] = [{ tokens: [], length: 0 }];
  let starless = true;
  for (const t of tokens) {
    if (t === 1) {
      starless = false;
      segments.push({ tokens: [], length: 0 });
      continue;
    }
    const seg = segments[segments.length - 1]!;
    seg.tokens.push(t);
    seg.length += t === 0 ? 1 : t.length;
  }
  let minLength = 0;
  for (const s of segments) minLength += s.length;
  return { starless, segments, minLength };
}

/** Counts the work of matches, for tests that prove the bound (never for timing). */
export interface StepCounter {
  steps: number;
}

/** Whether `seg` matches `s` at `pos` (pos + seg.length ≤ s.length is the caller's). */
function segmentAt(seg: Segment, s: string, pos: number, counter: StepCounter | undefined): boolean {
  let p = pos;
  for (const t of seg.tokens) {
    if (t === 0) {
      if (counter) counter.steps++;
      p++;
      continue;
    }
    if (counter) counter.steps += t.length;
    if (!s.startsWith(t, p)) return false;
    p += t.length;
  }
  return true;
}

/** The leftmost place ≥ from where `seg` matches and ends by `limit`, or -1. */
function leftmost(seg: Segment, s: string, from: number, limit: number, counter: StepCounter | undefined): number {
  const last = limit - seg.length;
  const head = seg.tokens[0];
  for (let p = from; p <= last; p++) {
    if (counter) counter.steps++;
    if (typeof head === 'string') {
      // Jump to the next place where the leading literal occurs.
      const q = s.indexOf(head, p);
      if (counter) counter.steps += q < 0 ? last - p + 1 : q - p;
      if (q < 0 || q > last) return -1;
      p = q;
    }
    if (segmentAt(seg, s, p, counter)) return p;
  }
  return -1;
}

/** Matches a compiled glob against `s`; see the file comment for the cost. */
export function globMatches(g: Glob, s: string, counter?: StepCounter): boolean {
  if (s.length < g.minLength) return false;
  const segs = g.segments;
  if (g.starless) return s.length === segs[0]!.length && segmentAt(segs[0]!, s, 0, counter);
  const first = segs[0]!;
  const lastSeg = segs[segs.length - 1]!;
  if (!segmentAt(first, s, 0, counter)) return false;
  const end = s.length - lastSeg.length;
  let pos = first.length;
  for (let i = 1; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    if (seg.length === 0) continue;
    const at = leftmost(seg, s, pos, end, counter);
    if (at < 0) return false;
    pos = at + seg.length;
  }
  return pos <= end && segmentAt(lastSeg, s, end, counter);
}

/** A predicate for one glob pattern (see parseGlob for `escapes`). */
export function compileGlob(pattern: string, escapes = false): (s: string) => boolean {
  const g = compileGlobTokens(parseGlob(pattern, escapes));
  return (s) => globMatches(g, s);
}

/** True when the pattern has a `*` or `?` (plain strings are compared exactly, without a matcher). */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}
