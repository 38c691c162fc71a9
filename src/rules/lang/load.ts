// Loading rule sets: the built-in rule files (src/rules/builtin/*.yaml, one per family), user rule
// files (--rules FILE|DIR) and Sigma rules (--sigma FILE|DIR), validated, compiled and selected
// (--only-rules, --disable-rule). Every error names the file, the rule and the field; any error
// refuses the whole set (a half-loaded rule set would report fewer findings than the user asked for).
import type { BodyNeeds } from '../../normalize/bodies.js';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, basename, extname } from 'node:path';
import type { AuditRecord } from '../../types.js';
import { UsageError } from '../../util/errors.js';
import { globMatcher } from '../../filter/index.js';
import { rulesAsset } from '../assets.js';
import { FIELDS } from './path.js';
import { CompileError, MAX_CONDITIONS, compileCondition, compileReason, requiredValues, type Definitions } from './compile.js';
import { checkRuleFile, formatRuleError, type RuleError, type RuleFile } from './schema.js';
import type { CompiledRule, RuleDoc, Scalar, Condition } from './types.js';
import type { RuleSet } from './engine.js';
import { pushAll } from '../../util/array.js';

export interface LoadOptions {
  /** Load the built-in rules (default true). */
  builtin?: boolean;
  /** User rule files or directories. */
  rules?: string[];
  /** Sigma rule files or directories. */
  sigma?: string[];
  /** Keep only rules whose id matches one of these globs. */
  only?: string[];
  /** Drop rules whose id matches one of these globs. */
  disable?: string[];
  /** Turn on off-by-default rules whose id matches one of these globs. */
  enable?: string[];
  /** Keep off-by-default rules too (for listing). */
  includeDisabled?: boolean;
  /** Threshold overrides by rule id (e.g. --denied-burst for K8S-DENIED-BURST). */
  thresholds?: Record<string, { count: number; withinMs: number }>;
}

/** Built-in rule files, in load order (the shared definitions first). */
export async function builtinRuleFiles(): Promise<string[]> {
  const dir = rulesAsset('builtin');
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort((a, b) => (a.startsWith('_') === b.startsWith('_') ? (a < b ? -1 : a > b ? 1 : 0) : a.startsWith('_') ? -1 : 1));
  return names.map((n) => join(dir, n));
}

/**
 * Files named by FILE|DIR arguments: a directory gives its *.yaml/*.yml files (recursively), sorted.
 * Links to folders are followed, each folder once (by device and inode): a link back to a folder
 * above it would otherwise make the walk endless.
 */
