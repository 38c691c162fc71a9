// Sigma rules for Kubernetes audit logs, run offline: a rule whose logsource is Kubernetes audit is
// translated into kaudit's rule language, with the Sigma field names of raw audit events mapped to
// kaudit's record fields. The subset supported is the one Kubernetes audit rules use (README.md,
// "Sigma support"); a rule using anything else is refused whole, with the construct named.
//
// Semantics follow the Sigma specification (SigmaHQ/sigma-specification, specification/
// sigma-rules-specification.md v2 and sigma-appendix-modifiers.md v2.1): values are case-insensitive
// strings with * and ? wildcards (escaped with \), lists are OR unless |all, maps are AND, `re` is
// case-sensitive unless |i, `1 of`/`all of` take identifier patterns, `them` skips identifiers that
// start with _, precedence is or < and < not < x of < ( ).
import { compileGlob } from '../util/glob.js';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { attackTechniques, isAttackTechnique } from './assets.js';
import { parsePath } from './lang/path.js';
import { parseYaml } from './lang/load.js';
import type { RuleError } from './lang/schema.js';
import type { Condition, FieldCondition, RuleDoc, Scalar } from './lang/types.js';
import type { Severity } from './sensitive.js';

/** A Sigma rule kaudit will not run, and why (the unsupported construct, named). */
export class SigmaRefusal extends Error {}

/** Sigma field names of raw audit.k8s.io Events → kaudit record fields. */
export const SIGMA_FIELDS: Readonly<Record<string, string>> = {
  verb: 'verb',
  'objectRef.resource': 'resource',
  'objectRef.subresource': 'subresource',
  'objectRef.namespace': 'namespace',
  'objectRef.name': 'name',
  'objectRef.apiGroup': 'apiGroup',
  'objectRef.apiVersion': 'apiVersion',
  'user.username': 'username',
  'user.groups': 'authenticatedGroups',
  sourceIPs: 'sourceIP',
  userAgent: 'userAgent',
  requestURI: 'requestURI',
  'responseStatus.code': 'code',
  stage: 'stage',
  level: 'level',
  auditID: 'auditID',
  requestReceivedTimestamp: 'time',
  'annotations.authorization.k8s.io/decision': 'decision',
};

/** Fields of the impersonated user: only set when impersonation was used. */
const IMPERSONATED: Readonly<Record<string, string>> = { 'impersonatedUser.username': 'subject', 'impersonatedUser.groups': 'groups' };

const PRODUCTS = ['kubernetes', 'k8s'];
const SERVICES = ['audit', 'audit-logs', 'audit_logs', 'k8s-audit', 'k8s_audit', 'kube-audit', 'kube_audit', 'kubernetes-audit', 'kubernetes_audit', 'apiserver-audit', 'apiserver_audit'];
const LEVELS: Record<string, Severity> = { informational: 'low', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };
const SUPPORTED_MODIFIERS = ['contains', 'startswith', 'endswith', 'all', 're', 'i', 'm', 's', 'cidr', 'exists', 'cased', 'neq', 'gt', 'gte', 'lt', 'lte', 'fieldref'];
const KNOWN_UNSUPPORTED = ['windash', 'base64', 'base64offset', 'utf16', 'utf16le', 'utf16be', 'wide', 'expand', 'minute', 'hour', 'day', 'week', 'month', 'year'];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** True when the logsource is Kubernetes audit (product kubernetes/k8s, service audit and common variants). */
export function isKubernetesAudit(logsource: unknown): boolean {
  if (!isObj(logsource)) return false;
  const p = String(logsource.product ?? '').toLowerCase();
  const s = String(logsource.service ?? '').toLowerCase();
  const c = logsource.category === undefined ? '' : String(logsource.category).toLowerCase();
  return PRODUCTS.includes(p) && SERVICES.includes(s) && (c === '' || c === 'application');
}

function hasWildcard(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && (s[i + 1] === '*' || s[i + 1] === '?' || s[i + 1] === '\\')) i++;
    else if (s[i] === '*' || s[i] === '?') return true;
  }
  return false;
}

