// How compliance's drift entries travel through drift's report sort (issue 15): drift sorts every
// subject's entry into report order and, past the memory budget, writes it out and reads it back.
// compliance reads only part of each entry (slimEntry); at a million distinct users that part was
// copied into a slim object, walked for tags and written as JSON objects by encodeLine, then
// parsed back into objects: a third of drift's finish. ENTRY_CODEC writes the slim part straight
// from the whole entry as one flat JSON array, and reads it back as the slim entry:
//
//   [KIND, NAME, NAMESPACE, REQUESTS, DORMANT, GRANTED_RULES, USED_RULES, SCORE, SEVERITY, USED, UNUSED, EXCESS, UNCOVERED]
//
// USED, UNUSED and EXCESS are 0 when empty (nearly every subject of a large log: users without
// grants of their own), else the generic tree (src/scale/codec.ts toJsonTree) of the slim list;
// UNCOVERED is flat, UNCOVERED_FIELDS items per uncovered request. Numbers JSON has no literal for
// are written as strings (numOut). decode(encode(d)) deep-equals slimEntry(d), key order included
// (a property test checks it against decodeLine(encodeLine(slimEntry(d)))).
import type { LineCodec } from '../../scale/codec.js';
import { fromJsonTree, numIn, numOut, toJsonTree } from '../../scale/codec.js';
import type { SubjectDrift } from '../drift/evaluate.js';

const NO_USE: SubjectDrift['used'][number]['used'] = { verbs: [], resources: [], apiGroups: [], names: [] };

/** Items per uncovered request in UNCOVERED. */
const UNCOVERED_FIELDS = 9;

function slimUsed(d: SubjectDrift): SubjectDrift['used'] {
  return d.used.map((u) => ({ source: u.source, rule: u.rule, used: NO_USE, requests: u.requests, auditIDs: u.auditIDs, full: false, fraction: 0 }));
}

function slimUnused(d: SubjectDrift): SubjectDrift['unusedRules'] {
  return d.unusedRules.map((u) => ({ source: u.source, rule: u.rule, sensitive: [] }));
}

/**
 * A subject's drift entry with only the fields compliance's assemble and checks read (subject,
 * counts, score and band, the rules used and unused with their sources and auditIDs, sensitive
 * excess, uncovered requests without their names and locations); the others are emptied.
 */
export function slimEntry(d: SubjectDrift): SubjectDrift {
  return {
    subject: d.subject,
    groups: [],
    requests: d.requests,
    otherChecks: 0,
    unjudgedWrites: null,
    dormant: d.dormant,
    grantedRules: d.grantedRules,
    usedRules: d.usedRules,
    fullyUsedRules: 0,
    sharedRules: 0,
    used: slimUsed(d),
    unusedRules: slimUnused(d),
    uncovered: d.uncovered.map((u) => ({ check: u.check, verb: u.verb, apiGroup: u.apiGroup, resource: u.resource, namespace: u.namespace, nonResourceURL: u.nonResourceURL, names: [], requests: u.requests, denied: u.denied, examples: u.examples, location: null })),
    sensitiveExcess: d.sensitiveExcess,
    score: d.score,
    severity: d.severity,
    location: null,
  };
}

/** A list as 0 (empty) or its generic tree. */
function listOut(a: readonly unknown[]): unknown {
  return a.length === 0 ? 0 : toJsonTree(a);
}

function listIn<T>(x: unknown): T[] {
  return x === 0 ? [] : (fromJsonTree(x) as T[]);
}

