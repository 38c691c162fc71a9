// The schema of rule files: validates parsed YAML into rule documents and collects every error with
// the file, the rule and the field it is about. Conditions are checked when they are compiled
// (compile.ts), with the same kind of message.
//
//   family: workloads            # optional (default: the file's name)
//   lists:   {NAME: [values…]}   # shared by every file of the run; a later file's list replaces an earlier one
//   macros:  {NAME: condition}   # likewise
//   rules:   [rule…]             # see RULE_KEYS
import type { Severity } from '../sensitive.js';
import { isAttackTechnique, attackTechniques } from '../assets.js';
import { COMPUTED_FIELDS, FIELDS } from './path.js';
import type { Condition, ExampleExpect, FirstSeenSpec, RuleDoc, RuleExample, RuleSource, Scalar, SequenceSpec, ThresholdSpec } from './types.js';

/** One problem in a rule file. */
export interface RuleError {
  file: string;
  /** Rule id ('' for the file itself or its lists and macros). */
  rule: string;
  /** Where in the rule or file: `severity`, `match.all[2].regex`, `examples[0].records`. */
  field: string;
  message: string;
}

export function formatRuleError(e: RuleError): string {
  return `${e.file}:${e.rule ? ` rule ${e.rule}:` : ''}${e.field ? ` ${e.field}:` : ''} ${e.message}`;
}

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const FILE_KEYS = ['family', 'lists', 'macros', 'rules'];
export const RULE_KEYS = ['id', 'title', 'description', 'severity', 'technique', 'tags', 'references', 'falsePositives', 'remediation', 'reason', 'enabled', 'match', 'threshold', 'firstSeen', 'sequence', 'examples'];
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;
const NAME = /^[a-z0-9][a-z0-9_-]*$/i;

/** What one rule file holds once validated (conditions still raw). */
export interface RuleFile {
  file: string;
  family: string;
  lists: Map<string, Scalar[]>;
  macros: Map<string, Condition>;
  rules: RuleDoc[];
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown): v is Scalar => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** "5m", "30s", "2h", "1d", "500ms" → ms; null when not a duration. */
export function parseDuration(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
  if (!m) return null;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
}

class Checker {
  constructor(
    readonly file: string,
    readonly rule: string,
    readonly errors: RuleError[],
  ) {}
  err(field: string, message: string): void {
    this.errors.push({ file: this.file, rule: this.rule, field, message });
  }
  str(o: Record<string, unknown>, k: string, required: boolean): string {
    const v = o[k];
    if (v === undefined || v === null) {
      if (required) this.err(k, 'is required');
      return '';
    }
    if (typeof v !== 'string' || (required && v.trim() === '')) {
      this.err(k, typeof v === 'string' ? 'must not be empty' : `expected text, got ${typeof v}`);
      return '';
    }
    return v.trim();
  }
  strs(o: Record<string, unknown>, k: string): string[] {
    const v = o[k];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.err(k, 'expected a list of text');
      return [];
    }
    return v as string[];
  }
  fields(v: unknown, where: string): string[] {
    const xs = v === undefined ? [] : typeof v === 'string' ? [v] : v;
    if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'string')) {
      this.err(where, 'expected a field name or a list of field names');
      return [];
    }
    for (const [i, f] of xs.entries()) {
      const def = FIELDS.get(f as string);
      if (!def) this.err(`${where}[${i}]`, `unknown field ${JSON.stringify(f)}: use a record field such as subject, sourceIP, namespace`);
      else if (def.type === 'body') this.err(`${where}[${i}]`, `${f} is a body: key stateful rules by record fields`);
    }
    return xs as string[];
  }
}

function checkKeys(c: Checker, o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) c.err(where ? `${where}.${k}` : k, `unknown key (allowed: ${allowed.join(', ')})`);
}

function threshold(c: Checker, v: unknown): ThresholdSpec | null {
  if (!isObj(v)) return (c.err('threshold', 'expected {count, within, by}'), null);
  checkKeys(c, v, ['count', 'within', 'by'], 'threshold');
  const count = v.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000) c.err('threshold.count', 'expected a whole number from 1 to 10000');
  const withinMs = parseDuration(v.within);
  if (withinMs === null || withinMs <= 0) c.err('threshold.within', 'expected a duration such as 5m, 30s or 1h');
  return { count: count as number, withinMs: withinMs ?? 0, by: c.fields(v.by, 'threshold.by') };
}