/**
 * A value with a `*` appended (contains, startswith): a value that ends in an escaping backslash
 * keeps it as a plain backslash (pySigma's SigmaString: "String ended in escaping mode: accumulate
 * escaping character"), so it is doubled here rather than escaping the appended wildcard.
 */
function withTrailingStar(v: string): string {
  const run = /\\*$/.exec(v)![0].length;
  return `${v}${run % 2 ? '\\' : ''}*`;
}

/** A Sigma value without wildcards, its escapes removed. */
function unescape(s: string): string {
  return s.replace(/\\([*?\\])/g, '$1');
}

function target(field: string): { path: string; impersonated: boolean } {
  if (Object.hasOwn(SIGMA_FIELDS, field)) return { path: SIGMA_FIELDS[field]!, impersonated: false };
  if (Object.hasOwn(IMPERSONATED, field)) return { path: IMPERSONATED[field]!, impersonated: true };
  if (/^(requestObject|responseObject)\./.test(field)) {
    try {
      parsePath(field);
    } catch (e) {
      throw new SigmaRefusal(`field ${JSON.stringify(field)}: ${(e as Error).message}`);
    }
    return { path: field, impersonated: false };
  }
  throw new SigmaRefusal(`field ${JSON.stringify(field)} is not a field of Kubernetes audit events that kaudit keeps (supported: ${[...Object.keys(SIGMA_FIELDS), ...Object.keys(IMPERSONATED), 'requestObject.*', 'responseObject.*'].join(', ')})`);
}

