// Field paths of the rule language: the normalized record's fields, a few computed ones, and the
// request and response bodies when the audit level logged them.
//
//   verb                                    a record field
//   requestObject.spec.containers[*].image  into the body; [*] (or .*) is every element or value
//   requestObject.**.securityContext        ** is any depth (zero or more levels)
//   metadata.labels["app.kubernetes.io/name"]  a quoted key; [0] an index
//   $.namespace, @                          inside some/every/none: the record's field, the element
//
// A key applied to an array applies to each element, and an array at the end of a path gives its
// elements, so `requestObject.rules.verbs` is every verb of every rule.
import type { AuditRecord } from '../../types.js';

export type Segment = { k: 'key'; name: string } | { k: 'any' } | { k: 'index'; i: number } | { k: 'deep' };

export interface ParsedPath {
  /** `$.x` (record) or `@…`/relative (current element inside a quantifier); plain paths at the record level are record paths. */
  root: 'record' | 'scope' | 'auto';
  segs: Segment[];
  text: string;
}

/** A value that cannot be known: the body (or the field) was not logged. */
export const UNKNOWN: unique symbol = Symbol('unknown');

export interface FieldDef {
  name: string;
  /** `boolean`: true or false, always present (conditions: equals true/false, in, exists, equalsField). */
  type: 'string' | 'number' | 'boolean' | 'strings' | 'body';
  /** Allowed values, for validation of equals/in. */
  values?: readonly string[];
  get(r: AuditRecord): unknown;
  /** Why get() returned UNKNOWN. */
  why?: string;
  doc: string;
}

const str = (name: keyof AuditRecord, doc: string, values?: readonly string[]): FieldDef => ({ name, type: 'string', doc, ...(values ? { values } : {}), get: (r) => r[name] });

export const SUBJECT_KINDS = ['User', 'ServiceAccount', 'Node', 'Anonymous', 'System', 'Unauthenticated'] as const;

/** Every field a rule may name at the record level. */
export const FIELDS: ReadonlyMap<string, FieldDef> = new Map(
  [
    str('time', 'requestReceivedTimestamp as written'),
    { name: 'timeMs', type: 'number', doc: 'time as epoch milliseconds', get: (r: AuditRecord) => r.timeMs },
    str('auditID', 'the audit ID'),
    str('stage', 'the completing stage kept'),
    str('level', 'Metadata, Request or RequestResponse', ['None', 'Metadata', 'Request', 'RequestResponse']),
    str('cluster', 'the cluster label'),
    str('subject', 'the effective user (the impersonated one when impersonation was used); "" for failed authentication'),
    str('subjectKind', 'User, ServiceAccount, Node, Anonymous, System or Unauthenticated', SUBJECT_KINDS),
    str('subjectNamespace', 'namespace of a ServiceAccount subject'),
    str('subjectName', 'name of a ServiceAccount subject'),
    { name: 'groups', type: 'strings', doc: "the effective user's groups", get: (r: AuditRecord) => r.groups },
    str('impersonator', 'the real user behind an impersonated request'),
    str('principal', 'provider identity (IAM ARN, Google principal)'),
    str('verb', 'the request verb (get, list, watch, create, update, patch, delete, deletecollection…)'),
    str('apiGroup', 'API group ("" = core)'),
    str('apiVersion', 'API version'),
    str('resource', 'resource (pods, secrets…)'),
    str('subresource', 'subresource (exec, log, token…)'),
    str('namespace', 'namespace of the object'),
    str('name', 'name of the object'),
    str('nonResourceURL', 'path of a non-resource request'),
    str('requestURI', 'the full request URI'),
    { name: 'code', type: 'number', doc: 'HTTP status code', get: (r: AuditRecord) => r.code },
    str('decision', 'allow, forbid or "" (authorization decision)', ['allow', 'forbid', '']),
    { name: 'durationMs', type: 'number', doc: 'latency in ms', get: (r: AuditRecord) => r.durationMs },
    str('sourceIP', 'the first source IP'),
    str('userAgent', 'the user agent'),
    str('client', 'client parsed from the user agent (kubectl, helm, a controller…)'),
    str('clientVersion', 'client version'),
    str('accessMethod', 'kubectl, browser, controller, automation or other', ['kubectl', 'browser', 'controller', 'automation', 'other']),
    str('provider', 'k8s, aks, eks or gke', ['k8s', 'aks', 'eks', 'gke']),
    { name: 'auditIDReused', type: 'boolean', doc: 'true when an earlier, different request of the run used the same auditID (README "Request identity")', get: (r: AuditRecord) => r.auditIDReused },
    { name: 'requestObject', type: 'body', doc: 'the request body (Request and RequestResponse levels); a JSON Patch reads as the fragment it sets', why: 'body not logged', get: (r: AuditRecord) => (r.requestObject === undefined ? UNKNOWN : r.requestObject) },
    { name: 'responseObject', type: 'body', doc: 'the response body (RequestResponse level)', why: 'response body not logged', get: (r: AuditRecord) => ((r as { responseObject?: unknown }).responseObject === undefined ? UNKNOWN : (r as { responseObject?: unknown }).responseObject) },
    // Computed.
    { name: 'username', type: 'string', doc: 'the authenticated user: the impersonator when impersonation was used, else the subject', get: (r: AuditRecord) => r.impersonator || r.subject },
    { name: 'target', type: 'string', doc: 'resource/subresource (pods/exec), the resource alone, or "" for non-resource requests', get: (r: AuditRecord) => (r.subresource ? `${r.resource}/${r.subresource}` : r.resource) },
    { name: 'authenticatedGroups', type: 'strings', doc: "the authenticated user's groups: unknown for an impersonated request (kaudit keeps the impersonated groups)", why: "the impersonator's groups are not kept", get: (r: AuditRecord) => (r.impersonator ? UNKNOWN : r.groups) },
  ].map((d) => [d.name, d as FieldDef]),
);

