// What the API server asked its authorizer for one audit record, check by check: the request itself
// (attributes exactly as RequestInfo gave them, with the groups that request carried), each
// impersonation check, and the bind and escalate checks of RBAC writes. rbac-gen, drift and
// compliance all read requests through here, so they judge what the API server judged.
import type { AuditRecord, PolicyRule, RequestAttributes, UserInfo } from '../types.js';
import { withImplicitGroups } from './authorizer.js';
import { fromGoBytes, goBytes, goCompare, goReplaceInvalid } from '../util/gostring.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const AUTHN_GROUP = 'authentication.k8s.io';

// ---------- RequestInfo (k8s.io/apiserver pkg/endpoints/request/requestinfo.go) ----------

/** The fields of RequestInfo that authorization uses. */
export interface RequestInfo {
  isResourceRequest: boolean;
  /** URL path (percent-decoded, as req.URL.Path). */
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);

/** The HTTP method a resource verb came from (the inverse of NewRequestInfo's method switch). */
const METHOD_OF_VERB: Record<string, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETE' };

/** path.IsValidPathSegmentName (k8s.io/apimachinery pkg/api/validation/path). */
export function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/**
 * fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; an unescaped `,` or `=` is an
 * error (null). A value holding none of `\,=` is returned as is; otherwise it is rebuilt rune by
 * rune, which turns each byte that is not UTF-8 into U+FFFD.
 */
function unescapeFieldValue(s: string): string | null {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let slash = false;
  for (const c of goReplaceInvalid(s)) {
    if (slash) {
      if (c !== '\\' && c !== ',' && c !== '=') return null;
      out += c;
      slash = false;
    } else if (c === '\\') slash = true;
    else if (c === ',' || c === '=') return null;
    else out += c;
  }
  return slash ? null : out;
}

/**
 * The value a field selector requires `field` to equal, or null: fields.ParseSelector (splitTerms,
 * splitTerm, UnescapeValue; terms sorted) then Selector.RequiresExactMatch. `undefined` when the
 * selector does not parse (the API server then ignores it for the name).
 */
export function fieldSelectorExactMatch(selector: string, field: string): string | null | undefined {
  const terms: string[] = [];
  let start = 0;
  let slash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (slash) slash = false;
    else if (c === '\\') slash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  if (selector.length) terms.push(selector.slice(start));
  // sort.StringSlice compares Go strings, i.e. bytes.
  terms.sort(goCompare);
  let found: string | null = null;
  for (const t of terms) {
    if (t === '') continue;
    let op = '';
    let at = -1;
    for (let i = 0; i < t.length && at < 0; i++) {
      for (const o of ['!=', '==', '=']) {
        if (t.startsWith(o, i)) {
          op = o;
          at = i;
          break;
        }
      }
    }
    if (at < 0) return undefined;
    const value = unescapeFieldValue(t.slice(at + op.length));
    if (value === null) return undefined;
    if (found === null && op !== '!=' && t.slice(0, at) === field) found = value;
  }
  return found;
}

// ---------- labels.Parse (k8s.io/apimachinery pkg/labels/selector.go), as a validity check ----------

const T_ERROR = 0;
const T_EOS = 1;
const T_CLOSED_PAR = 2;
const T_COMMA = 3;
const T_DOES_NOT_EXIST = 4;
const T_DOUBLE_EQUALS = 5;
const T_EQUALS = 6;
const T_GREATER_THAN = 7;
const T_IDENTIFIER = 8;
const T_IN = 9;
const T_LESS_THAN = 10;
const T_NOT_EQUALS = 11;
const T_NOT_IN = 12;
const T_OPEN_PAR = 13;

/** string2token. */
const STRING_TO_TOKEN = new Map<string, number>([
  [')', T_CLOSED_PAR],
  [',', T_COMMA],
  ['!', T_DOES_NOT_EXIST],
  ['==', T_DOUBLE_EQUALS],
  ['=', T_EQUALS],
  ['>', T_GREATER_THAN],
  ['in', T_IN],
  ['<', T_LESS_THAN],
  ['!=', T_NOT_EQUALS],
  ['notin', T_NOT_IN],
  ['(', T_OPEN_PAR],
]);

