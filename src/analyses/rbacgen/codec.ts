// How rbac-gen's per-subject aggregates are written in spilled runs (issue 15: a million subjects
// are spilled once and read back twice). The generic codec (src/scale/codec.ts) walks any plain
// data and tags its Maps and Sets as objects; a subject's aggregate has one known shape, so its
// common part is written as flat JSON arrays by position (cheaper to build, to stringify and to
// parse), and only the rare part (role writes) goes through the generic tree. The line is JSON:
//
//   [KEY, KIND, NAMESPACE, NAME, REQUESTS, KEYS, DEFAULTS, ROLE_WRITES]
//
// KEYS and DEFAULTS are flat arrays of KEY_FIELDS items per permission (its map key, then the
// KeyAgg fields in declaration order, names as an array or null, examples flattened as time, id,
// time, id); ROLE_WRITES is 0 when there are none, else the generic tree of the Map. Numbers JSON
// has no literal for (±Infinity, NaN, -0: a time that was never seen) are written as strings.
// decode(encode(x)) deep-equals x, with the same key order in every object (a property test checks it).
import type { LineCodec } from '../../scale/codec.js';
import { examplesIn, examplesOut, fromJsonTree, numIn, numOut, toJsonTree } from '../../scale/codec.js';
import type { KeyAgg, PermissionKind, RoleWriteAgg, SubjectAgg } from './index.js';
import { noEntries } from './empty.js';

/** Items per permission in KEYS and DEFAULTS. */
const KEY_FIELDS = 16;

function keysOut(m: Map<string, KeyAgg>): unknown[] {
  const out: unknown[] = [];
  for (const [key, k] of m) {
    const ex = examplesOut(k.examples);
    out.push(key, k.scope, k.apiGroup, k.resource, k.subresource, k.nonResourceURL, k.verb, k.kind, k.count, numOut(k.firstMs), k.first, numOut(k.lastMs), k.last, k.names === null ? null : [...k.names], k.unnamed ? 1 : 0, ex);
  }
  return out;
}

function keysIn(a: unknown[], empty: Map<string, KeyAgg> | null): Map<string, KeyAgg> {
  if (a.length === 0 && empty !== null) return empty;
  const m = new Map<string, KeyAgg>();
  for (let i = 0; i + KEY_FIELDS <= a.length; i += KEY_FIELDS) {
    const names = a[i + 13] as string[] | null;
    const examples = examplesIn(a[i + 15] as (number | string)[]);
    // The fields in the order addKey creates them (one hidden class for every KeyAgg).
    m.set(a[i] as string, {
      scope: a[i + 1] as string,
      apiGroup: a[i + 2] as string,
      resource: a[i + 3] as string,
      subresource: a[i + 4] as string,
      nonResourceURL: a[i + 5] as string,
      verb: a[i + 6] as string,
      kind: a[i + 7] as PermissionKind,
      count: a[i + 8] as number,
      firstMs: numIn(a[i + 9] as number | string),
      first: a[i + 10] as string,
      lastMs: numIn(a[i + 11] as number | string),
      last: a[i + 12] as string,
      names: names === null ? null : new Set(names),
      unnamed: a[i + 14] === 1,
      examples,
    });
  }
  return m;
}

/** rbac-gen's [subjectSortKey, SubjectAgg] entries as run lines (the subjects map's SpillSpec.codec). */
export const SUBJECT_CODEC: LineCodec<[string, SubjectAgg]> = {
  encode([key, s]) {
    const rw = s.roleWrites.size ? toJsonTree(s.roleWrites) : 0;
    return JSON.stringify([key, s.subject.kind, s.subject.namespace, s.subject.name, s.requests, keysOut(s.keys), keysOut(s.defaults), rw]);
  },
  decode(line) {
    const a = JSON.parse(line) as unknown[];
    const agg: SubjectAgg = {
      // The fields in the order policySubjectFor creates them (a report writes them in this order).
      subject: { kind: a[1] as SubjectAgg['subject']['kind'], name: a[3] as string, namespace: a[2] as string },
      requests: a[4] as number,
      keys: keysIn(a[5] as unknown[], null),
      // Empty: the shared empty map, as a new subject has (src/analyses/rbacgen/index.ts NO_ENTRIES).
      defaults: keysIn(a[6] as unknown[], noEntries()),
      roleWrites: a[7] === 0 ? noEntries() : (fromJsonTree(a[7]) as Map<string, RoleWriteAgg>),
    };
    return [a[0] as string, agg];
  },
};