/** One `field|mods: value(s)` item of a selection. */
function fieldItem(key: string, value: unknown): Condition {
  const [field = '', ...mods] = key.split('|');
  if (field === '') throw new SigmaRefusal(`keyword search ${JSON.stringify(key)} (values matched against the whole event)`);
  for (const m of mods) {
    if (KNOWN_UNSUPPORTED.includes(m) || m.startsWith('utf16')) throw new SigmaRefusal(`modifier ${m} (field ${field})`);
    if (!SUPPORTED_MODIFIERS.includes(m)) throw new SigmaRefusal(`unknown modifier ${JSON.stringify(m)} (field ${field})`);
  }
  const has = (m: string): boolean => mods.includes(m);
  if ((has('i') || has('m') || has('s')) && !has('re')) throw new SigmaRefusal(`modifier ${['i', 'm', 's'].find(has)} without re (field ${field})`);
  // neq is defined on text and numbers, and with fieldref (modifiers appendix v2.1): with another type modifier it would be dropped.
  const neqWith = has('neq') ? ['re', 'cidr', 'exists', 'gt', 'gte', 'lt', 'lte'].find(has) : undefined;
  if (neqWith) throw new SigmaRefusal(`modifier neq with ${neqWith} (field ${field})`);
  const { path, impersonated } = target(field);
  const values: unknown[] = Array.isArray(value) ? value : [value];
  if (values.length === 0) throw new SigmaRefusal(`an empty list of values (field ${field})`);
  if (values.some((v) => v !== null && (isObj(v) || Array.isArray(v)))) throw new SigmaRefusal(`a nested value (field ${field}): values are text, numbers, booleans or null`);
  if (has('all') && values.length < 2) throw new SigmaRefusal(`modifier all with a single value (field ${field}); the specification forbids it`);
  const ci = !has('cased');
  const join = (conds: Condition[]): Condition => (conds.length === 1 ? conds[0]! : has('all') ? { all: conds } : { any: conds });
  const wrap = (c: Condition): Condition => (impersonated ? { all: [{ field: 'impersonator', exists: true }, c] } : c);
  const f = (rest: Partial<FieldCondition>): FieldCondition => ({ field: path, ...rest }) as FieldCondition;

  if (has('exists')) {
    if (values.length !== 1 || typeof values[0] !== 'boolean') throw new SigmaRefusal(`exists needs true or false (field ${field})`);
    return impersonated && values[0] === false ? { not: { field: 'impersonator', exists: true } } : wrap(f({ exists: values[0] as boolean }));
  }
  if (has('re')) {
    const flags = `${has('i') ? 'i' : ''}${has('m') ? 'm' : ''}${has('s') ? 's' : ''}`;
    const pats = values.map((v) => {
      if (typeof v !== 'string') throw new SigmaRefusal(`re needs text (field ${field})`);
      return flags ? `(?${flags})${v}` : v;
    });
    return wrap(join(has('all') ? pats.map((p) => f({ regex: p })) : [f({ regex: pats })]));
  }
  if (has('cidr')) return wrap(join(has('all') ? values.map((v) => f({ cidr: String(v) })) : [f({ cidr: values.map(String) })]));
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (!has(op)) continue;
    const conds = values.map((v) => {
      const n = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n)) throw new SigmaRefusal(`${op} needs a number (field ${field})`);
      return f({ [op]: n });
    });
    return wrap(join(conds));
  }
  if (has('fieldref')) {
    const conds = values.map((v) => {
      const other = target(String(v));
      const c = f({ equalsField: other.path, ignoreCase: ci });
      return other.impersonated ? { all: [{ field: 'impersonator', exists: true }, c] } : c;
    });
    const c = join(conds);
    return wrap(has('neq') ? { not: c } : c);
  }
  const conds: Condition[] = [];
  const patterns: string[] = [];
  const exact: Scalar[] = [];
  for (const v of values) {
    if (v === null) {
      // null: the field is absent or empty (kaudit keeps absent text as "").
      conds.push(impersonated ? { not: { field: 'impersonator', exists: true } } : { not: f({ exists: true }) });
      continue;
    }
    if (typeof v !== 'string') {
      if (has('contains') || has('startswith') || has('endswith')) patterns.push(`${has('contains') || has('endswith') ? '*' : ''}${String(v)}${has('contains') || has('startswith') ? '*' : ''}`);
      else exact.push(v as Scalar);
      continue;
    }
    const p = `${has('contains') || has('endswith') ? '*' : ''}${has('contains') || has('startswith') ? withTrailingStar(v) : v}`;
    if (hasWildcard(p)) patterns.push(p);
    else exact.push(unescape(p));
  }
  const matchers: Condition[] = [];
  if (has('all')) {
    for (const x of exact) matchers.push(wrap(f({ equals: x, ignoreCase: ci })));
    for (const p of patterns) matchers.push(wrap(f({ glob: p, ignoreCase: ci })));
  } else {
    if (exact.length) matchers.push(wrap(exact.length === 1 ? f({ equals: exact[0]!, ignoreCase: ci }) : f({ in: exact, ignoreCase: ci })));
    if (patterns.length) matchers.push(wrap(f({ glob: patterns, ignoreCase: ci })));
  }
  const all = [...matchers, ...conds];
  const c = all.length === 1 ? all[0]! : has('all') ? { all } : { any: all };
  return has('neq') ? { not: c } : c;
}

/** A search identifier: a map (AND of its items) or a list of maps (OR). */
function search(name: string, v: unknown): Condition {
  const map = (m: Record<string, unknown>): Condition => {
    const items = Object.entries(m).map(([k, x]) => fieldItem(k, x));
    if (items.length === 0) throw new SigmaRefusal(`an empty selection ${JSON.stringify(name)}`);
    return items.length === 1 ? items[0]! : { all: items };
  };
  if (isObj(v)) return map(v);
  if (Array.isArray(v)) {
    if (v.length === 0) throw new SigmaRefusal(`an empty selection ${JSON.stringify(name)}`);
    if (v.every(isObj)) return v.length === 1 ? map(v[0] as Record<string, unknown>) : { any: v.map((x) => map(x as Record<string, unknown>)) };
    throw new SigmaRefusal(`keyword search in ${JSON.stringify(name)} (a list of values matched against the whole event)`);
  }
  throw new SigmaRefusal(`selection ${JSON.stringify(name)} is neither a map nor a list of maps`);
}

