// Shared types for the whole pipeline: ingest → normalize → filter → analyses → render.

/**
 * Who made a request, as Kubernetes authorization sees it. `Unauthenticated`: the API server
 * audited the request before any identity was established (failed authentication, 401, and other
 * rejections ahead of authentication): the event's `user` is `{}` and the record's subject is ''.
 * It is never `Anonymous` (system:anonymous is an identity the anonymous authenticator grants).
 */
export type SubjectKind = 'User' | 'ServiceAccount' | 'Node' | 'Anonymous' | 'System' | 'Unauthenticated';

/** How a person or program reached the API server. */
export type AccessMethod = 'kubectl' | 'browser' | 'controller' | 'automation' | 'other';

/** The authorizer's verdict: from the audit annotation when present, else derived from the code. */
export type Decision = 'allow' | 'forbid' | '';

/**
 * One flat, typed record per API request. Every analysis reads these and nothing else.
 * Absent strings are '' (never undefined) so that every record has the same shape.
 */
export interface AuditRecord {
  /** requestReceivedTimestamp (or the legacy `timestamp`), as written by the API server. */
  time: string;
  /** `time` as epoch milliseconds (fractional: microseconds kept); NaN when the event had no time. */
  timeMs: number;
  auditID: string;
  /** The stage kept after collapsing: ResponseComplete or Panic when the request completed. */
  stage: string;
  level: string;
  cluster: string;

  /** Effective identity: the impersonated user when impersonation was used. */
  subject: string;
  subjectKind: SubjectKind;
  /** Namespace and name of a ServiceAccount subject ('' otherwise). */
  subjectNamespace: string;
  subjectName: string;
  groups: string[];
  /** The real user behind an impersonated request ('' when none). */
  impersonator: string;
  /** Provider identity behind the Kubernetes user: an IAM ARN, a Google principal… ('' when none). */
  principal: string;

  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Path of a non-resource request (no query string); '' for resource requests. */
  nonResourceURL: string;
  requestURI: string;

  /** HTTP status code; 0 when the event carries none (RequestReceived). */
  code: number;
  decision: Decision;
  /** stageTimestamp − requestReceivedTimestamp of the kept stage, in ms; null when unknown. */
  durationMs: number | null;

  sourceIP: string;
  userAgent: string;
  client: string;
  clientVersion: string;
  accessMethod: AccessMethod;
  /** Where the event came from: `k8s` (native audit Event), `aks`, `eks` or `gke`. */
  provider: string;
  /** The request body, when the audit level kept it (Request, RequestResponse); not a flat field. */
  requestObject?: unknown;
  /**
   * True when an earlier request in the same input (within the collapse window) used the same
   * auditID with a different identity (requestReceivedTimestamp, verb, requestURI or user): the
   * API server takes the `Audit-ID` header from the client as is (filters/with_auditid.go), so a
   * reused ID can try to hide a request behind another. Counted in InputAccounting.auditIDReuse.
   */
  auditIDReused: boolean;
  /**
   * Where the kept event (the request's completing stage) was read: the input file and the line
   * (JSON lines, CloudWatch text, CSV) or item (JSON and YAML documents) in it. When the file was
   * read in byte ranges (--jobs), `offset` is where the range began and `line` counts from there
   * until resolveLines (src/ingest/locate.ts) makes it absolute. Set by the pipeline; reports cite
   * it as evidence (SARIF). Not an exported field.
   */
  location: Loc;
  /** The response body, when the audit level kept it (RequestResponse); not a flat field. */
  responseObject?: unknown;
  /**
   * The impersonator's own groups (the event's `user.groups`) when the request was impersonated; []
   * otherwise. The impersonation checks (`impersonate` on users, groups, userextras, uids,
   * serviceaccounts) are authorized with these groups, as `WithImpersonation` authorizes the requestor
   * (k8s.io/apiserver pkg/endpoints/filters/impersonation.go). `groups` holds the impersonated user's.
   */
  impersonatorGroups: string[];
  /** The impersonated user's UID (`impersonatedUser.uid`, from Impersonate-Uid); '' when none. */
  impersonatedUID: string;
  /**
   * The impersonated user's extra attributes (`impersonatedUser.extra`, from Impersonate-Extra-KEY
   * headers): key → values; {} when none. Each value was checked as `impersonate userextras/KEY`.
   */
  impersonatedExtra: Record<string, string[]>;
  /**
   * Long-running requests (watch, exec, attach, port-forward, logs -f): ms from requestReceivedTimestamp
   * to the ResponseStarted stage's stageTimestamp, i.e. until the response started streaming, when that
   * stage was logged; null otherwise. When the kept stage is ResponseStarted, it equals durationMs.
   * (Audit stages: k8s.io/apiserver/pkg/apis/audit, Stage; ResponseStarted is sent for long-running
   * requests only.)
   */
  responseStartedMs: number | null;
}

