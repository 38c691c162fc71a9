// How drift's per-identity usage (SubjectUse) is written in spilled runs (issue 15: at a million
// distinct users compliance and drift spent a third of their time in the generic codec, which
// copies every value into a tagged tree for its Maps and Sets). A SubjectUse has one known shape,
// so its common part is written as flat JSON arrays by position, and only the rare part goes
// through the generic tree (src/scale/codec.ts toJsonTree). The line is JSON:
//
//   [KEY, USER, GROUPS, REQUESTS, CHECKS, UNJUDGED_REQUESTS, UNJUDGED_REASONS, UNJUDGED_EXAMPLES, KEYS]
//
// KEY is 0 when it is USER (always, for the users map: it is keyed by user name).
// KEYS is a flat array of KEY_FIELDS items per check key: its map key, then the ReqKey fields in
// the order addCheck creates them (names flattened as name, count, …; examples as time, id, …),
// then EXTRA. What a one-request identity (nearly every one at a million distinct users) would
// write twice is written once (issue 15, branch c15c: the line of such a user went from ~530 to
// ~370 bytes, and the codec was a fifth of the run's CPU time):
//   - the key's groups are 0 when they are GROUPS item for item (a copy is read back);
//   - LAST_MS is null and LAST 0 when the key's span is one instant (lastMs and last are firstMs
//     and first);
//   - EXAMPLES is the auditID alone (a string) when there is one example, at FIRST_MS;
//   - EXTRA is 0 without later fields; an array [file, line, unit] when the only one is firstAt, a
//     Loc with just those members in that order; else the generic tree of an object holding the
//     later fields (firstAt, written, fullAuthority, rulesUnknown) in the order the value has them.
// UNJUDGED_REASONS is 0 when empty, else the generic tree of the object. Numbers JSON has no
// literal for (±Infinity, NaN, -0: a time never seen) are written as strings. decode(encode(x))
// deep-equals x, with the same key order in every object (a property test checks it).
import type { LineCodec } from '../../scale/codec.js';
import { examplesIn, examplesOut, fromJsonTree, numIn, numOut, toJsonTree } from '../../scale/codec.js';
import type { ReqKey, SubjectUse } from './index.js';
import type { Loc } from '../../types.js';

/** Items per check key in KEYS. */
const KEY_FIELDS = 19;

/** The ReqKey fields addCheck creates, in its order; any other field goes to EXTRA. */
const BASE = new Set(['check', 'groups', 'verb', 'apiGroup', 'resource', 'subresource', 'namespace', 'nonResourceURL', 'count', 'denied', 'names', 'other', 'firstMs', 'first', 'lastMs', 'last', 'examples']);

/** Whether firstAt is a plain line location, {file, line, unit} and nothing else (written flat). */
function plainLoc(at: unknown): at is { file: string; line: number; unit: string } {
  if (typeof at !== 'object' || at === null || Object.getPrototypeOf(at) !== Object.prototype) return false;
  const keys = Object.keys(at);
  if (keys.length !== 3 || keys[0] !== 'file' || keys[1] !== 'line' || keys[2] !== 'unit') return false;
  const l = at as { file: unknown; line: unknown; unit: unknown };
  return typeof l.file === 'string' && typeof l.unit === 'string' && typeof l.line === 'number';
}

function extraOut(k: ReqKey): unknown {
  // The common case: firstAt alone (widenSpan sets it once the key is made), a plain Loc.
  if (k.firstAt !== undefined && k.written === undefined && k.fullAuthority === undefined && k.rulesUnknown === undefined && plainLoc(k.firstAt)) {
    let only = true;
    for (const f in k) {
      if (!BASE.has(f) && f !== 'firstAt' && (k as unknown as Record<string, unknown>)[f] !== undefined) {
        only = false;
        break;
      }
    }
    if (only) return [k.firstAt.file, numOut(k.firstAt.line), k.firstAt.unit];
  }
  let extra: Record<string, unknown> | null = null;
  for (const f of Object.keys(k)) {
    if (BASE.has(f)) continue;
    const v = (k as unknown as Record<string, unknown>)[f];
    if (v === undefined) continue;
    (extra ??= {})[f] = v;
  }
  return extra === null ? 0 : toJsonTree(extra);
}