/** Fields computed from the record (not stored in it). */
export const COMPUTED_FIELDS: ReadonlySet<string> = new Set(['username', 'target', 'authenticatedGroups']);

const IDENT = /^[A-Za-z_$][\w$-]*/;

/** Parses a path; throws an Error whose message names what is wrong. */
export function parsePath(text: string): ParsedPath {
  let s = text.trim();
  let root: ParsedPath['root'] = 'auto';
  if (s === '@') return { root: 'scope', segs: [], text };
  if (s.startsWith('$.')) {
    root = 'record';
    s = s.slice(2);
  } else if (s.startsWith('@.')) {
    root = 'scope';
    s = s.slice(2);
  }
  const segs: Segment[] = [];
  let i = 0;
  let expectKey = true;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) throw new Error(`unclosed [ in path ${JSON.stringify(text)}`);
      const inner = s.slice(i + 1, close).trim();
      if (inner === '*') segs.push({ k: 'any' });
      else if (/^\d+$/.test(inner)) segs.push({ k: 'index', i: Number(inner) });
      else if (/^(".*"|'.*')$/.test(inner)) segs.push({ k: 'key', name: inner.slice(1, -1) });
      else throw new Error(`[${inner}] in path ${JSON.stringify(text)}: use [*], [N] or ["key"]`);
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (c === '.') {
      if (expectKey) throw new Error(`empty segment in path ${JSON.stringify(text)}`);
      i++;
      expectKey = true;
      continue;
    }
    if (!expectKey) throw new Error(`expected . or [ at ${JSON.stringify(s.slice(i))} in path ${JSON.stringify(text)}`);
    if (s.startsWith('**', i)) {
      segs.push({ k: 'deep' });
      i += 2;
    } else if (c === '*') {
      segs.push({ k: 'any' });
      i++;
    } else {
      const m = IDENT.exec(s.slice(i));
      if (!m) throw new Error(`unexpected ${JSON.stringify(c)} in path ${JSON.stringify(text)}`);
      segs.push({ k: 'key', name: m[0] });
      i += m[0].length;
    }
    expectKey = false;
  }
  if (expectKey && segs.length > 0) throw new Error(`path ${JSON.stringify(text)} ends with a dot`);
  if (segs.length === 0 && root !== 'scope') throw new Error('empty path');
  return { root, segs, text };
}

/** Limits that keep one request's evaluation bounded whatever its body holds. */
export const MAX_VALUES = 10_000;
export const MAX_DEPTH = 64;
/**
 * Nodes of a body `**` visits: more than any body the API server accepts holds (its request limit
 * is 3 MB), so a privileged container cannot hide behind thousands of environment variables.
 */
export const MAX_NODES = 1_000_000;

/**
 * Set when a walk stopped at MAX_VALUES, MAX_NODES or MAX_DEPTH: the values it returned are not
 * all there are, so a condition they do not decide is unknown, never false. Reset by the caller.
 */
export const walkLimit = { hit: false };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function leaf(v: unknown, out: unknown[]): void {
  if (v === undefined) return;
  if (Array.isArray(v)) {
    for (const x of v) {
      if (x === undefined) continue;
      if (out.length < MAX_VALUES) out.push(x);
      else walkLimit.hit = true;
    }
  } else if (out.length < MAX_VALUES) out.push(v);
  else walkLimit.hit = true;
}

/** Every value at or below v except arrays themselves (a key applied to an array reaches its elements anyway). */
function descendants(v: unknown, depth: number, out: unknown[]): void {
  if (out.length >= MAX_NODES || depth > MAX_DEPTH) {
    walkLimit.hit = true;
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) descendants(x, depth + 1, out);
    return;
  }
  out.push(v);
  if (isObj(v)) for (const k in v) if (Object.hasOwn(v, k)) descendants(v[k], depth + 1, out);
}

/** Descendants of a body, computed once however many rules read `**` in it (weak: freed with the record). */
const deepCache = new WeakMap<object, unknown[]>();
/** Bodies whose descendants stopped at a limit. */
const deepTruncated = new WeakSet<object>();