/** compliance's drift entries: the whole entry in, its slim form (slimEntry) out. */
export const ENTRY_CODEC: LineCodec<SubjectDrift> = {
  encode(d) {
    const unc = new Array<unknown>(UNCOVERED_FIELDS * d.uncovered.length);
    let i = 0;
    for (const u of d.uncovered) {
      unc[i++] = u.check;
      unc[i++] = u.verb;
      unc[i++] = u.apiGroup;
      unc[i++] = u.resource;
      unc[i++] = u.namespace;
      unc[i++] = u.nonResourceURL;
      unc[i++] = numOut(u.requests);
      unc[i++] = numOut(u.denied);
      unc[i++] = u.examples;
    }
    const s = d.subject;
    return JSON.stringify([s.kind, s.name, s.namespace, numOut(d.requests), d.dormant, numOut(d.grantedRules), numOut(d.usedRules), d.score === null ? null : numOut(d.score), d.severity, d.used.length ? listOut(slimUsed(d)) : 0, d.unusedRules.length ? listOut(slimUnused(d)) : 0, listOut(d.sensitiveExcess), unc]);
  },
  decode(line) {
    const a = JSON.parse(line) as unknown[];
    const flat = a[12] as unknown[];
    const uncovered: SubjectDrift['uncovered'] = [];
    for (let i = 0; i + UNCOVERED_FIELDS <= flat.length; i += UNCOVERED_FIELDS) {
      uncovered.push({ check: flat[i] as 'request' | 'impersonate', verb: flat[i + 1] as string, apiGroup: flat[i + 2] as string, resource: flat[i + 3] as string, namespace: flat[i + 4] as string, nonResourceURL: flat[i + 5] as string, names: [], requests: numIn(flat[i + 6] as number | string), denied: numIn(flat[i + 7] as number | string), examples: flat[i + 8] as string[], location: null });
    }
    // The fields in slimEntry's order.
    return {
      subject: { kind: a[0] as SubjectDrift['subject']['kind'], name: a[1] as string, namespace: a[2] as string },
      groups: [],
      requests: numIn(a[3] as number | string),
      otherChecks: 0,
      unjudgedWrites: null,
      dormant: a[4] as boolean,
      grantedRules: numIn(a[5] as number | string),
      usedRules: numIn(a[6] as number | string),
      fullyUsedRules: 0,
      sharedRules: 0,
      used: listIn(a[9]),
      unusedRules: listIn(a[10]),
      uncovered,
      sensitiveExcess: listIn(a[11]),
      score: a[7] === null ? null : numIn(a[7] as number | string),
      severity: a[8] as SubjectDrift['severity'],
      location: null,
    };
  },
};

/** One row of the report's `subjects` list (ComplianceReport['subjects']), in its key order. */
export interface SubjectRow {
  kind: string;
  name: string;
  namespace: string;
  requests: number;
  grantedRules: number;
  usedRules: number;
  unusedRules: number;
  sensitiveExcess: number;
  score: number | null;
  severity: string;
  dormant: boolean;
}

/**
 * The report's subject rows in spilled lists (ListWriter's codec; issue 15, branch c15c): a
 * million-subject list went through the generic codec (a tagged copy of each row, its keys in
 * every line, a walk of each parsed row). Here one flat JSON array per row, by position:
 *
 *   [KIND, NAME, NAMESPACE, REQUESTS, GRANTED_RULES, USED_RULES, UNUSED_RULES, SENSITIVE_EXCESS, SCORE, SEVERITY, DORMANT]
 *
 * Numbers JSON has no literal for are written as strings (numOut); SCORE null stays null. Read
 * back as an object with the keys in SubjectRow's order: decode(encode(r)) deep-equals r (a
 * property test checks it against decodeLine(encodeLine(r))).
 */
export const SUBJECT_ROW_CODEC: LineCodec<SubjectRow> = {
  encode: (r) => JSON.stringify([r.kind, r.name, r.namespace, numOut(r.requests), numOut(r.grantedRules), numOut(r.usedRules), numOut(r.unusedRules), numOut(r.sensitiveExcess), r.score === null ? null : numOut(r.score), r.severity, r.dormant]),
  decode(line) {
    const a = JSON.parse(line) as unknown[];
    return {
      kind: a[0] as string,
      name: a[1] as string,
      namespace: a[2] as string,
      requests: numIn(a[3] as number | string),
      grantedRules: numIn(a[4] as number | string),
      usedRules: numIn(a[5] as number | string),
      unusedRules: numIn(a[6] as number | string),
      sensitiveExcess: numIn(a[7] as number | string),
      score: a[8] === null ? null : numIn(a[8] as number | string),
      severity: a[9] as string,
      dormant: a[10] as boolean,
    };
  },
};