/** Parses a Sigma condition into a kaudit condition over the selections. */
export function parseCondition(text: string, selections: Map<string, Condition>): Condition {
  if (text.includes('|')) throw new SigmaRefusal(`aggregation in the condition (${JSON.stringify(text.slice(text.indexOf('|')).trim())}); use a kaudit threshold rule`);
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => tokens[i]?.toLowerCase();
  const names = [...selections.keys()];
  const ref = (n: string): Condition => {
    const c = selections.get(n);
    if (!c) throw new SigmaRefusal(`the condition names ${JSON.stringify(n)}, which is not a search identifier of the detection`);
    return c;
  };
  const expr = (): Condition => {
    const parts = [and()];
    while (peek() === 'or') {
      i++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { any: parts };
  };
  const and = (): Condition => {
    const parts = [not()];
    while (peek() === 'and') {
      i++;
      parts.push(not());
    }
    return parts.length === 1 ? parts[0]! : { all: parts };
  };
  const not = (): Condition => {
    if (peek() === 'not') {
      i++;
      return { not: not() };
    }
    return primary();
  };
  const primary = (): Condition => {
    const t = tokens[i];
    if (t === undefined) throw new SigmaRefusal(`condition ${JSON.stringify(text)} ends too early`);
    if (t === '(') {
      i++;
      const e = expr();
      if (tokens[i] !== ')') throw new SigmaRefusal(`condition ${JSON.stringify(text)}: missing )`);
      i++;
      return e;
    }
    if (tokens[i + 1]?.toLowerCase() === 'of') {
      const q = t.toLowerCase();
      if (q !== '1' && q !== 'all' && q !== 'any') throw new SigmaRefusal(`"${t} of" in the condition (only 1 of and all of are defined)`);
      const pat = tokens[i + 2];
      if (pat === undefined) throw new SigmaRefusal(`condition ${JSON.stringify(text)}: "${t} of" needs a pattern or them`);
      i += 3;
      const matches = compileGlob(pat);
      const chosen = pat.toLowerCase() === 'them' ? names.filter((n) => !n.startsWith('_')) : names.filter(matches);
      if (chosen.length === 0) throw new SigmaRefusal(`"${t} of ${pat}" matches no search identifier`);
      const conds = chosen.map(ref);
      return conds.length === 1 ? conds[0]! : q === 'all' ? { all: conds } : { any: conds };
    }
    if ([')', 'and', 'or', 'not'].includes(t.toLowerCase())) throw new SigmaRefusal(`condition ${JSON.stringify(text)}: unexpected ${JSON.stringify(t)}`);
    if (t.toLowerCase() === 'near') throw new SigmaRefusal('the near operator');
    i++;
    return ref(t);
  };
  const c = expr();
  if (i < tokens.length) throw new SigmaRefusal(`condition ${JSON.stringify(text)}: unexpected ${JSON.stringify(tokens[i])}`);
  return c;
}

function text(v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  return '';
}

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(text).filter(Boolean);
}

