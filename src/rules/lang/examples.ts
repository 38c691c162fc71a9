// Embedded examples: each rule carries requests that it must match and requests it must not, run
// by `audit rules test FILE` and by the test suite for every built-in rule. An example gives
// normalized records (only the fields that matter; the rest are filled in as kaudit's normalizer
// would) or raw audit.k8s.io Events (normalized by kaudit itself).
import type { AuditRecord } from '../../types.js';
import { classifySubject } from '../../normalize/subject.js';
import { parseUserAgent, accessMethodFor } from '../../normalize/useragent.js';
import { decisionFrom, EMPTY_EXTRA, EMPTY_STRINGS } from '../../normalize/event.js';
import { normalizeValue, Ignored } from '../../normalize/index.js';
import { parseTimeMs } from '../../normalize/time.js';
import { DetectionEngine } from './engine.js';
import type { CompiledRule, ExampleExpect, RuleExample } from './types.js';

const BASE_MS = Date.parse('2026-03-02T10:00:00Z');

/** A full record from the fields an example gives (i: its position, for default times and IDs). */
export function exampleRecord(p: Record<string, unknown>, i: number): AuditRecord {
  const subject = typeof p.subject === 'string' ? p.subject : 'alice@example.com';
  const who = classifySubject(subject);
  const code = typeof p.code === 'number' ? p.code : 200;
  const ua = typeof p.userAgent === 'string' ? p.userAgent : 'kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc';
  const parsed = parseUserAgent(ua);
  const time = typeof p.time === 'string' ? p.time : new Date(BASE_MS + i * 1000).toISOString();
  const resource = typeof p.resource === 'string' ? p.resource : '';
  const kind = subject === '' ? 'Unauthenticated' : who.kind;
  const rec: AuditRecord = {
    time,
    timeMs: parseTimeMs(time),
    auditID: `example-${i + 1}`,
    stage: 'ResponseComplete',
    level: p.requestObject !== undefined || p.responseObject !== undefined ? 'RequestResponse' : 'Metadata',
    cluster: '',
    subject,
    subjectKind: kind as AuditRecord['subjectKind'],
    subjectNamespace: who.namespace,
    subjectName: who.kind === 'ServiceAccount' ? who.name : '',
    groups: subject === '' ? [] : kind === 'Anonymous' ? ['system:unauthenticated'] : ['system:authenticated'],
    impersonator: '',
    principal: '',
    verb: 'get',
    apiGroup: '',
    apiVersion: 'v1',
    resource,
    subresource: '',
    namespace: '',
    name: '',
    nonResourceURL: resource ? '' : typeof p.nonResourceURL === 'string' ? p.nonResourceURL : '/',
    requestURI: '',
    code,
    decision: decisionFrom(typeof p.decision === 'string' ? p.decision : '', code),
    durationMs: 5,
    sourceIP: '10.0.0.1',
    userAgent: ua,
    client: parsed.client,
    clientVersion: parsed.clientVersion,
    accessMethod: accessMethodFor(parsed, who.kind),
    provider: 'k8s',
    auditIDReused: false,
    location: { file: 'example', line: i + 1, unit: 'item' },
    impersonatorGroups: EMPTY_STRINGS,
    impersonatedUID: '',
    impersonatedExtra: EMPTY_EXTRA,
    responseStartedMs: null,
  };
  for (const [k, v] of Object.entries(p)) (rec as unknown as Record<string, unknown>)[k] = v;
  if (typeof p.time === 'string' && p.timeMs === undefined) rec.timeMs = parseTimeMs(p.time);
  if (p.auditID === undefined) rec.auditID = `example-${i + 1}`;
  return rec;
}

/** The records of an example; throws an Error naming an event kaudit rejects. */
export function exampleRecords(e: RuleExample): AuditRecord[] {
  if (e.records) return e.records.map((r, i) => exampleRecord(r, i));
  return (e.events ?? []).map((ev, i) => {
    const r = normalizeValue(ev, '');
    if (typeof r === 'string') throw new Error(`event ${i + 1} is not an audit event kaudit reads: ${r}`);
    if (r instanceof Ignored) throw new Error(`event ${i + 1} is not an audit event: ${r.reason}`);
    return r;
  });
}

export interface ExampleResult {
  rule: string;
  example: string;
  expect: ExampleExpect;
  got: ExampleExpect | 'error';
  /** Hits' reasons, or the error. */
  detail: string;
}

/** Runs one rule's examples, each on a fresh engine holding that rule alone. */
export function runExamples(rule: CompiledRule): ExampleResult[] {
  return rule.doc.examples.map((ex) => {
    let recs: AuditRecord[];
    try {
      recs = exampleRecords(ex);
    } catch (e) {
      return { rule: rule.doc.id, example: ex.name, expect: ex.expect, got: 'error', detail: (e as Error).message };
    }
    const engine = new DetectionEngine({ rules: [{ ...rule, index: 0 }], warnings: [] });
    const reasons: string[] = [];
    for (const r of recs) engine.evaluate(r, (h) => reasons.push(h.reason));
    const st = engine.stats()[0]!;
    const got: ExampleExpect = reasons.length ? 'match' : Object.keys(st.notEvaluated).length ? 'not-evaluated' : 'no-match';
    return { rule: rule.doc.id, example: ex.name, expect: ex.expect, got, detail: reasons.length ? reasons.join('; ') : Object.entries(st.notEvaluated).map(([k, n]) => `${n} not evaluated: ${k}`).join('; ') };
  });
}