/** Where a value came from, for `file:line: reason` messages. */
export interface Loc {
  file: string;
  /** 1-based line for line formats; item index for documents. */
  line: number;
  /** `line` or `item`: what `line` counts. */
  unit: 'line' | 'item';
  /** When a file was read in byte ranges (--jobs): where this range began; lines count from there. */
  offset?: number;
  /** 1-based index of a value inside the line (a wrapper's items, concatenated values). */
  item?: number;
}

/** Per-input accounting, reported in every summary. */
export interface FileStats {
  path: string;
  format: string;
  gzip: boolean;
  bytes: number;
  lines: number;
  events: number;
  rejected: number;
  /** Lines skipped unparsed by the pre-filter. */
  prefiltered: number;
  /** Providers of the events read (k8s, aks, eks, gke), sorted. */
  providers: string[];
  /** SHA-256 of the input's bytes, when the command asked for it (compliance). */
  sha256?: string;
  /** Values that are not audit events by design (CloudWatch control messages): counted, never rejected. */
  ignored: number;
  /** False when reading stopped before the input's end, or the input itself ended early (truncated). */
  complete: boolean;
  /** Why `complete` is false ('' when it is true). */
  incomplete: string;
  /** Set when this input was skipped because its content repeats an earlier input's: that input's path. */
  duplicateOf?: string;
}

/**
 * The run-wide accounting. Invariants:
 *   lines = events + rejected + prefiltered + ignored
 *   events = requests + duplicates
 *   requests = used + skipped
 */
export interface InputAccounting {
  files: FileStats[];
  lines: number;
  /** Lines the pre-filter skipped unparsed: they cannot match the filters (0 with --no-prefilter). */
  prefiltered: number;
  events: number;
  requests: number;
  duplicates: number;
  rejected: number;
  used: number;
  skipped: number;
  /** Values that are not audit events by design (CloudWatch control messages), with the reason. */
  ignored: number;
  /**
   * Requests whose auditID an earlier, different request had already used (see
   * AuditRecord.auditIDReused). Stages are one request only when auditID,
   * requestReceivedTimestamp, verb, requestURI and user agree.
   */
  auditIDReuse: number;
  /** True when every input was read to its end and none ended early (see FileStats.complete). */
  complete: boolean;
  /**
   * Used requests whose completing stage (ResponseComplete, Panic) is not in the log: kept with
   * their latest stage (RequestReceived, ResponseStarted). Their latency is unknown, so they are
   * counted here and left out of every latency statistic (summary, commands).
   */
  notCompleted: number;
  /**
   * The stage-collapse window: at most `limit` requests wait for their completing stage at once
   * (bodies are not kept while waiting unless the command reads them); `evicted` were let go before
   * it could arrive because the window was full (each is in notCompleted; a completing stage that
   * came later was absorbed as a duplicate).
   */
  window: { limit: number; evicted: number };
}