const isLabelWhitespace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isLabelSpecial = (c: number): boolean => c === 0x3d || c === 0x21 || c === 0x28 || c === 0x29 || c === 0x2c || c === 0x3e || c === 0x3c;

/**
 * Lexer.Lex over the whole selector (Parser.scan). The Go lexer reads bytes and takes a NUL byte
 * for the end of the input where a token starts; the characters it treats specially are ASCII, so
 * reading UTF-16 code units splits the input the same way.
 */
function lexLabelSelector(s: string): [number, string][] {
  let pos = 0;
  const read = (): number => (pos < s.length ? s.charCodeAt(pos++) : 0);
  const items: [number, string][] = [];
  for (;;) {
    let ch = read();
    while (isLabelWhitespace(ch)) ch = read();
    let item: [number, string];
    if (ch === 0) item = [T_EOS, ''];
    else if (isLabelSpecial(ch)) {
      pos--;
      // scanSpecialSymbol: the longest run of special characters that is a token.
      let buf = '';
      let last: [number, string] | null = null;
      for (;;) {
        const c = read();
        if (c === 0) break;
        if (!isLabelSpecial(c)) {
          pos--;
          break;
        }
        buf += String.fromCharCode(c);
        const t = STRING_TO_TOKEN.get(buf);
        if (t !== undefined) last = [t, buf];
        else if (last) {
          pos--;
          break;
        }
      }
      item = last ?? [T_ERROR, buf];
    } else {
      pos--;
      // scanIDOrKeyword
      let buf = '';
      for (;;) {
        const c = read();
        if (c === 0) break;
        if (isLabelSpecial(c) || isLabelWhitespace(c)) {
          pos--;
          break;
        }
        buf += String.fromCharCode(c);
      }
      item = [STRING_TO_TOKEN.get(buf) ?? T_IDENTIFIER, buf];
    }
    items.push(item);
    if (item[0] === T_EOS) return items;
  }
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** content.IsLabelKey (IsQualifiedName): [DNS-1123 subdomain "/"] name of at most 63 characters. */
function isLabelKey(k: string): boolean {
  const parts = k.split('/');
  if (parts.length > 2) return false;
  if (parts.length === 2 && (parts[0] === '' || parts[0]!.length > 253 || !DNS1123_SUBDOMAIN.test(parts[0]!))) return false;
  const name = parts[parts.length - 1]!;
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

/** IsValidLabelValue: empty, or at most 63 characters of the label-name form. */
function isLabelValue(v: string): boolean {
  return v.length <= 63 && LABEL_VALUE.test(v);
}

/**
 * Whether labels.Parse accepts a label selector: the same recursive descent (Parser.parse,
 * parseRequirement, parseKeyAndInferOperator, parseOperator, parseValues, parseIdentifiersList,
 * parseExactValue) and the checks of NewRequirement (key, values, one integer for `>` and `<`).
 */
export function labelSelectorParses(selector: string): boolean {
  const items = lexLabelSelector(selector);
  let position = 0;
  /** lookahead/consume in the Values context: `in` and `notin` are identifiers there. */
  const tokenAt = (i: number, values: boolean): [number, string] => {
    const [t, lit] = items[Math.min(i, items.length - 1)]!;
    return [values && (t === T_IN || t === T_NOT_IN) ? T_IDENTIFIER : t, lit];
  };
  const lookahead = (values = true) => tokenAt(position, values);
  const consume = (values = true) => tokenAt(position++, values);

  const parseValues = (): string[] | null => {
    if (consume()[0] !== T_OPEN_PAR) return null;
    const [t] = lookahead();
    if (t === T_CLOSED_PAR) {
      consume();
      return [''];
    }
    if (t !== T_IDENTIFIER && t !== T_COMMA) return null;
    const set = new Set<string>();
    for (;;) {
      const [tok, lit] = consume();
      if (tok === T_IDENTIFIER) {
        set.add(lit);
        const [t2] = lookahead();
        if (t2 === T_COMMA) continue;
        if (t2 === T_CLOSED_PAR) break;
        return null;
      }
      if (tok !== T_COMMA) return null;
      if (set.size === 0) set.add('');
      const [t2] = lookahead();
      if (t2 === T_CLOSED_PAR) {
        set.add('');
        break;
      }
      if (t2 === T_COMMA) set.add('');
    }
    return consume()[0] === T_CLOSED_PAR ? [...set] : null;
  };

  const parseRequirement = (): boolean => {
    // parseKeyAndInferOperator
    let op = '';
    let [tok, key] = consume();
    if (tok === T_DOES_NOT_EXIST) {
      op = '!';
      [tok, key] = consume();
    }
    if (tok !== T_IDENTIFIER || !isLabelKey(key)) return false;
    const [next] = lookahead();
    if ((next === T_EOS || next === T_COMMA) && op !== '!') op = 'exists';
    if (op !== '') return true; // Exists or DoesNotExist: no values, the key is checked
    // parseOperator
    const [opTok] = consume(false);
    let values: string[] | null;
    if (opTok === T_IN || opTok === T_NOT_IN) values = parseValues();
    else if (opTok === T_EQUALS || opTok === T_DOUBLE_EQUALS || opTok === T_NOT_EQUALS || opTok === T_GREATER_THAN || opTok === T_LESS_THAN) {
      // parseExactValue
      const [t] = lookahead();
      if (t === T_EOS || t === T_COMMA) values = [''];
      else {
        const [vt, v] = consume();
        values = vt === T_IDENTIFIER ? [v] : null;
      }
    } else return false;
    if (values === null) return false;
    // NewRequirement
    if ((opTok === T_GREATER_THAN || opTok === T_LESS_THAN) && !values.every(parsesInt64)) return false;
    return values.every(isLabelValue);
  };

  for (;;) {
    const [tok] = lookahead();
    if (tok === T_EOS) return true;
    if (tok !== T_IDENTIFIER && tok !== T_DOES_NOT_EXIST) return false;
    if (!parseRequirement()) return false;
    const [t] = consume();
    if (t === T_EOS) return true;
    if (t !== T_COMMA) return false;
    const [t2] = lookahead();
    if (t2 !== T_IDENTIFIER && t2 !== T_DOES_NOT_EXIST) return false;
  }
}

// ---------- the query: url.ParseQuery and DecodeParameters into ListOptions ----------

const INT64 = /^[+-]?[0-9]+$/;
const INT64_MAX = 9223372036854775807n;

/** strconv.ParseInt(s, 10, 64) succeeds: an optional sign, ASCII digits, within int64. */
function parsesInt64(v: string): boolean {
  if (!INT64.test(v)) return false;
  const n = BigInt(v);
  return n <= INT64_MAX && n >= -INT64_MAX - 1n;
}

/**
 * Whether ParameterCodec.DecodeParameters(query, metav1, &internalversion.ListOptions{}) succeeds:
 * Convert_url_Values_To_v1_ListOptions fails on a `timeoutSeconds` or `limit` that strconv.ParseInt
 * rejects, and the conversion to the internal version on a `labelSelector` that labels.Parse or a
 * `fieldSelector` that fields.ParseSelector rejects (the first value of each counts). The other
 * parameters (watch, allowWatchBookmarks, sendInitialEvents, resourceVersion…) cannot fail.
 */
function listOptionsDecode(q: Map<string, string[]>): boolean {
  for (const k of ['timeoutSeconds', 'limit']) {
    const v = q.get(k)?.[0];
    if (v !== undefined && !parsesInt64(v)) return false;
  }
  const ls = q.get('labelSelector')?.[0];
  if (ls !== undefined && !labelSelectorParses(ls)) return false;
  const fs = q.get('fieldSelector')?.[0];
  return fs === undefined || fieldSelectorExactMatch(fs, '') !== undefined;
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const unhex = (c: number): number => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10);

/**
 * net/url unescape: `%XX` is the byte XX, and in a query component `+` is a space (QueryUnescape);
 * in a path `+` stays (encodePath). null where Go returns an EscapeError (a `%` not followed by two
 * hex digits). The result is a Go string (see util/gostring.ts: bytes that are not UTF-8 are kept).
 */
function goUnescape(s: string, query: boolean): string | null {
  if (!s.includes('%') && !(query && s.includes('+'))) return s;
  const b = goBytes(s);
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x25) {
      if (i + 2 >= b.length || !isHex(b[i + 1]!) || !isHex(b[i + 2]!)) return null;
      out.push((unhex(b[i + 1]!) << 4) | unhex(b[i + 2]!));
      i += 2;
    } else out.push(query && c === 0x2b ? 0x20 : c);
  }
  return fromGoBytes(Uint8Array.from(out));
}

