// A cheap byte search in the raw line, before it is decoded or parsed, for selective filters (user, verb,
// resource, namespace, name, audit ID). It must never reject a line the full filter would keep:
//  - only values made of [A-Za-z0-9._:@-] are used: JSON writes them as themselves, inside plain
//    JSON and inside JSON-in-a-string (AKS `log`, CloudWatch `message`), where quotes are escaped;
//    or as a \u00XX escape (`"\u0061lice"` is `alice`), which a writer may choose: a line holding
//    such an escape (of one of those characters, or of a backslash, which can start one inside
//    JSON-in-a-string) is never skipped;
//  - values are matched without their quotes, for the same reason;
//  - a glob contributes its longest literal run (at least 3 characters), or nothing.
// A filter group that cannot be checked this way is simply not pre-checked. Every field the
// filters compare is a substring of the line as written (normalize/ copies them, or cuts them out
// of a longer value such as GKE's methodName), so a line without the text cannot match.
import type { FilterOptions } from './index.js';
import { CONTAINER_KEYS } from '../ingest/containers.js';
import { KeyTable, finder, scanString, scanValue, scanned, skipWs } from '../ingest/scan.js';
import { listOf, resourceSpecs, subjectPatterns } from './index.js';

const SAFE = /^[A-Za-z0-9._:@-]+$/;

function literal(pattern: string): string | null {
  const runs = pattern.split(/[*?]/).filter((r) => r.length > 0);
  if (runs.length === 0) return null;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  if (longest.length < 3 || !SAFE.test(longest)) return null;
  return longest;
}

/** A group of alternatives: the line must contain at least one. null: the group cannot be pre-checked. */
function group(values: string[]): string[] | null {
  if (values.length === 0) return null;
  const out: string[] = [];
  for (const v of values) {
    const l = literal(v);
    if (l === null) return null;
    out.push(l);
  }
  return out;
}

/**
 * The pre-filter: looks at a line's raw bytes, b[start..end) (leading whitespace skipped), and says
 * whether it may hold a record the filters keep. False only when it cannot: then the line is never
 * decoded nor parsed. Lines are bytes (UTF-8): the needles are ASCII, so a byte search finds exactly
 * the occurrences a search of the decoded text would.
 */
export interface Prefilter {
  (b: Buffer, start: number, end: number): boolean;
  /**
   * The first group's values, as searched: a line without any of them that is no wrapper and holds
   * no relevant escape is skipped (the reader's bulk scanner, src/ingest/linescan.ts, asks only this).
   */
  readonly needles?: string[];
}

/** The pre-filter applied to a line of text (tests, and callers that hold text). */
export function prefilterText(p: Prefilter, line: string): boolean {
  const b = Buffer.from(line, 'utf8');
  return p(b, 0, b.length);
}

/** Characters a \u00XX escape may stand for that matter here: SAFE ones, and the backslash. */
function escapesMatter(hi: number, lo: number): boolean {
  const hex = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);
  const a = hex(hi);
  const b = hex(lo);
  if (a < 0 || b < 0) return false;
  const c = a * 16 + b;
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 58 || c === 64 || c === 45 || c === 92;
}

const ESCAPE_START = Buffer.from('\\u00', 'latin1');

/**
 * True when the text holds a \u00XX escape of a character the needles are made of (or of a
 * backslash): the text may then match once decoded, so the line must be parsed.
 */
export function hasRelevantEscape(line: string): boolean {
  const b = Buffer.from(line, 'utf8');
  return relevantEscapeFinder()(b, 0, b.length) >= 0;
}

/**
 * A search for the next relevant escape (one escapesMatter accepts) in b[start..end), for lines asked in
 * order: like scan.ts finder, it remembers the next relevant escape of the buffer at or after the
 * last start, so that each `\\u00` of a chunk is looked at once however many lines it is asked for
 * (most API server lines hold `\\u0026`, Go's escape of `&`, which is not relevant). Returns its
 * position, or -1 when b[start..end) holds none.
 */
export function relevantEscapeFinder(): (b: Buffer, start: number, end: number) => number {
  let buf: Buffer | null = null;
  let from = 0;
  /** The first relevant escape at or after `from` (-1: none in the buffer). */
  let at = -1;
  const next = (b: Buffer, i: number): number => {
    for (i = b.indexOf(ESCAPE_START, i); i >= 0; i = b.indexOf(ESCAPE_START, i + 1)) {
      if (i + 6 <= b.length && escapesMatter(b[i + 4]!, b[i + 5]!)) return i;
    }
    return -1;
  };
  return (b, start, end) => {
    if (b !== buf || start < from || (at !== -1 && at < start)) {
      buf = b;
      from = start;
      at = next(b, start);
    }
    return at !== -1 && at + 6 <= end ? at : -1;
  };
}

/**
 * Top-level keys that decide: 1 = a wrapper's (CONTAINER_KEYS; a Log Analytics table's columns and
 * rows), 2 = an audit event's, never a wrapper (containerOf).
 */
const SHAPE_KEYS = new KeyTable();
for (const k of [...CONTAINER_KEYS.keys(), 'rows', 'columns']) SHAPE_KEYS.add(k, 1);
for (const k of ['verb', 'protoPayload']) SHAPE_KEYS.add(k, 2);

/**
 * The API server's own key order (the field order of audit.k8s.io/v1 Event, k8s.io/apiserver
 * pkg/apis/audit/v1/types.go: TypeMeta's kind and apiVersion, then level, auditID, stage,
 * requestURI, verb), up to the verb, with values written without escapes: the line starts
 * {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"…","auditID":"…","stage":"…","requestURI":"…","verb":
 */