function firstSeen(c: Checker, v: unknown): FirstSeenSpec | null {
  if (!isObj(v)) return (c.err('firstSeen', 'expected {value, by, after}'), null);
  checkKeys(c, v, ['value', 'by', 'after'], 'firstSeen');
  const value = c.fields(v.value, 'firstSeen.value');
  if (value.length === 0) c.err('firstSeen.value', 'name the field(s) whose new values are reported');
  const afterMs = v.after === undefined ? 0 : parseDuration(v.after);
  if (afterMs === null) c.err('firstSeen.after', 'expected a duration such as 1h or 1d');
  return { value, by: c.fields(v.by, 'firstSeen.by'), afterMs: afterMs ?? 0 };
}

function sequence(c: Checker, v: unknown): SequenceSpec | null {
  if (!isObj(v)) return (c.err('sequence', 'expected {steps, within, by}'), null);
  checkKeys(c, v, ['steps', 'within', 'by'], 'sequence');
  if (!Array.isArray(v.steps) || v.steps.length < 2) c.err('sequence.steps', 'expected a list of two or more conditions');
  const withinMs = parseDuration(v.within);
  if (withinMs === null || withinMs <= 0) c.err('sequence.within', 'expected a duration such as 10m');
  return { steps: Array.isArray(v.steps) ? (v.steps as Condition[]) : [], withinMs: withinMs ?? 0, by: c.fields(v.by, 'sequence.by') };
}

const TYPE_TEXT = { string: 'text', number: 'a number', boolean: 'true or false', strings: 'a list of text', body: 'a body' } as const;

/** A value an example record may give a field of this type (a number field may be null: durationMs when unknown). */
function fitsType(type: keyof typeof TYPE_TEXT, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return v === null || typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'body':
      return true;
  }
}

function examples(c: Checker, v: unknown): RuleExample[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return (c.err('examples', 'expected a list'), []);
  return v.flatMap((e, i): RuleExample[] => {
    const w = `examples[${i}]`;
    if (!isObj(e)) return (c.err(w, 'expected a mapping with expect and record(s) or event(s)'), []);
    checkKeys(c, e, ['name', 'expect', 'record', 'records', 'event', 'events'], w);
    const expect = e.expect;
    if (!['match', 'no-match', 'not-evaluated'].includes(expect as string)) c.err(`${w}.expect`, 'expected match, no-match or not-evaluated');
    const list = (k: string): Record<string, unknown>[] | undefined => {
      const x = e[k];
      if (x === undefined) return undefined;
      const xs = Array.isArray(x) ? x : [x];
      if (!xs.every(isObj)) c.err(`${w}.${k}`, 'expected a mapping or a list of mappings');
      return xs as Record<string, unknown>[];
    };
    const records = [...(list('record') ?? []), ...(list('records') ?? [])];
    records.forEach((r, j) => {
      for (const k of Object.keys(r)) {
        const def = FIELDS.get(k);
        if (!def || COMPUTED_FIELDS.has(k)) c.err(`${w}.records[${j}].${k}`, `not a field of the normalized record${COMPUTED_FIELDS.has(k) ? ' (it is computed from the others)' : ''}`);
        else if (!fitsType(def.type, r[k])) c.err(`${w}.records[${j}].${k}`, `expected ${TYPE_TEXT[def.type]}, got ${JSON.stringify(r[k])}`);
      }
    });
    const events = [...(list('event') ?? []), ...(list('events') ?? [])];
    if (records.length === 0 && events.length === 0) c.err(w, 'give record(s) (normalized fields) or event(s) (raw audit events)');
    if (records.length && events.length) c.err(w, 'give records or events, not both');
    return [{ name: typeof e.name === 'string' ? e.name : `example ${i + 1}`, expect: expect as ExampleExpect, ...(records.length ? { records } : {}), ...(events.length ? { events } : {}) }];
  });
}