/** Collects the values at segs[i…] below v (see the header for the semantics). */
export function walk(v: unknown, segs: readonly Segment[], i: number, out: unknown[], depth = 0): void {
  if (v === undefined) return;
  if (out.length >= MAX_VALUES || depth > MAX_DEPTH) {
    walkLimit.hit = true;
    return;
  }
  if (i === segs.length) return leaf(v, out);
  const s = segs[i]!;
  switch (s.k) {
    case 'key':
      if (isObj(v)) walk(Object.hasOwn(v, s.name) ? v[s.name] : undefined, segs, i + 1, out, depth + 1);
      else if (Array.isArray(v)) for (const x of v) if (isObj(x) && Object.hasOwn(x, s.name)) walk(x[s.name], segs, i + 1, out, depth + 1);
      return;
    case 'any':
      if (Array.isArray(v)) for (const x of v) walk(x, segs, i + 1, out, depth + 1);
      else if (isObj(v)) for (const k in v) if (Object.hasOwn(v, k)) walk(v[k], segs, i + 1, out, depth + 1);
      return;
    case 'index':
      if (Array.isArray(v)) walk(v[s.i], segs, i + 1, out, depth + 1);
      return;
    case 'deep': {
      const obj = v !== null && typeof v === 'object' ? v : null;
      let all = obj ? deepCache.get(obj) : undefined;
      if (!all) {
        all = [];
        const before = walkLimit.hit;
        walkLimit.hit = false;
        descendants(v, depth, all);
        if (obj) {
          deepCache.set(obj, all);
          if (walkLimit.hit) deepTruncated.add(obj);
        }
        walkLimit.hit ||= before;
      } else if (obj && deepTruncated.has(obj)) walkLimit.hit = true;
      for (const x of all) {
        walk(x, segs, i + 1, out, depth + 1);
        if (out.length >= MAX_VALUES) {
          walkLimit.hit = true;
          return;
        }
      }
      return;
    }
  }
}

/** RFC 6901: a JSON Pointer's reference tokens (`/a/b~1c` → a, b/c); null for a pointer that is not one. */
function pointerTokens(path: string): string[] | null {
  if (!path.startsWith('/')) return null;
  return path.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `tokens` in the view built so far; undefined when the patch did not set it. */
function viewAt(root: unknown, tokens: string[]): unknown {
  let cur = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = /^\d+$/.test(t) ? cur[Number(t)] : undefined;
    else if (isObj(cur)) cur = Object.hasOwn(cur, t) ? cur[t] : undefined;
    else return undefined;
  }
  return cur;
}

/**
 * A JSON Patch (RFC 6902: an array of {op, path, value}) read as the fragment it sets: the values of
 * its add and replace operations placed at their paths, so rules over bodies see what a
 * `kubectl patch --type json` sets as they see a merge patch. copy and move place the value found at
 * `from` when an earlier operation of the same patch set it (a value added under one path and moved
 * to another is read where it lands); a `from` in the stored object, which the log does not hold, is
 * left out. An operation that would descend into a text, number or boolean is one the API server
 * refuses, and is left out. Other bodies are returned as they are.
 */
export function bodyView(body: unknown): unknown {
  if (!Array.isArray(body) || body.length === 0 || !body.every((o) => isObj(o) && typeof o.op === 'string' && typeof o.path === 'string')) return body;
  const root: Record<string, unknown> = {};
  for (const o of body as { op: string; path: string; value?: unknown; from?: unknown }[]) {
    let value: unknown;
    if (o.op === 'add' || o.op === 'replace') value = o.value;
    else if ((o.op === 'copy' || o.op === 'move') && typeof o.from === 'string') {
      const from = pointerTokens(o.from);
      value = from && from.length <= MAX_DEPTH ? viewAt(root, from) : undefined;
      if (value === undefined) continue;
    } else continue;
    const tokens = pointerTokens(o.path);
    if (!tokens || tokens.length === 0 || tokens.length > MAX_DEPTH) continue;
    let cur: Record<string, unknown> | unknown[] = root;
    for (let t = 0; t < tokens.length; t++) {
      const tok = tokens[t]!;
      const last = t === tokens.length - 1;
      const nextIsIndex = !last && /^(\d+|-)$/.test(tokens[t + 1]!);
      let nxt: unknown;
      if (Array.isArray(cur)) {
        const idx = tok === '-' ? cur.length : /^\d+$/.test(tok) ? Number(tok) : -1;
        if (idx < 0 || idx > 100_000) break;
        if (last) {
          cur[idx] = value;
          break;
        }
        nxt = cur[idx] ??= nextIsIndex ? [] : {};
      } else {
        if (tok === '__proto__') break;
        if (last) {
          cur[tok] = value;
          break;
        }
        const had: unknown = Object.hasOwn(cur, tok) ? cur[tok] : undefined;
        nxt = had !== undefined && had !== null ? had : (cur[tok] = nextIsIndex ? [] : {});
      }
      // The patch descends into a text, number or boolean: the API server refuses it.
      if (nxt === null || typeof nxt !== 'object') break;
      cur = nxt as Record<string, unknown> | unknown[];
    }
  }
  return root;
}