/**
 * The most parameters url.ParseQuery reads: the default of GODEBUG urlmaxqueryparams (Go 1.26, and
 * backported to Go 1.24 and 1.25 patch releases; k8s.io/apiserver's go.mod says `godebug
 * default=go1.26`). A query with more (counted as its `&`s plus one) is an error, and
 * req.URL.Query() is then empty. API servers built with an older Go read every parameter.
 */
export const GO_MAX_QUERY_PARAMS = 10000;

/**
 * req.URL.Query(): url.ParseQuery with its error ignored. Pairs split on `&`; a pair holding `;`
 * (Go 1.17 and later) or a malformed escape is dropped; key and value are QueryUnescape'd; a pair
 * without `=` has the value "". Above GO_MAX_QUERY_PARAMS parameters, nothing is read. Keys and
 * values are Go strings (util/gostring.ts).
 */
export function parseQuery(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let amps = 0;
  for (let i = query.indexOf('&'); i >= 0; i = query.indexOf('&', i + 1)) amps++;
  if (amps + 1 > GO_MAX_QUERY_PARAMS) return out;
  for (const pair of query.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = goUnescape(eq < 0 ? pair : pair.slice(0, eq), true);
    const value = goUnescape(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (key === null || value === null) continue;
    const l = out.get(key);
    if (l) l.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/**
 * A request path as req.URL.Path holds it, from the escaped path the audit event's requestURI
 * carries (URL.RequestURI → EscapedPath): percent-escapes decoded (`%2F` too, so it splits there),
 * `+` kept, bytes that are not UTF-8 kept as Go keeps them (util/gostring.ts). null when an escape
 * is malformed: net/url rejects such a request line before any handler or audit runs.
 */
export function decodePath(rawPath: string): string | null {
  return goUnescape(rawPath, false);
}

/** strings.EqualFold(v, "false"): ASCII case, and U+017F (ſ) folds to s. */
const EQUAL_FOLD_FALSE = /^[fF][aA][lL][sSſ][eE]$/;
/** strings.ToLower(v) == "false": only ASCII letters lower to ASCII f, a, l, s, e. */
const LOWER_FALSE = /^[fF][aA][lL][sS][eE]$/;

/**
 * Whether the first `watch` value makes the request a watch. When DecodeParameters succeeded, it is
 * Convert_Slice_string_To_bool ("0" or EqualFold "false" is false); when it failed, NewRequestInfo
 * reads the value itself with strings.ToLower ("false" or "0" is false). Anything else, "" too, is a
 * watch.
 */
function isWatch(value: string, decoded: boolean): boolean {
  return !(value === '0' || (decoded ? EQUAL_FOLD_FALSE : LOWER_FALSE).test(value));
}

/**
 * NewRequestInfo for an HTTP method and request URI (path and query, as the audit event's
 * requestURI). Returns null when the URI cannot be parsed as the server parsed it. `query` false
 * skips what only the query decides (list or watch, the field-selector name) for callers that know
 * it already: parsing the query is most of the cost.
 */
export function newRequestInfo(method: string, requestURI: string, query = true): RequestInfo | null {
  const q = requestURI.indexOf('?');
  const path = decodePath(q < 0 ? requestURI : requestURI.slice(0, q));
  if (path === null) return null;
  const info: RequestInfo = { isResourceRequest: false, path, verb: method.toLowerCase(), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  let parts = trimmed === '' ? [] : trimmed.split('/');
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  const prefix = parts[0]!;
  parts = parts.slice(1);
  if (!GROUPLESS_API_PREFIXES.has(prefix)) {
    if (parts.length < 3) return info;
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) return null;
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    const m = method.toUpperCase();
    info.verb = m === 'POST' ? 'create' : m === 'GET' || m === 'HEAD' ? 'get' : m === 'PUT' ? 'update' : m === 'PATCH' ? 'patch' : m === 'DELETE' ? 'delete' : '';
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(info.verb)) info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;
  if (info.name === '' && info.verb === 'get') {
    info.verb = 'list';
    if (!query || q < 0) return info;
    const params = parseQuery(requestURI.slice(q + 1));
    const ok = params.size === 0 || listOptionsDecode(params);
    const watch = params.get('watch')?.[0];
    if (watch !== undefined && isWatch(watch, ok)) info.verb = 'watch';
    const fs = ok ? params.get('fieldSelector')?.[0] : undefined;
    if (fs !== undefined) {
      const name = fieldSelectorExactMatch(fs, 'metadata.name');
      if (typeof name === 'string' && isValidPathSegmentName(name)) info.name = name;
    }
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

// ---------- the request's own attributes ----------

/** Sources whose objectRef is the authorizer's attributes (LogRequestMetadata), later filled from the body. */
const NATIVE = new Set(['k8s', 'aks', 'eks']);
const LIST_VERBS = new Set(['list', 'watch']);
/** Verbs whose `namespaces` request does not name one namespace in the path (so has none). */
const NO_NAME_VERBS = new Set(['create', 'list', 'watch', 'deletecollection']);

/**
 * The authorization attributes of a record as the authorizer saw them (GetAuthorizerAttributes over
 * NewRequestInfo), not as the audit event shows them afterwards:
 * - a create on a collection has no name: LogRequestObject fills objectRef.name from the body after
 *   authorization; a create on a named subresource (pods/NAME/exec, serviceaccounts/NAME/token)
 *   keeps the name from the path;
 * - list and watch carry the name a `metadata.name` field selector requires (native events already
 *   show it in objectRef, others get it from the request URI);
 * - requests on `namespaces/X` (get, update, status, finalize…) carry namespace X;
 * - non-resource requests carry the lowercase HTTP method as verb (`head` stays `head`) and the path,
 *   percent-decoded as req.URL.Path is.
 * A native event's objectRef is the authorizer's attributes except where a create's body filled it
 * in, so only creates (and records of other sources) are re-derived from the URI; when the URI does
 * not parse to the same resource, the record's fields are used with the same rules.
 */
export function requestAttributes(r: AuditRecord): RequestAttributes {
  // A non-resource request is authorized on req.URL.Path, which the audit event's requestURI holds
  // still escaped: /%61pis is authorized as /apis.
  if (r.resource === '') return { verb: r.verb, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', nonResourceURL: decodePath(r.nonResourceURL) ?? r.nonResourceURL };
  const out: RequestAttributes = { verb: r.verb, apiGroup: r.apiGroup, resource: r.resource, subresource: r.subresource, namespace: r.namespace, name: r.name, nonResourceURL: '' };
  const native = NATIVE.has(r.provider);
  // encoding/json writes a name that is not UTF-8 (the path held %FF) with U+FFFD in its place, so
  // such an objectRef no longer says what was authorized: the URI does.
  const mangled = native && (r.name.includes('\uFFFD') || r.namespace.includes('\uFFFD') || r.subresource.includes('\uFFFD'));
  if (native && r.verb !== 'create' && !mangled) {
    // A native objectRef is the authorizer's attributes (LogRequestMetadata); only a create's body
    // fills in what the path did not have (LogRequestObject), so nothing else needs the URI.
    if (r.namespace === '' && r.apiGroup === '' && r.resource === 'namespaces' && r.name !== '' && !NO_NAME_VERBS.has(r.verb)) out.namespace = r.name;
    return out;
  }
  const method = METHOD_OF_VERB[r.verb] ?? (r.verb === 'proxy' ? 'GET' : undefined);
  const info = method && r.requestURI.startsWith('/') ? newRequestInfo(method, r.requestURI) : null;
  const consistent = info !== null && info.isResourceRequest && info.resource === r.resource && info.apiGroup === r.apiGroup && (info.verb === r.verb || (LIST_VERBS.has(info.verb) && LIST_VERBS.has(r.verb)));
  if (consistent) {
    out.namespace = info.namespace;
    out.subresource = info.subresource;
    out.name = LIST_VERBS.has(r.verb) && native && !mangled ? r.name : info.name;
    return out;
  }
  if (r.verb === 'create' && r.subresource === '') out.name = '';
  if (r.apiGroup === '' && r.resource === 'namespaces' && r.name !== '' && !NO_NAME_VERBS.has(r.verb)) out.namespace = r.name;
  return out;
}

/**
 * The identity the request was authorized as: the impersonated user when impersonating, with the
 * groups this very request carried (not pooled over other requests). When the source recorded no
 * groups (GKE), the groups the authenticators add are assumed (withImplicitGroups).
 */
export function userInfo(r: AuditRecord): UserInfo {
  return withImplicitGroups({ user: r.subject, groups: r.groups });
}

/** The real user behind an impersonated request, with its own groups: the requestor WithImpersonation authorizes. */
export function impersonatorInfo(r: AuditRecord): UserInfo {
  return withImplicitGroups({ user: r.impersonator, groups: r.impersonatorGroups });
}

// ---------- every check one request went through ----------

export type CheckKind = 'request' | 'impersonate' | 'bind' | 'escalate';

/** One authorization the API server performed for a request. */
export interface AuthzCheck {
  kind: CheckKind;
  /** Who was asked about: the impersonator for impersonation checks, else the effective user. */
  user: UserInfo;
  attrs: RequestAttributes;
}

/** serviceaccount.SplitUsername: `system:serviceaccount:NS:NAME` with a valid namespace and name, else null. */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | null {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return null;
  const parts = username.slice(prefix.length).split(':');
  if (parts.length !== 2) return null;
  const [namespace, name] = parts as [string, string];
  if (!DNS_LABEL.test(namespace) || !isDnsSubdomain(name)) return null;
  return { namespace, name };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsDNS1123Subdomain. */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** validation.IsDNS1123Label (namespace names). */
export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

function resourceCheck(resource: string, apiGroup: string, namespace: string, name: string, subresource = ''): RequestAttributes {
  return { verb: 'impersonate', apiGroup, resource, subresource, namespace, name, nonResourceURL: '' };
}

/**
 * The impersonation checks of an impersonated request, in the order WithImpersonation makes them
 * (buildImpersonationRequests): `impersonate` on serviceaccounts/NAME in the account's namespace or
 * on users/NAME (core); on groups/NAME (core) for each impersonated group; on userextras/KEY
 * (authentication.k8s.io) with each value as the name; on uids/UID (authentication.k8s.io). Groups
 * the filter adds itself are not requested: system:authenticated (system:unauthenticated for
 * system:anonymous), and a service account's own groups when they are exactly what the filter
 * derives for it. [] when the request was not impersonated.
 */
export function impersonationChecks(r: AuditRecord): AuthzCheck[] {
  if (r.impersonator === '') return [];
  const requestor = impersonatorInfo(r);
  const out: AuthzCheck[] = [];
  const sa = splitServiceAccountUsername(r.subject);
  if (sa) out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('serviceaccounts', '', sa.namespace, sa.name) });
  else out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('users', '', '', r.subject) });
  for (const g of requestedGroups(r.subject, r.groups, sa?.namespace)) out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('groups', '', '', g) });
  for (const key of Object.keys(r.impersonatedExtra).sort()) {
    for (const v of r.impersonatedExtra[key]!) out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('userextras', AUTHN_GROUP, '', v, key) });
  }
  if (r.impersonatedUID !== '') out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('uids', AUTHN_GROUP, '', r.impersonatedUID) });
  return out;
}