/** Validates one rule; pushes errors and returns the rule (possibly incomplete when there were errors). */
export function checkRule(raw: unknown, index: number, file: string, source: RuleSource, errors: RuleError[]): RuleDoc | null {
  if (!isObj(raw)) {
    errors.push({ file, rule: '', field: `rules[${index}]`, message: 'expected a mapping (a rule)' });
    return null;
  }
  const id = typeof raw.id === 'string' ? raw.id : '';
  const c = new Checker(file, id || `#${index + 1}`, errors);
  if (!id) c.err('id', 'is required');
  else if (!ID.test(id)) c.err('id', `${JSON.stringify(id)}: use letters, digits and . _ : - (e.g. ACME-EXEC-PROD)`);
  checkKeys(c, raw, RULE_KEYS, '');
  const severity = raw.severity as Severity;
  if (!SEVERITIES.includes(severity)) c.err('severity', `expected ${SEVERITIES.join(', ')}`);
  const technique = c.strs(raw, 'technique');
  if (raw.technique === undefined) c.err('technique', 'is required (a MITRE ATT&CK id such as T1609, or [] when none fits)');
  for (const [i, t] of technique.entries()) {
    if (!TECHNIQUE.test(t)) c.err(`technique[${i}]`, `${JSON.stringify(t)} is not an ATT&CK technique id (T1234 or T1234.001)`);
    else if (!isAttackTechnique(t)) c.err(`technique[${i}]`, `${t} is not a technique of MITRE ATT&CK Enterprise v${attackTechniques().version}`);
  }
  const stateful = (['threshold', 'firstSeen', 'sequence'] as const).filter((k) => raw[k] !== undefined);
  if (stateful.length > 1) c.err(stateful[1]!, `a rule is one of threshold, firstSeen or sequence, not ${stateful.join(' and ')}`);
  if (raw.match === undefined && raw.sequence === undefined) c.err('match', 'is required (the condition a request must meet)');
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') c.err('enabled', 'expected true or false');
  const doc: RuleDoc = {
    id,
    title: c.str(raw, 'title', true),
    description: c.str(raw, 'description', true),
    severity,
    technique,
    tags: c.strs(raw, 'tags'),
    references: c.strs(raw, 'references'),
    falsePositives: c.strs(raw, 'falsePositives'),
    remediation: c.str(raw, 'remediation', false),
    reason: c.str(raw, 'reason', false),
    match: (raw.match as Condition | undefined) ?? null,
    threshold: raw.threshold !== undefined ? threshold(c, raw.threshold) : null,
    firstSeen: raw.firstSeen !== undefined ? firstSeen(c, raw.firstSeen) : null,
    sequence: raw.sequence !== undefined ? sequence(c, raw.sequence) : null,
    examples: examples(c, raw.examples),
    enabled: raw.enabled !== false,
    source,
    sigma: null,
  };
  return doc;
}

/** Validates a parsed rule file. */
export function checkRuleFile(doc: unknown, file: string, kind: 'builtin' | 'file', defaultFamily: string, errors: RuleError[]): RuleFile {
  const out: RuleFile = { file, family: defaultFamily, lists: new Map(), macros: new Map(), rules: [] };
  const c = new Checker(file, '', errors);
  if (!isObj(doc)) {
    c.err('', 'expected a mapping with rules (and optionally family, lists, macros)');
    return out;
  }
  checkKeys(c, doc, FILE_KEYS, '');
  if (doc.family !== undefined) {
    if (typeof doc.family !== 'string' || !NAME.test(doc.family)) c.err('family', 'expected a name (letters, digits, - and _)');
    else out.family = doc.family;
  }
  if (doc.lists !== undefined) {
    if (!isObj(doc.lists)) c.err('lists', 'expected a mapping of NAME: [values]');
    else
      for (const [name, v] of Object.entries(doc.lists)) {
        if (!NAME.test(name)) c.err(`lists.${name}`, 'a list name uses letters, digits, - and _');
        if (!Array.isArray(v) || !v.every(isScalar)) c.err(`lists.${name}`, 'expected a list of values');
        else out.lists.set(name, v);
      }
  }
  if (doc.macros !== undefined) {
    if (!isObj(doc.macros)) c.err('macros', 'expected a mapping of NAME: condition');
    else
      for (const [name, v] of Object.entries(doc.macros)) {
        if (!NAME.test(name)) c.err(`macros.${name}`, 'a macro name uses letters, digits, - and _');
        else out.macros.set(name, v as Condition);
      }
  }
  if (doc.rules !== undefined && !Array.isArray(doc.rules)) c.err('rules', 'expected a list of rules');
  const rules = Array.isArray(doc.rules) ? doc.rules : [];
  const source: RuleSource = { kind, file, family: out.family };
  const seen = new Set<string>();
  for (const [i, r] of rules.entries()) {
    const rule = checkRule(r, i, file, source, errors);
    if (!rule) continue;
    if (rule.id && seen.has(rule.id)) errors.push({ file, rule: rule.id, field: 'id', message: 'is used twice in this file' });
    seen.add(rule.id);
    out.rules.push(rule);
  }
  return out;
}