/** Whether two lists of strings are equal item by item. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function keysOut(m: Map<string, ReqKey>, groups: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const [key, k] of m) {
    const names = new Array<unknown>(2 * k.names.size);
    let i = 0;
    for (const [n, c] of k.names) {
      names[i++] = n;
      names[i++] = c;
    }
    const oneInstant = Object.is(k.lastMs, k.firstMs) && k.last === k.first;
    const ex = k.examples.length === 1 && Object.is(k.examples[0]![0], k.firstMs) ? k.examples[0]![1] : examplesOut(k.examples);
    out.push(key, k.check, sameList(k.groups, groups) ? 0 : k.groups, k.verb, k.apiGroup, k.resource, k.subresource, k.namespace, k.nonResourceURL, k.count, k.denied, names, k.other, numOut(k.firstMs), k.first, oneInstant ? null : numOut(k.lastMs), oneInstant ? 0 : k.last, ex, extraOut(k));
  }
  return out;
}

function keysIn(a: unknown[], groups: readonly string[]): Map<string, ReqKey> {
  const m = new Map<string, ReqKey>();
  for (let i = 0; i + KEY_FIELDS <= a.length; i += KEY_FIELDS) {
    const flatNames = a[i + 11] as (string | number)[];
    const names = new Map<string, number>();
    for (let j = 0; j + 1 < flatNames.length; j += 2) names.set(flatNames[j] as string, flatNames[j + 1] as number);
    const firstMs = numIn(a[i + 13] as number | string);
    const first = a[i + 14] as string;
    const flatEx = a[i + 17];
    const examples: [number, string][] = typeof flatEx === 'string' ? [[firstMs, flatEx]] : examplesIn(flatEx as (number | string)[]);
    const oneInstant = a[i + 15] === null;
    // The fields in the order addCheck creates them (one hidden class for every key).
    const k: ReqKey = {
      check: a[i + 1] as ReqKey['check'],
      groups: a[i + 2] === 0 ? groups.slice() : (a[i + 2] as string[]),
      verb: a[i + 3] as string,
      apiGroup: a[i + 4] as string,
      resource: a[i + 5] as string,
      subresource: a[i + 6] as string,
      namespace: a[i + 7] as string,
      nonResourceURL: a[i + 8] as string,
      count: a[i + 9] as number,
      denied: a[i + 10] as number,
      names,
      other: a[i + 12] as number,
      firstMs,
      first,
      lastMs: oneInstant ? firstMs : numIn(a[i + 15] as number | string),
      last: oneInstant ? first : (a[i + 16] as string),
      examples,
    };
    const extra = a[i + 18];
    if (Array.isArray(extra)) k.firstAt = { file: extra[0] as string, line: numIn(extra[1] as number | string), unit: extra[2] as Loc['unit'] };
    else if (extra !== 0) Object.assign(k, fromJsonTree(extra) as Record<string, unknown>);
    m.set(a[i] as string, k);
  }
  return m;
}

/** drift's [user, SubjectUse] entries as run lines (the users map's SpillSpec.codec). */
export const USE_CODEC: LineCodec<[string, SubjectUse]> = {
  encode([key, u]) {
    const reasons = Object.keys(u.unjudged.reasons).length ? toJsonTree(u.unjudged.reasons) : 0;
    const groups = [...u.groups];
    return JSON.stringify([key === u.user ? 0 : key, u.user, groups, u.requests, u.checks, u.unjudged.requests, reasons, u.unjudged.examples, keysOut(u.keys, groups)]);
  },
  decode(line) {
    const a = JSON.parse(line) as unknown[];
    const groups = a[2] as string[];
    const u: SubjectUse = {
      // The fields in the order use() creates them.
      user: a[1] as string,
      groups: new Set(groups),
      requests: a[3] as number,
      checks: a[4] as number,
      keys: keysIn(a[8] as unknown[], groups),
      unjudged: { requests: a[5] as number, reasons: a[6] === 0 ? {} : (fromJsonTree(a[6]) as Record<string, number>), examples: a[7] as string[] },
    };
    return [a[0] === 0 ? u.user : (a[0] as string), u];
  },
};