/**
 * The groups an impersonating client asked for (Impersonate-Group headers) to end up with `groups`,
 * the impersonated user's groups as the audit event records them (LogImpersonatedUser, in order).
 * WithImpersonation builds that list as the requested groups in header order (with none, for a
 * service account, serviceaccount.MakeGroupNames(NS): system:serviceaccounts, then
 * system:serviceaccounts:NS), then appends system:authenticated unless the list already holds it or
 * system:unauthenticated (for system:anonymous: appends system:unauthenticated unless present). So
 * only a trailing added group is the filter's own; one anywhere else was asked for and checked. A
 * trailing one the client asked for explicitly looks the same and is taken as added.
 */
export function requestedGroups(username: string, groups: readonly string[], saNamespace: string | undefined): string[] {
  const anonymous = username === 'system:anonymous';
  const added = anonymous ? 'system:unauthenticated' : 'system:authenticated';
  let asked = [...groups];
  if (asked.length > 0 && asked[asked.length - 1] === added) {
    const before = asked.slice(0, -1);
    const filterAdds = anonymous ? !before.includes('system:unauthenticated') : !before.includes('system:authenticated') && !before.includes('system:unauthenticated');
    if (filterAdds) asked = before;
  }
  // Without Impersonate-Group headers the filter sets serviceaccount.MakeGroupNames(NS).
  if (saNamespace !== undefined && asked.length === 2 && asked[0] === 'system:serviceaccounts' && asked[1] === `system:serviceaccounts:${saNamespace}`) return [];
  return [...new Set(asked)];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether the storage layer ran its escalation checks and they passed (2xx), failed (403), or neither is known. */
export type StorageOutcome = 'passed' | 'failed' | 'unknown';

/** The outcome of the RBAC storage's escalation checks, from the response code. */
export function storageOutcome(r: AuditRecord): StorageOutcome {
  if (r.decision === 'forbid') return 'unknown'; // the request itself was denied: storage never ran
  if (r.code >= 200 && r.code < 300) return 'passed';
  if (r.code === 403) return 'failed';
  return 'unknown';
}

const BINDINGS = new Set(['rolebindings', 'clusterrolebindings']);
const ROLES = new Set(['roles', 'clusterroles']);
const WRITES = new Set(['create', 'update', 'patch']);

/** What an RBAC write asks of the escalation checks. */
export interface RbacWrite {
  /** A binding (bind check) or a role (escalate check). */
  object: 'binding' | 'role';
  /** The escalate check (RoleEscalationAuthorized), always known for role writes; null for bindings. */
  escalate: AuthzCheck | null;
  /** The bind check (BindingAuthorized); null for roles, or when the body does not name the roleRef. */
  bind: AuthzCheck | null;
  /** For roles: the rules being written, when the body holds them; null otherwise. */
  rules: PolicyRule[] | null;
  /**
   * For ClusterRoles: the write certainly sets an aggregationRule, which needs every permission unless
   * `escalate` (a create with one or more selectors: hasAggregationRule in clusterrole/policybased).
   */
  aggregation: boolean;
  /**
   * For ClusterRole updates and patches whose result carries an aggregationRule: it needs every
   * permission only if it changed (hasAggregationRuleChanged), which the log cannot show.
   */
  aggregationMaybe: boolean;
  /** Why the body could not be used ('' when it was): not logged, a JSON patch, no roleRef… */
  bodyMissing: string;
  outcome: StorageOutcome;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

/**
 * The escalation checks of an RBAC write (create, update or patch of roles, clusterroles,
 * rolebindings, clusterrolebindings in rbac.authorization.k8s.io), as the policybased storages run
 * them (pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go):
 * - a binding passes when BindingAuthorized allows `bind` on its roleRef (resource roles or
 *   clusterroles, name = roleRef.name, namespace = the binding's), else when ConfirmNoEscalation finds
 *   the user already holds every rule of the role;
 * - a role passes when RoleEscalationAuthorized allows `escalate` on it (name as RequestInfo has it,
 *   so '' for a create), else when the user holds every rule written (and every permission, for an
 *   aggregationRule).
 * Members of system:masters skip both (EscalationAllowed). null when the record is not such a write.
 */
export function rbacWrite(r: AuditRecord): RbacWrite | null {
  if (r.apiGroup !== RBAC_GROUP || r.subresource !== '' || !WRITES.has(r.verb)) return null;
  if (!BINDINGS.has(r.resource) && !ROLES.has(r.resource)) return null;
  const user = userInfo(r);
  if (user.groups.includes('system:masters')) return null;
  const attrs = requestAttributes(r);
  const outcome = storageOutcome(r);
  const body = r.requestObject;
  let bodyMissing = '';
  if (body === undefined) bodyMissing = `request body not logged (audit level ${r.level || 'unknown'})`;
  else if (!isObj(body)) bodyMissing = 'request body is not an object (a JSON patch)';
  if (ROLES.has(r.resource)) {
    const escalate: AuthzCheck = { kind: 'escalate', user, attrs: { ...attrs, verb: 'escalate' } };
    let rules: PolicyRule[] | null = null;
    let aggregation = false;
    let aggregationMaybe = false;
    if (!bodyMissing && isObj(body)) {
      if (Array.isArray(body.rules)) {
        rules = body.rules.filter(isObj).map((x) => {
          const rule: PolicyRule = { verbs: strings(x.verbs) ?? [] };
          for (const k of ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
            const v = strings(x[k]);
            if (v) rule[k] = v;
          }
          return rule;
        });
      } else if (r.verb === 'patch') bodyMissing = 'the patch does not carry the rules';
      else rules = [];
      // clusterrole/policybased Storage: a create needs every permission for an aggregationRule with
      // selectors (hasAggregationRule); an update (or patch) only when the rule changed
      // (hasAggregationRuleChanged: any non-nil new rule that differs from the stored one).
      const ar = body.aggregationRule;
      if (r.resource === 'clusterroles' && isObj(ar)) {
        if (r.verb === 'create') aggregation = Array.isArray(ar.clusterRoleSelectors) && ar.clusterRoleSelectors.length > 0;
        else aggregationMaybe = true;
      }
    }
    return { object: 'role', escalate, bind: null, rules, aggregation, aggregationMaybe, bodyMissing, outcome };
  }
  let bind: AuthzCheck | null = null;
  if (!bodyMissing && isObj(body)) {
    const ref = body.roleRef;
    if (isObj(ref) && (ref.kind === 'Role' || ref.kind === 'ClusterRole') && typeof ref.name === 'string' && ref.name !== '') {
      // The bind check sees the roleRef after defaulting: SetDefaults_RoleBinding and
      // SetDefaults_ClusterRoleBinding (pkg/apis/rbac/v1/defaults.go) fill an empty apiGroup.
      const apiGroup = typeof ref.apiGroup === 'string' && ref.apiGroup !== '' ? ref.apiGroup : RBAC_GROUP;
      const namespace = r.resource === 'rolebindings' ? attrs.namespace : '';
      bind = { kind: 'bind', user, attrs: { verb: 'bind', apiGroup, resource: ref.kind === 'Role' ? 'roles' : 'clusterroles', subresource: '', namespace, name: ref.name, nonResourceURL: '' } };
    } else bodyMissing = 'the request body does not name the roleRef';
  }
  return { object: 'binding', escalate: null, bind, rules: null, aggregation: false, aggregationMaybe: false, bodyMissing, outcome };
}