/** Translates one parsed Sigma document; throws SigmaRefusal naming what is not supported. */
export function translateSigma(doc: unknown, file: string, warnings: string[]): RuleDoc {
  if (!isObj(doc)) throw new SigmaRefusal('not a Sigma rule (expected a mapping)');
  if (doc.correlation !== undefined) throw new SigmaRefusal('a Sigma correlation rule');
  if (doc.filter !== undefined && doc.detection === undefined) throw new SigmaRefusal('a Sigma filter (meta filter)');
  if (doc.action !== undefined) throw new SigmaRefusal(`a rule collection (action: ${text(doc.action)})`);
  const title = text(doc.title);
  if (!title) throw new SigmaRefusal('no title');
  const det = doc.detection;
  if (!isObj(det)) throw new SigmaRefusal('no detection');
  if (det.timeframe !== undefined) throw new SigmaRefusal('timeframe (aggregation over time)');
  const cond = det.condition;
  const conds = typeof cond === 'string' ? [cond] : Array.isArray(cond) && cond.every((c) => typeof c === 'string') ? (cond as string[]) : null;
  if (!conds || conds.length === 0) throw new SigmaRefusal('no condition');
  const selections = new Map<string, Condition>();
  for (const [k, v] of Object.entries(det)) if (k !== 'condition') selections.set(k, search(k, v));
  const parsed = conds.map((c) => parseCondition(c, selections));
  const match = parsed.length === 1 ? parsed[0]! : { any: parsed };
  const tags = list(doc.tags);
  const technique: string[] = [];
  const otherTags: string[] = [];
  for (const t of tags) {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    if (!m) {
      otherTags.push(t);
      continue;
    }
    const id = m[1]!.toUpperCase();
    if (isAttackTechnique(id)) technique.push(id);
    else warnings.push(`sigma: ${file}: tag ${t} is not a technique of MITRE ATT&CK Enterprise v${attackTechniques().version}; left out`);
  }
  const sigmaId = text(doc.id);
  const level = text(doc.level).toLowerCase();
  if (level && !LEVELS[level]) throw new SigmaRefusal(`level ${JSON.stringify(level)} (expected informational, low, medium, high or critical)`);
  const id = sigmaId || `sigma-${basename(file, extname(file))}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(id)) throw new SigmaRefusal(`id ${JSON.stringify(id)} (use a UUID)`);
  return {
    id,
    title,
    description: text(doc.description) || title,
    severity: LEVELS[level] ?? 'medium',
    technique,
    tags: otherTags,
    references: list(doc.references),
    falsePositives: list(doc.falsepositives),
    remediation: '',
    reason: `${title.replace(/[{}]/g, '')}: {username} {verb} {object}`,
    match,
    threshold: null,
    firstSeen: null,
    sequence: null,
    examples: [],
    enabled: true,
    source: { kind: 'sigma', file, family: 'sigma' },
    sigma: { id: sigmaId, title, author: text(doc.author), license: text(doc.license), status: text(doc.status), date: text(doc.date), modified: text(doc.modified) },
  };
}

/**
 * Reads Sigma files. Rules of other log sources are skipped (counted in one warning); a Kubernetes
 * audit rule that uses an unsupported construct is refused with a warning naming it. A file that
 * yields no usable rule at all while nothing else does is an error (the caller gets RuleErrors).
 */
export async function readSigmaFiles(files: string[], errors: RuleError[], warnings: string[]): Promise<RuleDoc[]> {
  const out: RuleDoc[] = [];
  let other = 0;
  const refused: RuleError[] = [];
  for (const f of files) {
    const docs = await parseYaml(await readFile(f, 'utf8'), f, refused);
    for (const d of docs) {
      if (isObj(d) && d.logsource !== undefined && !isKubernetesAudit(d.logsource)) {
        other++;
        continue;
      }
      try {
        if (isObj(d) && d.logsource === undefined && d.detection !== undefined) throw new SigmaRefusal('no logsource (expected product: kubernetes, service: audit)');
        out.push(translateSigma(d, f, warnings));
      } catch (e) {
        if (!(e instanceof SigmaRefusal)) throw e;
        refused.push({ file: f, rule: isObj(d) ? text(d.id) || text(d.title) : '', field: '', message: `refused: uses ${e.message}` });
      }
    }
  }
  for (const r of refused) warnings.push(`sigma: ${r.file}:${r.rule ? ` rule ${r.rule}:` : ''} ${r.message}`);
  if (other) warnings.push(`sigma: ${other} rule${other === 1 ? '' : 's'} skipped: logsource is not Kubernetes audit (product: kubernetes, service: audit)`);
  if (out.length === 0) errors.push({ file: files.length === 1 ? files[0]! : files.join(', '), rule: '', field: '', message: refused.length ? `no Sigma rule can run: ${refused.map((r) => r.message).join('; ')}` : 'holds no Sigma rule for Kubernetes audit logs (logsource product: kubernetes, service: audit)' });
  return out;
}
