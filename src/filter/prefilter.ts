// A cheap substring check on the raw line, before JSON.parse, for selective filters (user, verb,
// resource, namespace, name, audit ID). It must never reject a line the full filter would keep:
//  - only values made of [A-Za-z0-9._:@-] are used: JSON encodes them as themselves, inside plain
//    JSON and inside JSON-in-a-string (AKS `log`, CloudWatch `message`), where quotes are escaped;
//  - values are matched without their quotes, for the same reason;
//  - a glob contributes its longest literal run (at least 3 characters), or nothing.
// A filter group that cannot be checked this way is simply not pre-checked.
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
    return (line) => line.includes(t) || mayWrap(line);
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
      if (!hit) return mayWrap(line);
    }
    return true;
  };
}
