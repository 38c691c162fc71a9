// How drift's per-identity usage (SubjectUse) is written in spilled runs (issue 15: at a million
// distinct users compliance and drift spent a third of their time in the generic codec, which
// copies every value into a tagged tree for its Maps and Sets). A SubjectUse has one known shape,
// so its common part is written as flat JSON arrays by position, and only the rare part goes
// through the generic tree (src/scale/codec.ts toJsonTree). The line is JSON:
//
//   [KEY, USER, GROUPS, REQUESTS, CHECKS, UNJUDGED_REQUESTS, UNJUDGED_REASONS, UNJUDGED_EXAMPLES, KEYS]
//
// KEYS is a flat array of KEY_FIELDS items per check key: its map key, then the ReqKey fields in
// the order addCheck creates them (names flattened as name, count, …; examples as time, id, …),
// then EXTRA: 0, or the generic tree of an object holding the fields added later (firstAt,
// written, fullAuthority, rulesUnknown) in the order the value has them. UNJUDGED_REASONS is 0
// when empty, else the generic tree of the object. Numbers JSON has no literal for (±Infinity,
// NaN, -0: a time never seen) are written as strings. decode(encode(x)) deep-equals x, with the
// same key order in every object (a property test checks it).
import type { LineCodec } from '../../scale/codec.js';
import { fromJsonTree, toJsonTree } from '../../scale/codec.js';
import type { ReqKey, SubjectUse } from './index.js';

/** Items per check key in KEYS. */
const KEY_FIELDS = 19;

/** The ReqKey fields addCheck creates, in its order; any other field goes to EXTRA. */
const BASE = new Set(['check', 'groups', 'verb', 'apiGroup', 'resource', 'subresource', 'namespace', 'nonResourceURL', 'count', 'denied', 'names', 'other', 'firstMs', 'first', 'lastMs', 'last', 'examples']);

function numOut(x: number): number | string {
  return Number.isFinite(x) && !Object.is(x, -0) ? x : Object.is(x, -0) ? '-0' : String(x);
}

function numIn(x: number | string): number {
  return typeof x === 'number' ? x : Number(x);
}

function extraOut(k: ReqKey): unknown {
  let extra: Record<string, unknown> | null = null;
  for (const f of Object.keys(k)) {
    if (BASE.has(f)) continue;
    const v = (k as unknown as Record<string, unknown>)[f];
    if (v === undefined) continue;
    (extra ??= {})[f] = v;
  }
  return extra === null ? 0 : toJsonTree(extra);
}

function keysOut(m: Map<string, ReqKey>): unknown[] {
  const out: unknown[] = [];
  for (const [key, k] of m) {
    const names = new Array<unknown>(2 * k.names.size);
    let i = 0;
    for (const [n, c] of k.names) {
      names[i++] = n;
      names[i++] = c;
    }
    const ex = new Array<unknown>(2 * k.examples.length);
    for (let j = 0; j < k.examples.length; j++) {
      ex[2 * j] = numOut(k.examples[j]![0]);
      ex[2 * j + 1] = k.examples[j]![1];
    }
    out.push(key, k.check, k.groups, k.verb, k.apiGroup, k.resource, k.subresource, k.namespace, k.nonResourceURL, k.count, k.denied, names, k.other, numOut(k.firstMs), k.first, numOut(k.lastMs), k.last, ex, extraOut(k));
  }
  return out;
}

function keysIn(a: unknown[]): Map<string, ReqKey> {
  const m = new Map<string, ReqKey>();
  for (let i = 0; i + KEY_FIELDS <= a.length; i += KEY_FIELDS) {
    const flatNames = a[i + 11] as (string | number)[];
    const names = new Map<string, number>();
    for (let j = 0; j + 1 < flatNames.length; j += 2) names.set(flatNames[j] as string, flatNames[j + 1] as number);
    const flatEx = a[i + 17] as (number | string)[];
    const examples: [number, string][] = [];
    for (let j = 0; j + 1 < flatEx.length; j += 2) examples.push([numIn(flatEx[j]!), flatEx[j + 1] as string]);
    // The fields in the order addCheck creates them (one hidden class for every key).
    const k: ReqKey = {
      check: a[i + 1] as ReqKey['check'],
      groups: a[i + 2] as string[],
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
      firstMs: numIn(a[i + 13] as number | string),
      first: a[i + 14] as string,
      lastMs: numIn(a[i + 15] as number | string),
      last: a[i + 16] as string,
      examples,
    };
    const extra = a[i + 18];
    if (extra !== 0) Object.assign(k, fromJsonTree(extra) as Record<string, unknown>);
    m.set(a[i] as string, k);
  }
  return m;
}

/** drift's [user, SubjectUse] entries as run lines (the users map's SpillSpec.codec). */
export const USE_CODEC: LineCodec<[string, SubjectUse]> = {
  encode([key, u]) {
    const reasons = Object.keys(u.unjudged.reasons).length ? toJsonTree(u.unjudged.reasons) : 0;
    return JSON.stringify([key, u.user, [...u.groups], u.requests, u.checks, u.unjudged.requests, reasons, u.unjudged.examples, keysOut(u.keys)]);
  },
  decode(line) {
    const a = JSON.parse(line) as unknown[];
    const u: SubjectUse = {
      // The fields in the order use() creates them.
      user: a[1] as string,
      groups: new Set(a[2] as string[]),
      requests: a[3] as number,
      checks: a[4] as number,
      keys: keysIn(a[8] as unknown[]),
      unjudged: { requests: a[5] as number, reasons: a[6] === 0 ? {} : (fromJsonTree(a[6]) as Record<string, number>), examples: a[7] as string[] },
    };
    return [a[0] as string, u];
  },
};
