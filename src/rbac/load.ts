// Reads Role, ClusterRole, RoleBinding and ClusterRoleBinding objects from `kubectl get … -o yaml|json`
// Lists, multi-document YAML, single objects and directories. Other kinds are counted and ignored;
// malformed objects become warnings, never crashes.
import { readFile } from 'node:fs/promises';
import type { BindingObject, LabelSelector, PolicyRule, RbacSnapshot, RbacSubject, RoleObject } from '../types.js';
import { expandInputs } from '../ingest/sources.js';
import { InputError } from '../util/errors.js';

type Obj = Record<string, unknown>;

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function strings(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is string => typeof x === 'string');
}

function parseRule(r: unknown): PolicyRule | null {
  if (!isObj(r)) return null;
  const rule: PolicyRule = { verbs: strings(r.verbs) ?? [] };
  const apiGroups = strings(r.apiGroups);
  const resources = strings(r.resources);
  const resourceNames = strings(r.resourceNames);
  const nonResourceURLs = strings(r.nonResourceURLs);
  if (apiGroups) rule.apiGroups = apiGroups;
  if (resources) rule.resources = resources;
  if (resourceNames && resourceNames.length) rule.resourceNames = resourceNames;
  if (nonResourceURLs) rule.nonResourceURLs = nonResourceURLs;
  return rule;
}

function parseSelector(s: unknown): LabelSelector {
  const out: LabelSelector = {};
  if (!isObj(s)) return out;
  if (isObj(s.matchLabels)) out.matchLabels = Object.fromEntries(Object.entries(s.matchLabels).map(([k, v]) => [k, String(v)]));
  if (Array.isArray(s.matchExpressions)) {
    out.matchExpressions = s.matchExpressions.filter(isObj).map((e) => ({
      key: String(e.key ?? ''),
      operator: String(e.operator ?? '') as 'In',
      values: strings(e.values),
    }));
  }
  return out;
}

/** Adds one parsed object (or the items of a List) to the snapshot. */
export function addObject(snap: RbacSnapshot, o: unknown, where: string, file = ''): void {
  if (!isObj(o)) return;
  const kind = typeof o.kind === 'string' ? o.kind : '';
  if (Array.isArray(o.items) && (kind === 'List' || kind.endsWith('List'))) {
    o.items.forEach((item, i) => addObject(snap, item, `${where} item ${i + 1}`, file));
    return;
  }
  if (!RBAC_KINDS.has(kind)) {
    const k = kind || '(no kind)';
    snap.ignored[k] = (snap.ignored[k] ?? 0) + 1;
    return;
  }
  const meta = isObj(o.metadata) ? o.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!name) {
    snap.warnings.push(`${where}: ${kind} without metadata.name ignored`);
    return;
  }
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  if ((kind === 'Role' || kind === 'RoleBinding') && !namespace) {
    snap.warnings.push(`${where}: ${kind} ${name} has no metadata.namespace; ignored`);
    return;
  }
  if (kind === 'Role' || kind === 'ClusterRole') {
    const rules = Array.isArray(o.rules) ? o.rules.map(parseRule).filter((r): r is PolicyRule => r !== null) : [];
    const role: RoleObject = {
      kind,
      name,
      namespace: kind === 'Role' ? namespace : '',
      labels: isObj(meta.labels) ? Object.fromEntries(Object.entries(meta.labels).map(([k, v]) => [k, String(v)])) : {},
      rules,
      source: file,
    };
    if (kind === 'ClusterRole' && isObj(o.aggregationRule) && Array.isArray(o.aggregationRule.clusterRoleSelectors)) {
      role.aggregationRule = { clusterRoleSelectors: o.aggregationRule.clusterRoleSelectors.map(parseSelector) };
    }
    snap.roles.push(role);
    return;
  }
  const ref = isObj(o.roleRef) ? o.roleRef : null;
  if (!ref || (ref.kind !== 'Role' && ref.kind !== 'ClusterRole') || typeof ref.name !== 'string') {
    snap.warnings.push(`${where}: ${kind} ${name} has no valid roleRef; ignored`);
    return;
  }
  const subjects: RbacSubject[] = [];
  if (Array.isArray(o.subjects)) {
    for (const s of o.subjects) {
      if (!isObj(s) || typeof s.name !== 'string' || (s.kind !== 'User' && s.kind !== 'Group' && s.kind !== 'ServiceAccount')) {
        snap.warnings.push(`${where}: ${kind} ${name} has a subject of unknown kind; skipped`);
        continue;
      }
      const subj: RbacSubject = { kind: s.kind, name: s.name };
      if (typeof s.namespace === 'string' && s.namespace) subj.namespace = s.namespace;
      if (typeof s.apiGroup === 'string') subj.apiGroup = s.apiGroup;
      subjects.push(subj);
    }
  }
  const binding: BindingObject = {
    kind: kind as BindingObject['kind'],
    name,
    namespace: kind === 'RoleBinding' ? namespace : '',
    roleRef: { kind: ref.kind, name: ref.name, ...(typeof ref.apiGroup === 'string' ? { apiGroup: ref.apiGroup } : {}) },
    subjects,
    source: file,
  };
  if (kind === 'ClusterRoleBinding' && ref.kind === 'Role') {
    snap.warnings.push(`${where}: ClusterRoleBinding ${name} refers to a Role, which Kubernetes rejects; ignored`);
    return;
  }
  snap.bindings.push(binding);
}

