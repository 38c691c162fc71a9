// Compiles conditions of the rule language into closures over an EvalContext, once per run.
// Evaluation is three-valued (Kleene): a condition that reads a body the audit level did not log is
// unknown (U); `not U` is U, `all` is F if any part is F, `any` is T if any part is T.
import type { AuditRecord } from '../../types.js';
import { F, T, U, type CompiledCondition, type Condition, type EvalContext, type FieldCondition, type Scalar, type Truth, type ValueSet, OPERATORS } from './types.js';
import { FIELDS, UNKNOWN, bodyView, parsePath, walk, walkLimit, type ParsedPath, type Segment } from './path.js';
import { cidrPred, equalsPred, globPred, inPred, numberPred, regexPred, scalarEquals, textPred, asText, type Pred } from './ops.js';

/** Named lists and macros shared by every rule file of a run (Falco's lists and macros). */
export interface Definitions {
  lists: Map<string, Scalar[]>;
  macros: Map<string, Condition>;
}

/** A compile error at a place in the rule (`match.all[2].regex`). */
export class CompileError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(message);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function closest(name: string, names: Iterable<string>): string {
  let best = '';
  let bestD = 3;
  for (const n of names) {
    const d = distance(name.toLowerCase(), n.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 9;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Values of a path; `truncated` when a limit stopped the walk (MAX_VALUES, MAX_NODES, MAX_DEPTH): there may be more. */
export type Values = unknown[] & { truncated?: true };

/** Why a condition over values cut short by a limit is unknown. */
const TOO_LARGE = 'body too large to judge';

/** Walks `segs` below `v`, marking the values truncated when a limit stopped the walk. */
function walked(v: unknown, segs: readonly Segment[]): Values {
  walkLimit.hit = false;
  const out: Values = [];
  walk(v, segs, 0, out);
  if (walkLimit.hit) out.truncated = true;
  return out;
}

/** Values of a path for the current record or element; UNKNOWN when a body it needs was not logged. */
export type Resolver = (c: EvalContext) => Values | typeof UNKNOWN;

/** The getter of a plain scalar record field (verb, subject, code…), for conditions that need no array of values. */
function scalarGetter(text: string, inScope: boolean): ((r: AuditRecord) => unknown) | null {
  if (inScope || !/^[A-Za-z]+$/.test(text)) return null;
  const def = FIELDS.get(text);
  return def && (def.type === 'string' || def.type === 'number' || def.type === 'boolean') ? def.get : null;
}

/** Builds the resolver of a path; `inScope` when compiled inside some/every/none. */
export function resolver(text: string, where: string, inScope: boolean): Resolver {
  let p: ParsedPath;
  try {
    p = parsePath(text);
  } catch (e) {
    throw new CompileError(where, (e as Error).message);
  }
  const relative = p.root === 'scope' || (p.root === 'auto' && inScope);
  if (relative) {
    if (!inScope) throw new CompileError(where, `${JSON.stringify(text)}: @ only exists inside some, every or none`);
    const segs = p.segs;
    return (c) => walked(c.scope, segs);
  }
  const head = p.segs[0];
  if (!head || head.k !== 'key') throw new CompileError(where, `${JSON.stringify(text)} must start with a field name`);
  const def = FIELDS.get(head.name);
  if (!def) throw new CompileError(where, `unknown field ${JSON.stringify(head.name)}${closest(head.name, FIELDS.keys())}`);
  const rest = p.segs.slice(1);
  if (rest.length && (def.type === 'string' || def.type === 'number' || def.type === 'boolean')) throw new CompileError(where, `${head.name} is a ${def.type}: it has no ${JSON.stringify(text.slice(head.name.length))}`);
  if (def.type === 'body') {
    const name = def.name;
    const why = def.why ?? 'not logged';
    return (c) => {
      let body = c.bodies.get(name);
      if (body === undefined) {
        const raw = def.get(c.rec);
        body = raw === UNKNOWN ? UNKNOWN : bodyView(raw);
        c.bodies.set(name, body);
      }
      if (body === UNKNOWN) {
        c.why = why;
        return UNKNOWN;
      }
      return walked(body, rest);
    };
  }
  if (def.type === 'strings' || rest.length) {
    return (c) => {
      const v = def.get(c.rec);
      if (v === UNKNOWN) {
        c.why = def.why ?? 'not logged';
        return UNKNOWN;
      }
      return walked(v, rest);
    };
  }
  // A scalar field: one value, no walking.
  const get = def.get;
  return (c) => {
    const v = get(c.rec);
    return v === null || v === undefined ? [] : [v];
  };
}

function valueSet(v: ValueSet | string | undefined, where: string, defs: Definitions): Scalar[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v;
  if (isObj(v) && typeof v.list === 'string') {
    const l = defs.lists.get(v.list);
    if (!l) throw new CompileError(where, `unknown list ${JSON.stringify(v.list)}${closest(v.list, defs.lists.keys())}`);
    return l;
  }
  throw new CompileError(where, 'expected a value, a list of values or {list: NAME}');
}

function strings(xs: Scalar[], where: string): string[] {
  return xs.map((x) => {
    const t = asText(x);
    if (t === null) throw new CompileError(where, `expected text, got ${JSON.stringify(x)}`);
    return t;
  });
}

function operatorOf(c: FieldCondition, where: string): (typeof OPERATORS)[number] {
  const ops = OPERATORS.filter((o) => (c as unknown as Record<string, unknown>)[o] !== undefined);
  if (ops.length !== 1) throw new CompileError(where, ops.length === 0 ? `a field condition needs one operator (${OPERATORS.join(', ')})` : `a field condition has one operator, not ${ops.join(' and ')}`);
  return ops[0]!;
}

function checkEnum(field: string, xs: Scalar[], where: string): void {
  const def = FIELDS.get(field);
  if (!def?.values) return;
  for (const x of xs) if (typeof x !== 'string' || !def.values.includes(x)) throw new CompileError(where, `${field} is never ${JSON.stringify(x)} (values: ${def.values.map((v) => JSON.stringify(v)).join(', ')})`);
}

/** Operators a boolean field takes, and the values they compare with (true or false only). */
const BOOLEAN_OPS: readonly string[] = ['equals', 'in', 'exists', 'equalsField'];

function checkBoolean(field: string, op: string, c: FieldCondition, ow: string, defs: Definitions): void {
  if (!BOOLEAN_OPS.includes(op)) throw new CompileError(ow, `${field} is a boolean: use equals: true or false (or in, exists, equalsField), not ${op}`);
  if (c.ignoreCase === true) throw new CompileError(`${ow.slice(0, ow.lastIndexOf('.'))}.ignoreCase`, `${field} is a boolean: it has no case`);
  const xs = op === 'equals' ? [c.equals as Scalar] : op === 'in' ? valueSet(c.in, ow, defs) : [];
  for (const x of xs) if (typeof x !== 'boolean') throw new CompileError(ow, `${field} is a boolean: compare it with true or false, not ${JSON.stringify(x)}`);
}

function compileField(c: FieldCondition, where: string, defs: Definitions, inScope: boolean): CompiledCondition {
  const op = operatorOf(c, where);
  const ow = `${where}.${op}`;
  if (/^[A-Za-z]+$/.test(c.field) && !inScope && FIELDS.get(c.field)?.type === 'boolean') checkBoolean(c.field, op, c, ow, defs);
  const resolve = resolver(c.field, `${where}.field`, inScope);
  const ci = c.ignoreCase === true;
  const q = c.quantifier ?? 'any';
  const plainField = /^[A-Za-z]+$/.test(c.field) && !inScope ? c.field : '';
  const scalar = scalarGetter(c.field, inScope);
  if (op === 'exists') {
    const want = c.exists === true;
    if (scalar) return (ctx) => {
      const v = scalar(ctx.rec);
      return (v !== null && v !== undefined && v !== '') === want ? T : F;
    };
    return (ctx) => {
      const vs = resolve(ctx);
      if (vs === UNKNOWN) return U;
      const has = vs.some((v) => v !== null && v !== undefined && v !== '');
      if (!has && vs.truncated) return tooLarge(ctx);
      return has === want ? T : F;
    };
  }
  let pred: Pred;
  try {
    switch (op) {
      case 'equals':
        if (plainField) checkEnum(plainField, [c.equals as Scalar], ow);
        pred = equalsPred(c.equals, ci);
        break;
      case 'in': {
        const xs = valueSet(c.in, ow, defs);
        if (plainField) checkEnum(plainField, xs, ow);
        pred = inPred(xs, ci);
        break;
      }
      case 'glob':
        pred = globPred(strings(valueSet(c.glob, ow, defs), ow), ci);
        break;
      case 'contains':
      case 'startswith':
      case 'endswith':
        pred = textPred(op, strings(valueSet(c[op], ow, defs), ow), ci);
        break;
      case 'regex':
        pred = regexPred(strings(valueSet(c.regex, ow, defs), ow), { ignoreCase: ci });
        break;
      case 'cidr':
        pred = cidrPred(strings(valueSet(c.cidr, ow, defs), ow));
        break;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        const x = c[op];
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new CompileError(ow, 'expected a number');
        pred = numberPred(op, x);
        break;
      }
      case 'equalsField': {
        const other = resolver(String(c.equalsField), ow, inScope);
        return quantified((ctx) => {
          const vs = other(ctx);
          if (vs === UNKNOWN) return UNKNOWN;
          return (v: unknown) => vs.some((x) => scalarEquals(v, x, ci));
        }, resolve, q);
      }
      default:
        throw new CompileError(ow, `operator ${op} is not supported here`);
    }
  } catch (e) {
    if (e instanceof CompileError) throw e;
    throw new CompileError(ow, (e as Error).message);
  }
  const p = pred;
  if (scalar) {
    // One value or none: no array, no closure per request.
    if (q === 'none') return (ctx) => {
      const v = scalar(ctx.rec);
      return v === null || v === undefined || !p(v) ? T : F;
    };
    return (ctx) => {
      const v = scalar(ctx.rec);
      return v !== null && v !== undefined && p(v) ? T : F;
    };
  }
  return quantified(() => p, resolve, q);
}

/** Unknown: a limit cut the values short and those seen do not decide. */
function tooLarge(ctx: EvalContext): Truth {
  ctx.why = TOO_LARGE;
  return U;
}

function quantified(predFor: (c: EvalContext) => Pred | typeof UNKNOWN, resolve: Resolver, q: 'any' | 'all' | 'none'): CompiledCondition {
  return (ctx) => {
    const vs = resolve(ctx);
    if (vs === UNKNOWN) return U;
    const pred = predFor(ctx);
    if (pred === UNKNOWN) return U;
    if (q === 'any') {
      for (const v of vs) if (pred(v)) return T;
      return vs.truncated ? tooLarge(ctx) : F;
    }
    if (q === 'all') {
      for (const v of vs) if (!pred(v)) return F;
      return vs.truncated ? tooLarge(ctx) : vs.length === 0 ? F : T;
    }
    for (const v of vs) if (pred(v)) return F;
    return vs.truncated ? tooLarge(ctx) : T;
  };
}

const KEYS = ['all', 'any', 'not', 'macro', 'some', 'every', 'none', 'field'] as const;

/** Conditions one rule may compile to, macros expanded: YAML aliases and macros that use a macro twice can nest 2^n copies in a few lines. */
export const MAX_CONDITIONS = 10_000;

/** How many more conditions a rule may compile to (shared by its match and its sequence steps). */
export interface Budget {
  left: number;
}

/** Compiles a condition; throws CompileError naming where in the rule it is wrong, or when it expands to more than MAX_CONDITIONS conditions. */
export function compileCondition(c: Condition, where: string, defs: Definitions, inScope = false, macros: string[] = [], budget: Budget = { left: MAX_CONDITIONS }): CompiledCondition {
  if (--budget.left < 0) throw new CompileError(where, `the rule expands to more than ${MAX_CONDITIONS} conditions (macros or YAML aliases used many times over)`);
  if (!isObj(c)) throw new CompileError(where, 'expected a condition (a mapping with field, all, any, not, macro, some, every or none)');
  const kinds = KEYS.filter((k) => (c as Record<string, unknown>)[k] !== undefined);
  if (kinds.length !== 1) throw new CompileError(where, kinds.length === 0 ? `expected one of ${KEYS.join(', ')} (got ${Object.keys(c).join(', ') || 'nothing'})` : `a condition is one of ${kinds.join(' or ')}, not both: nest them under all or any`);
  const kind = kinds[0]!;
  const allowed: Record<string, string[]> = {
    all: ['all'], any: ['any'], not: ['not'], macro: ['macro'], some: ['some', 'where'], every: ['every', 'where'], none: ['none', 'where'],
    field: ['field', 'ignoreCase', 'quantifier', ...OPERATORS],
  };
  const extra = Object.keys(c).filter((k) => !allowed[kind]!.includes(k));
  if (extra.length) throw new CompileError(`${where}.${extra[0]}`, `unknown key ${JSON.stringify(extra[0])} in a ${kind} condition${closest(extra[0]!, allowed[kind]!)}`);
  const o = c as Record<string, unknown>;
  switch (kind) {
    case 'all':
    case 'any': {
      const parts = o[kind];
      if (!Array.isArray(parts) || parts.length === 0) throw new CompileError(`${where}.${kind}`, 'expected a non-empty list of conditions');
      const fns = parts.map((p, i) => compileCondition(p as Condition, `${where}.${kind}[${i}]`, defs, inScope, macros, budget));
      if (fns.length === 1) return fns[0]!;
      if (kind === 'all')
        return (ctx) => {
          let r: Truth = T;
          for (const f of fns) {
            const v = f(ctx);
            if (v === F) return F;
            if (v === U) r = U;
          }
          return r;
        };
      return (ctx) => {
        let r: Truth = F;
        for (const f of fns) {
          const v = f(ctx);
          if (v === T) return T;
          if (v === U) r = U;
        }
        return r;
      };
    }
    case 'not': {
      const f = compileCondition(o.not as Condition, `${where}.not`, defs, inScope, macros, budget);
      return (ctx) => {
        const v = f(ctx);
        return v === U ? U : v === T ? F : T;
      };
    }
    case 'macro': {
      const name = o.macro;
      if (typeof name !== 'string') throw new CompileError(`${where}.macro`, 'expected a macro name');
      const m = defs.macros.get(name);
      if (!m) throw new CompileError(`${where}.macro`, `unknown macro ${JSON.stringify(name)}${closest(name, defs.macros.keys())}`);
      if (macros.includes(name)) throw new CompileError(`${where}.macro`, `macro ${JSON.stringify(name)} uses itself (${[...macros, name].join(' → ')})`);
      return compileCondition(m, `${where}(macro ${name})`, defs, inScope, [...macros, name], budget);
    }
    case 'some':
    case 'every':
    case 'none': {
      if (typeof o[kind] !== 'string') throw new CompileError(`${where}.${kind}`, 'expected a path to an array');
      if (o.where === undefined) throw new CompileError(`${where}.where`, `${kind} needs a where condition, evaluated on each element`);
      const elems = resolver(o[kind] as string, `${where}.${kind}`, inScope);
      const f = compileCondition(o.where as Condition, `${where}.where`, defs, true, macros, budget);
      return (ctx) => {
        const vs = elems(ctx);
        if (vs === UNKNOWN) return U;
        const saved = ctx.scope;
        const savedIn = ctx.inScope;
        let sawU = false;
        let sawT = false;
        let sawF = false;
        ctx.inScope = true;
        for (const v of vs) {
          ctx.scope = v;
          const r = f(ctx);
          if (r === T) sawT = true;
          else if (r === U) sawU = true;
          else sawF = true;
          if ((kind !== 'every' && sawT) || (kind === 'every' && sawF)) break;
        }
        ctx.scope = saved;
        ctx.inScope = savedIn;
        if (vs.truncated && !(kind === 'every' ? sawF : sawT)) return tooLarge(ctx);
        if (kind === 'some') return sawT ? T : sawU ? U : F;
        if (kind === 'none') return sawT ? F : sawU ? U : T;
        return sawF ? F : sawU ? U : T;
      };
    }
    default: {
      if (typeof o.field !== 'string') throw new CompileError(`${where}.field`, 'expected a field path');
      if (o.ignoreCase !== undefined && typeof o.ignoreCase !== 'boolean') throw new CompileError(`${where}.ignoreCase`, 'expected true or false');
      if (o.quantifier !== undefined && !['any', 'all', 'none'].includes(o.quantifier as string)) throw new CompileError(`${where}.quantifier`, 'expected any, all or none');
      return compileField(c as unknown as FieldCondition, where, defs, inScope);
    }
  }
}

/**
 * The values a field must take for the condition to hold, when its top-level conjunction says so
 * (`{field: verb, in: [...]}` directly or inside `all`/macros); null when it does not constrain the
 * field. Used to index rules by verb, resource and subject kind.
 */
export function requiredValues(c: Condition | null, field: string, defs: Definitions, depth = 0): Set<string> | null {
  if (!c || !isObj(c) || depth > 20) return null;
  const o = c as Record<string, unknown>;
  if (typeof o.macro === 'string') {
    const m = defs.macros.get(o.macro);
    return m ? requiredValues(m, field, defs, depth + 1) : null;
  }
  if (Array.isArray(o.all)) {
    let acc: Set<string> | null = null;
    for (const p of o.all as Condition[]) {
      const s = requiredValues(p, field, defs, depth + 1);
      if (s) acc = acc ? new Set([...acc].filter((x: string) => s.has(x))) : s;
    }
    return acc;
  }
  if (Array.isArray(o.any)) {
    const sets = (o.any as Condition[]).map((p) => requiredValues(p, field, defs, depth + 1));
    if (sets.some((s) => s === null)) return null;
    return new Set(sets.flatMap((s) => [...s!]));
  }
  if (o.field !== field || o.ignoreCase === true || (o.quantifier !== undefined && o.quantifier !== 'any')) return null;
  if (typeof o.equals === 'string') return new Set([o.equals]);
  if (o.in !== undefined) {
    const xs = Array.isArray(o.in) ? o.in : isObj(o.in) && typeof o.in.list === 'string' ? defs.lists.get(o.in.list) : null;
    if (xs && xs.every((x) => typeof x === 'string')) return new Set(xs as string[]);
  }
  return null;
}

/** Reason templates: {path} is the first value at the path ('-' when none); names in `extra` first. */
export function compileReason(template: string, where: string): (r: AuditRecord, extra: Record<string, string>) => string {
  const parts: (string | { name: string; get: Resolver | null })[] = [];
  let last = 0;
  const re = /\{([^{}]+)\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(template))) {
    parts.push(template.slice(last, m.index));
    const name = m[1]!.trim();
    let get: Resolver | null = null;
    if (!['count', 'within', 'key', 'object', 'steps'].includes(name)) get = resolver(name, where, false);
    parts.push({ name, get });
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  const ctx: EvalContext = { rec: null as unknown as AuditRecord, scope: undefined, inScope: false, why: '', bodies: new Map() };
  return (r, extra) => {
    ctx.rec = r;
    ctx.bodies.clear();
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      if (p.name in extra) {
        out += extra[p.name];
        continue;
      }
      if (p.name === 'object') {
        out += r.resource ? `${r.subresource ? `${r.resource}/${r.subresource}` : r.resource}${r.name ? ` ${r.name}` : ''}` : r.nonResourceURL || '-';
        continue;
      }
      const vs = p.get ? p.get(ctx) : [];
      const t = vs === UNKNOWN ? null : vs.map(asText).find((x) => x !== null && x !== '');
      out += t ? (t.length > 200 ? `${t.slice(0, 199)}…` : t) : '-';
    }
    return out;
  };
}