export async function expandRulePaths(flag: string, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const seenDirs = new Set<string>();
  const visit = async (p: string, top: boolean): Promise<void> => {
    let s;
    try {
      s = await stat(p);
    } catch (e) {
      throw new UsageError(`${flag}: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, `pass a rule file or a directory of *.yaml rule files`);
    }
    if (s.isDirectory()) {
      const id = `${s.dev}:${s.ino}`;
      if (seenDirs.has(id)) return;
      seenDirs.add(id);
      const names = (await readdir(p)).sort();
      for (const n of names) {
        const child = join(p, n);
        const cs = await stat(child).catch(() => null);
        if (cs?.isDirectory()) await visit(child, false);
        else if (/\.ya?ml$/i.test(n)) out.push(child);
      }
    } else if (top || /\.ya?ml$/i.test(p)) out.push(p);
  };
  for (const p of paths) await visit(p, true);
  if (out.length === 0) throw new UsageError(`${flag}: ${paths.join(', ')} holds no *.yaml or *.yml file`, 'pass rule files or directories that contain them');
  return out;
}

/** Parses YAML text into documents; a syntax error becomes a RuleError. */
export async function parseYaml(text: string, file: string, errors: RuleError[]): Promise<unknown[]> {
  const yaml = await import('js-yaml');
  try {
    const docs: unknown[] = [];
    yaml.loadAll(text, (d) => docs.push(d), { filename: file });
    return docs.filter((d) => d !== null && d !== undefined);
  } catch (e) {
    errors.push({ file, rule: '', field: '', message: `not YAML: ${(e as Error).message.split('\n')[0]}` });
    return [];
  }
}

/** How a file is shown in messages and in `audit rules list`: built-ins relative to the package. */
export function displayPath(file: string): string {
  const root = rulesAsset('');
  return file.startsWith(root) ? `builtin/${relative(rulesAsset('builtin'), file)}` : file;
}

/** Reads and validates kaudit rule files (built-in or user). */
export async function readRuleFiles(files: string[], kind: 'builtin' | 'file', errors: RuleError[]): Promise<RuleFile[]> {
  const out: RuleFile[] = [];
  for (const f of files) {
    const shown = displayPath(f);
    const docs = await parseYaml(await readFile(f, 'utf8'), shown, errors);
    if (docs.length > 1) errors.push({ file: shown, rule: '', field: '', message: 'holds several YAML documents: put all rules under one rules: list' });
    const family = basename(f, extname(f)).replace(/^_/, '');
    out.push(checkRuleFile(docs[0] ?? {}, shown, kind, family, errors));
  }
  return out;
}

/** Merges the lists and macros of files in order: a later definition replaces an earlier one. */
export function definitions(files: RuleFile[]): Definitions {
  const defs: Definitions = { lists: new Map<string, Scalar[]>(), macros: new Map<string, Condition>() };
  for (const f of files) {
    for (const [k, v] of f.lists) defs.lists.set(k, v);
    for (const [k, v] of f.macros) defs.macros.set(k, v);
  }
  return defs;
}

function fieldGetter(name: string): (r: AuditRecord) => string {
  const def = FIELDS.get(name)!;
  return (r) => {
    const v = def.get(r);
    return Array.isArray(v) ? v.join(',') : v === null || v === undefined || typeof v === 'symbol' ? '' : String(v);
  };
}

/** Compiles validated rule documents; compile errors are added to `errors` with their place. */
export function compileRules(docs: RuleDoc[], defs: Definitions, errors: RuleError[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const d of docs) {
    const err = (e: unknown): void => {
      if (e instanceof CompileError) errors.push({ file: d.source.file, rule: d.id, field: e.where, message: e.message });
      else throw e;
    };
    try {
      const budget = { left: MAX_CONDITIONS };
      const match = d.match ? compileCondition(d.match, 'match', defs, false, [], budget) : () => 1 as const;
      const steps = d.sequence ? d.sequence.steps.map((s, i) => compileCondition(s, `sequence.steps[${i}]`, defs, false, [], budget)) : [];
      const by = d.threshold?.by ?? d.firstSeen?.by ?? d.sequence?.by ?? [];
      const value = d.firstSeen?.value ?? [];
      const gate: Condition | null = d.match ?? (d.sequence ? { any: d.sequence.steps } : null);
      out.push({
        doc: d,
        index: out.length,
        match,
        // A sequence without a common match can only involve requests some step matches.
        verbs: requiredValues(gate, 'verb', defs),
        resources: requiredValues(gate, 'resource', defs),
        subjectKinds: requiredValues(gate, 'subjectKind', defs),
        steps,
        by: by.map(fieldGetter),
        value: value.map(fieldGetter),
        reason: compileReason(d.reason || d.title, 'reason'),
      });
    } catch (e) {
      err(e);
    }
  }
  return out;
}

function select(docs: RuleDoc[], opts: LoadOptions): RuleDoc[] {
  const enable = globMatcher(globsOf(opts.enable ?? []));
  for (const g of globsOf(opts.enable ?? [])) {
    if (!docs.some((d) => globMatcher([g])(d.id))) throw new UsageError(`--enable-rule: no rule has the id ${JSON.stringify(g)}`, 'see the ids with: audit rules list --all');
  }
  let kept = opts.includeDisabled ? docs : docs.filter((d) => d.enabled || enable(d.id));
  for (const [flag, pats, keep] of [['--only-rules', opts.only ?? [], true], ['--disable-rule', opts.disable ?? [], false]] as const) {
    if (!pats.length) continue;
    const globs = globsOf(pats);
    for (const g of globs) {
      if (!docs.some((d) => globMatcher([g])(d.id))) throw new UsageError(`${flag}: no rule has the id ${JSON.stringify(g)}`, 'see the ids with: audit rules list');
    }
    const m = globMatcher(globs);
    kept = kept.filter((d) => m(d.id) === keep);
  }
  return kept;
}

function globsOf(pats: readonly string[]): string[] {
  return pats.flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
}

/** Loads, validates, compiles and selects a rule set; throws a UsageError listing the errors. */
export async function loadRuleSet(opts: LoadOptions = {}): Promise<RuleSet> {
  const errors: RuleError[] = [];
  const warnings: string[] = [];
  const files: RuleFile[] = [];
  if (opts.builtin !== false) pushAll(files, await readRuleFiles(await builtinRuleFiles(), 'builtin', errors));
  if (opts.rules?.length) pushAll(files, await readRuleFiles(await expandRulePaths('--rules', opts.rules), 'file', errors));
  const docs = files.flatMap((f) => f.rules);
  if (opts.sigma?.length) {
    const { readSigmaFiles } = await import('../sigma.js');
    const sig = await readSigmaFiles(await expandRulePaths('--sigma', opts.sigma), errors, warnings);
    pushAll(docs, sig);
  }
  const where = new Map<string, string>();
  for (const d of docs) {
    const prev = where.get(d.id);
    if (prev !== undefined && prev !== d.source.file) errors.push({ file: d.source.file, rule: d.id, field: 'id', message: `is also the id of a rule in ${prev}${d.source.kind === 'builtin' || prev.startsWith('builtin/') ? ' (to replace a built-in rule, give yours another id and --disable-rule the built-in)' : ''}` });
    else where.set(d.id, d.source.file);
  }
  for (const d of docs) {
    const o = opts.thresholds?.[d.id];
    if (o && d.threshold) d.threshold = { ...d.threshold, ...o };
  }
  const defs = definitions(files);
  const compiled = compileRules(docs, defs, errors);
  throwErrors(errors);
  const chosen = new Set(select(docs, opts));
  const rules = compiled.filter((r) => chosen.has(r.doc)).map((r, i) => ({ ...r, index: i }));
  return { rules, warnings, bodies: bodiesRead(rules.map((r) => r.doc), defs) };
}

/**
 * Which bodies the chosen rules may read: a body field named anywhere in their documents or in a
 * macro (every macro counts, used or not: a safe over-estimate). The pipeline parses only these.
 */
function bodiesRead(docs: RuleDoc[], defs: Definitions): BodyNeeds {
  const text = JSON.stringify(docs) + JSON.stringify([...defs.macros.values()]);
  return { requestObject: text.includes('requestObject') ? 'all' : 'none', responseObject: text.includes('responseObject') ? 'all' : 'none' };
}

/** Throws a UsageError naming the first errors (all of them are problems of the rule files). */
export function throwErrors(errors: RuleError[]): void {
  if (!errors.length) return;
  const shown = errors.slice(0, 20).map(formatRuleError);
  if (errors.length > 20) shown.push(`… and ${errors.length - 20} more`);
  throw new UsageError(`${errors.length} error${errors.length === 1 ? '' : 's'} in rule files:\n  ${shown.join('\n  ')}`, 'fix the rule files (audit rules test FILE checks one); see README.md "Detection rules" for the schema');
}

/** What `audit rules test FILE` checks: one file's rules, compiled with the built-in lists and macros available. */
export interface TestedFile {
  file: string;
  format: 'kaudit' | 'sigma';
  rules: CompiledRule[];
  warnings: string[];
}

/** Loads one rule file (kaudit or Sigma, told apart by its keys) for testing; throws a UsageError listing its errors. */
export async function loadRuleFileForTest(file: string): Promise<TestedFile> {
  const errors: RuleError[] = [];
  const warnings: string[] = [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'pass a rule file');
  }
  // A first look to tell the formats apart; the reader of the chosen format reports syntax errors (once).
  const docs = await parseYaml(text, file, []);
  const sigma = docs.some((d) => d !== null && typeof d === 'object' && 'detection' in (d as object));
  const builtin = await readRuleFiles(await builtinRuleFiles(), 'builtin', []);
  let own: RuleDoc[];
  let defs: Definitions;
  if (sigma) {
    const { readSigmaFiles } = await import('../sigma.js');
    own = await readSigmaFiles([file], errors, warnings);
    defs = definitions(builtin);
  } else {
    const files = await readRuleFiles([file], 'file', errors);
    own = files.flatMap((f) => f.rules);
    defs = definitions([...builtin, ...files]);
  }
  const rules = compileRules(own, defs, errors);
  throwErrors(errors);
  return { file, format: sigma ? 'sigma' : 'kaudit', rules, warnings };
}