export const CANONICAL_HEAD = Buffer.from('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"', 'latin1');
export const CANONICAL_KEYS = ['","auditID":"', '","stage":"', '","requestURI":"', '","verb":'].map((k) => Buffer.from(k, 'latin1'));

/**
 * True when b[i..end) starts with the canonical keys up to `verb` (CANONICAL_HEAD), each value a
 * string without a backslash: its top-level keys up to the first `verb` are then none of a
 * wrapper's, so mayWrapByScan says false too (it stops at that verb). False says nothing.
 */
export function canonicalEvent(b: Uint8Array, i: number, end: number): boolean {
  const head = CANONICAL_HEAD;
  if (end - i < head.length) return false;
  for (let k = 0; k < head.length; k++) if (b[i + k] !== head[k]) return false;
  i += head.length;
  for (let s = 0; s < CANONICAL_KEYS.length; s++) {
    // A string value without escapes: to its closing quote (a backslash sends the line to the scan).
    for (;;) {
      if (i >= end) return false;
      const c = b[i]!;
      if (c === 34) break;
      if (c === 92) return false;
      i++;
    }
    const key = CANONICAL_KEYS[s]!;
    if (end - i < key.length) return false;
    for (let k = 0; k < key.length; k++) if (b[i + k] !== key[k]) return false;
    i += key.length;
  }
  return true;
}

/**
 * Whether the line may be a wrapper of many events (a one-line EventList, a CloudWatch payload…),
 * which the accounting counts per event, so that it must be parsed: from its top-level shape. A
 * top-level array may be; an object may be when one of its top-level keys, before any `verb` or
 * `protoPayload` key (whose presence makes it an event: containerOf), is a wrapper's key. Values are
 * stepped over unread (scan.ts); the first event key ends the look, usually in the first 300 bytes.
 * Anything else (malformed, a scalar) holds no event a parse would keep. A line in the API server's
 * own key order (canonicalEvent) is answered without the scan: the same answer, false.
 */
export function mayWrap(b: Buffer, start: number, end: number): boolean {
  const i = skipWs(b, start, end);
  return !canonicalEvent(b, i, end) && mayWrapByScan(b, i, end);
}

/** mayWrap by reading the top-level keys (the general case; tests compare the two). */
export function mayWrapByScan(b: Buffer, start: number, end: number): boolean {
  let i = skipWs(b, start, end);
  if (i >= end) return false;
  if (b[i] === 91) return true;
  if (b[i] !== 123) return false;
  i = skipWs(b, i + 1, end);
  if (i < end && b[i] === 125) i++;
  else {
    for (;;) {
      if (i >= end || b[i] !== 34) return false;
      const ks = i;
      i = scanString(b, i, end);
      if (i < 0) return false;
      if (scanned.escaped) return true; // an escaped key may spell any of them
      const kind = SHAPE_KEYS.id(b, ks, i, false);
      if (kind === 2) return false;
      if (kind === 1) return true;
      i = skipWs(b, i, end);
      if (i >= end || b[i] !== 58) return false;
      i = scanValue(b, skipWs(b, i + 1, end), end);
      if (i < 0) return false;
      i = skipWs(b, i, end);
      if (i < end && b[i] === 44) {
        i = skipWs(b, i + 1, end);
        continue;
      }
      if (i < end && b[i] === 125) {
        i++;
        break;
      }
      return false;
    }
  }
  // Another value after the object (`{…}{…}`, read as a stream of values) may be a wrapper.
  return skipWs(b, i, end) < end;
}

/**
 * The filter dimensions a pre-filter checks, by flag: a line is parsed only when it holds one value
 * of each. Values are those the full filter compares (resolved resource names, lower-case verbs,
 * service accounts as usernames).
 */
export function prefilterGroups(o: FilterOptions): { flag: string; values: string[] }[] {
  const out: { flag: string; values: string[] }[] = [];
  const add = (flag: string, g: string[] | null): void => {
    if (g) out.push({ flag, values: g });
  };
  // With --user matching impersonators too (rbac-gen), the name is still in the line.
  add('--user', group(subjectPatterns(o)));
  add('--impersonator', group(listOf(o.impersonator)));
  add('--actor', group(listOf(o.actor)));
  add('--verb', group(listOf(o.verb).map((v) => v.toLowerCase())));
  add('--resource', group(resourceSpecs(o).map((s) => (s.resource === '*' ? (s.subresource ?? '*') : s.resource))));
  add('--namespace', group(listOf(o.namespace)));
  add('--name', group(listOf(o.name)));
  add('--audit-id', group(listOf(o.auditID)));
  return out;
}

export function compilePrefilter(o: FilterOptions): Prefilter | null {
  const groups = prefilterGroups(o).map((g) => g.values);
  if (groups.length === 0) return null;
  const finders = groups.map((g) => g.map(finder));
  const escape = relevantEscapeFinder();
  /** A line a needle is missing from may still match: an escape, or a wrapper of many events. */
  const mayMatch = (b: Buffer, start: number, end: number): boolean => escape(b, start, end) >= 0 || mayWrap(b, start, end);
  const p = (b: Buffer, start: number, end: number): boolean => {
    for (let g = 0; g < finders.length; g++) {
      const alts = finders[g]!;
      let hit = false;
      for (let i = 0; i < alts.length; i++) {
        if (alts[i]!(b, start, end) >= 0) {
          hit = true;
          break;
        }
      }
      if (!hit) return mayMatch(b, start, end);
    }
    return true;
  };
  return Object.assign(p, { needles: groups[0]! });
}