/** A pure reducer over normalized records: the shape of every analysis. */
export interface Reducer<S, R, O = unknown> {
  init(options: O): S;
  add(state: S, record: AuditRecord): void;
  merge(a: S, b: S): S;
  finish(state: S, ctx: FinishContext): R;
}

export interface FinishContext {
  input: InputAccounting;
}

/** A generic presentation of a report, which the table, Markdown and HTML renderers format. */
export interface View {
  title: string;
  sections: ViewSection[];
}

export type Cell = string | number | null;

export interface ViewSection {
  title: string;
  /** Key/value pairs, a table with a header row, a bar chart, or a block of code (YAML…). */
  kind: 'kv' | 'table' | 'bars' | 'code';
  columns?: string[];
  rows: Cell[][];
  /** For `code` sections. */
  text?: string;
  lang?: string;
  /** Optional one-line note under the section. */
  note?: string;
  /**
   * Rows the report has beyond `rows` that the view leaves out (a list of any length is cut to
   * VIEW_ROWS, src/render/stream.ts): the exact count. Terminal tables and Markdown add it to the
   * rows past their own cap in their one "N more rows not shown" line (src/render/cap.ts).
   */
  omitted?: number;
  /**
   * Terminal tables: the columns that may be left out when the terminal is too narrow, the least
   * useful first (`-o wide` never leaves any out).
   */
  dropOrder?: string[];
}

/** Rendering context: never a clock. */
export interface RenderContext {
  color: boolean;
  /** kaudit's version, for formats that name their tool (SARIF). */
  toolVersion?: string;
  /** Terminal tables: the width to fit, in columns (COLUMNS, or the terminal's); undefined: no limit. */
  width?: number;
  /** Terminal tables: `-o wide`, every column in full whatever the width. */
  wide?: boolean;
}

export type Renderer<R> = (report: R, ctx: RenderContext) => string;

// ---------- RBAC (src/rbac) ----------

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RoleObject {
  kind: 'Role' | 'ClusterRole';
  name: string;
  /** '' for ClusterRoles. */
  namespace: string;
  labels: Record<string, string>;
  rules: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors: LabelSelector[] };
  /** File it was read from ('' when generated). */
  source?: string;
  /** Where in that file (document, List item, line). */
  origin?: ObjectOrigin;
}

/** Where an RBAC object was read: the document of a (multi-document) file, the item of a List in it, the line it starts on. */
export interface ObjectOrigin {
  /** 1-based document of a multi-document YAML stream (1 for JSON). */
  document: number;
  /** 1-based item of a List (or of a top-level JSON array); absent for a single object. */
  item?: number;
  /** 1-based line the object starts on; 0 when unknown. */
  line: number;
}

export interface RbacSubject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface BindingObject {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  name: string;
  /** '' for ClusterRoleBindings. */
  namespace: string;
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string; apiGroup?: string };
  subjects: RbacSubject[];
  /** File it was read from ('' when generated). */
  source?: string;
  /** Where in that file (document, List item, line). */
  origin?: ObjectOrigin;
}

/** Everything read from an RBAC export, plus what was ignored and why. */
export interface RbacSnapshot {
  roles: RoleObject[];
  bindings: BindingObject[];
  /** kind → number of objects of other kinds that were ignored. */
  ignored: Record<string, number>;
  warnings: string[];
  /** Source files, in order read. */
  files: string[];
}

/** The identity the authorizer judges: a username and its groups (implicit ones are added). */
export interface UserInfo {
  user: string;
  groups: readonly string[];
}

/** Authorization attributes of one request, as the API server's RequestInfo gives them. */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Path for non-resource requests ('' for resource requests). */
  nonResourceURL: string;
}

/** What allowed a request: a binding, its role, and the rule. */
export interface Grant {
  binding: { kind: string; name: string; namespace: string };
  role: { kind: string; name: string; namespace: string };
  rule: PolicyRule;
  ruleIndex: number;
}

export interface AuthzDecision {
  allowed: boolean;
  by: Grant[];
}
