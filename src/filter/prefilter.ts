// A cheap substring check on the raw line, before JSON.parse, for selective filters (user, verb,
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

export type Prefilter = (line: string) => boolean;

/**
 * A line holding an array of objects may be a wrapper of many events (a one-line EventList or
 * CloudWatch payload), which the accounting counts per event: such lines are always parsed.
 */
function mayWrap(line: string): boolean {
  return line.includes(':[{') || line.includes(': [{');
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

/**
 * True when the line holds a \u00XX escape of a character the needles are made of (or of a
 * backslash): the text may then match once decoded, so the line must be parsed. Only called for
 * lines a needle is missing from, so the common path never scans for it.
 */
export function hasRelevantEscape(line: string): boolean {
  for (let i = line.indexOf('\\u00'); i >= 0; i = line.indexOf('\\u00', i + 1)) {
    if (i + 5 < line.length && escapesMatter(line.charCodeAt(i + 4), line.charCodeAt(i + 5))) return true;
  }
  return false;
}

/** A line a needle is missing from may still match: a wrapper of many events, or an escape. */
function mayMatch(line: string): boolean {
  return mayWrap(line) || hasRelevantEscape(line);
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
  if (groups.length === 1 && groups[0]!.length === 1) {
    const t = groups[0]![0]!;
    return (line) => line.includes(t) || mayMatch(line);
  }
  return (line) => {
    for (let g = 0; g < groups.length; g++) {
      const alts = groups[g]!;
      let hit = false;
      for (let i = 0; i < alts.length; i++) {
        if (line.includes(alts[i]!)) {
          hit = true;
          break;
        }
      }
      if (!hit) return mayMatch(line);
    }
    return true;
  };
}
