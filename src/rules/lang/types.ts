// Types of kaudit's detection rule language: rule documents as written in YAML (after validation),
// and the compiled form the engine evaluates. The language is described in README.md ("Detection
// rules") and validated by schema.ts.
import type { AuditRecord, Loc } from '../../types.js';
import type { Severity } from '../sensitive.js';

export type Scalar = string | number | boolean | null;

/** A list of values written out, or a reference to a named list (`{list: NAME}`). */
export type ValueSet = Scalar[] | { list: string };

/** Operators of a field condition; exactly one per condition. */
export const OPERATORS = ['equals', 'in', 'glob', 'contains', 'startswith', 'endswith', 'regex', 'cidr', 'exists', 'gt', 'gte', 'lt', 'lte', 'equalsField'] as const;
export type Operator = (typeof OPERATORS)[number];

/** `{field: PATH, <operator>: VALUE}`: true when the field's value(s) satisfy the operator. */
export interface FieldCondition {
  field: string;
  equals?: Scalar;
  in?: ValueSet;
  glob?: string | ValueSet;
  contains?: string | ValueSet;
  startswith?: string | ValueSet;
  endswith?: string | ValueSet;
  regex?: string | ValueSet;
  cidr?: string | ValueSet;
  exists?: boolean;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  /** The value equals another field's value (a path on the same record). */
  equalsField?: string;
  /** Compare strings case-insensitively (equals, in, glob, contains, startswith, endswith, regex). */
  ignoreCase?: boolean;
  /** When the path gives several values (arrays, wildcards): any (default), all (and at least one), none. */
  quantifier?: 'any' | 'all' | 'none';
}

export type Condition =
  | FieldCondition
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { macro: string }
  /** Array quantifiers: the elements at PATH, with `where` evaluated on each element (paths inside are relative; `$.x` is the record's x, `@` the element). */
  | { some: string; where: Condition }
  | { every: string; where: Condition }
  | { none: string; where: Condition };

/** N matching requests within a window, per key (stateful). */
export interface ThresholdSpec {
  count: number;
  /** Window in ms. */
  withinMs: number;
  /** Fields whose values make the key (e.g. subject, sourceIP); [] = one key. */
  by: string[];
}

/** The first time a value is seen per key, after the key has been observed for a learning period. */
export interface FirstSeenSpec {
  /** Fields whose values are the "new" thing (e.g. client, sourceIP). */
  value: string[];
  by: string[];
  /** A key must have been seen this long before a new value is reported (ms). */
  afterMs: number;
}

/** Step conditions in order, by the same key, the last within a window of the first. */
export interface SequenceSpec {
  steps: Condition[];
  withinMs: number;
  by: string[];
}

export type ExampleExpect = 'match' | 'no-match' | 'not-evaluated';

/** An embedded example: records (partial, normalized) or raw audit events, and what the rule should do. */
export interface RuleExample {
  name: string;
  expect: ExampleExpect;
  records?: Record<string, unknown>[];
  events?: Record<string, unknown>[];
}

/** Where a rule came from. */
export interface RuleSource {
  kind: 'builtin' | 'file' | 'sigma';
  /** The file it was read from (relative to the package for built-ins). */
  file: string;
  /** Built-in family (the file's stem) or the user file's `family`. */
  family: string;
}

/** Metadata a Sigma rule carries into its findings, as the rule gives it. */
export interface SigmaMeta {
  id: string;
  title: string;
  author: string;
  license: string;
  status: string;
  date: string;
  modified: string;
}

/** A validated rule document. */
export interface RuleDoc {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  /** MITRE ATT&CK technique ids (T1234 or T1234.001), checked against data/attack-enterprise.json. */
  technique: string[];
  tags: string[];
  references: string[];
  falsePositives: string[];
  remediation: string;
  /** One-line reason template: {field} or {path.in.body} from the request; {count}, {within}, {key} for stateful rules. */
  reason: string;
  /** Which requests the rule (or, for stateful rules, its state) considers. */
  match: Condition | null;
  threshold: ThresholdSpec | null;
  firstSeen: FirstSeenSpec | null;
  sequence: SequenceSpec | null;
  examples: RuleExample[];
  /** Off-by-default rules (they need local data, e.g. your registries) run only when named by --enable-rule. */
  enabled: boolean;
  source: RuleSource;
  sigma: SigmaMeta | null;
}

/** Three-valued truth: a condition over a body that was not logged is unknown, never false. */
export const F = 0;
export const T = 1;
export const U = 2;
export type Truth = 0 | 1 | 2;

/** What a compiled condition reads: the request, and the scope of an array quantifier. */
export interface EvalContext {
  rec: AuditRecord;
  /** Current element inside `some`/`every`/`none` (undefined at the record level). */
  scope: unknown;
  inScope: boolean;
  /** Why the last unknown arose (for the rule's "not evaluated" count). */
  why: string;
  /** Per-record cache of the body views (a JSON Patch turned into the fragment it sets). */
  bodies: Map<string, unknown>;
}

export type CompiledCondition = (c: EvalContext) => Truth;

/** A rule ready to evaluate. */
export interface CompiledRule {
  doc: RuleDoc;
  /** Index of the rule in its set (stable; the fault hook of issue 23 names rules by it). */
  index: number;
  match: CompiledCondition;
  /** Prefilter sets from the rule's top-level conjunction (null = any value). */
  verbs: ReadonlySet<string> | null;
  resources: ReadonlySet<string> | null;
  subjectKinds: ReadonlySet<string> | null;
  steps: CompiledCondition[];
  by: ((r: AuditRecord) => string)[];
  value: ((r: AuditRecord) => string)[];
  reason: (r: AuditRecord, extra: Record<string, string>) => string;
}

/** Evidence of one request behind a hit. */
export interface HitEvent {
  timeMs: number;
  time: string;
  auditID: string;
  /** Where the request was read (file and line or item). */
  location: Loc;
}

/** A rule that fired: on `record` (the last request for stateful rules), with its evidence. */
export interface Hit {
  rule: CompiledRule;
  record: AuditRecord;
  events: HitEvent[];
  /** Stateful rules report per key: the key's field values (`by`), which replace the request's fields. */
  key: Record<string, string> | null;
  reason: string;
}

/** Per-rule run statistics, reported in the summary. */
export interface RuleStats {
  rule: string;
  /** Requests the rule matched (or, for stateful rules, that entered its state). */
  matched: number;
  /** Requests the rule could not judge, by reason ("body not logged"). */
  notEvaluated: Record<string, number>;
  /** Keys dropped from bounded state (oldest first) — windows across them may be missed. */
  evictedKeys: number;
}