export function emptySnapshot(): RbacSnapshot {
  return { roles: [], bindings: [], ignored: {}, warnings: [], files: [] };
}

/** Parses one file's text: JSON first (fast for big `-o json` exports), else (multi-document) YAML. */
export async function addText(snap: RbacSnapshot, text: string, file: string): Promise<void> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v)) v.forEach((x, i) => addObject(snap, x, `${file} item ${i + 1}`, file));
      else addObject(snap, v, file, file);
      return;
    } catch {
      /* fall through to YAML, which also reads JSON with comments or trailing text */
    }
  }
  const yaml = await import('js-yaml');
  try {
    let i = 0;
    yaml.loadAll(text, (doc) => addObject(snap, doc, `${file} document ${++i}`, file), { filename: file });
  } catch (e) {
    throw new InputError(`${file}: not YAML or JSON (${(e as Error).message.split('\n')[0]})`, 'pass the output of kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml');
  }
}

/** Loads RBAC objects from files and directories (read recursively). */
export async function loadRbac(paths: string[]): Promise<RbacSnapshot> {
  const snap = emptySnapshot();
  const sources = await expandInputs(paths);
  for (const s of sources) {
    if (s.path === '-') throw new InputError('--rbac: stdin is not supported', 'pass a file or directory');
    snap.files.push(s.path);
    await addText(snap, await readFile(s.path, 'utf8'), s.path);
  }
  return snap;
}

/**
 * A digest of what an RBAC export says, independent of file names, formats, order and comments:
 * the roles and bindings, sorted, without their source files. Compliance reports it as evidence;
 * shards and `audit merge` compare it to make sure they judged the same RBAC.
 */
export async function rbacDigest(snap: RbacSnapshot): Promise<string> {
  const { createHash } = await import('node:crypto');
  const key = (o: { kind: string; namespace: string; name: string }): string => `${o.kind}/${o.namespace}/${o.name}`;
  const canonical = JSON.stringify({
    roles: snap.roles.map(({ source: _s, ...r }) => r).sort((a, b) => (key(a) < key(b) ? -1 : 1)),
    bindings: snap.bindings.map(({ source: _s, ...b }) => b).sort((a, b) => (key(a) < key(b) ? -1 : 1)),
  });
  return createHash('sha256').update(canonical).digest('hex');
}
