// SARIF 2.1.0 (OASIS) for code scanning: one result per finding, rule ids from the rule tables.
// Every result points at real evidence: the input file and line of the event it is about, or the
// file, document and line of the RBAC object (SARIF §3.28 location, §3.29 physicalLocation, §3.30
// region, §3.33 logicalLocation). A finding with nothing to cite carries a logical location only,
// never a made-up file or line 1.
import { createHash } from 'node:crypto';
import { isAbsolute, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Severity } from '../rules/sensitive.js';
import type { InputAccounting, Loc } from '../types.js';
import { visible } from './sanitize.js';
import { mapRows, type Rows } from './stream.js';

export interface SarifRule {
  id: string;
  description: string;
  severity: Severity;
  /** A readable name (defaults to the id). */
  name?: string;
  fullDescription?: string;
  /** How to fix it (SARIF `help.text`). */
  help?: string;
  helpUri?: string;
  /** Extra tags after security, kubernetes and rbac (e.g. external/mitre-attack/T1609). */
  tags?: string[];
  /** Extra rule properties (e.g. a Sigma rule's id, author and license). */
  properties?: Record<string, unknown>;
}

/** Where a result points: a file (an audit log or an RBAC export) and, when known, where in it. */
export interface SarifLocation {
  /** Path as given on the command line; '' or '-' (standard input) when there is no file to name. */
  file: string;
  /** 1-based line; absent when the location is not a line (an item of a JSON or YAML document). */
  line?: number;
  /** 1-based item of a JSON or YAML document input (unit 'item' locations). */
  item?: number;
  /** 1-based document of a multi-document YAML RBAC export. */
  document?: number;
  /** Logical location, e.g. `RoleBinding ci/deployer → ClusterRole edit`. */
  logical?: string;
  /** SARIF logical location kind: `object`, `member`… */
  kind?: string;
}

export interface SarifResult {
  ruleId: string;
  severity: Severity;
  message: string;
  /** The evidence, most relevant first. */
  locations: SarifLocation[];
  /** What identifies the finding across runs (not its line, which moves): defaults to the message. */
  identity?: string;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note' };
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0' };

/**
 * SARIF 2.1.0 `invocation` (§3.20) of a run over audit logs: executionSuccessful is false when not
 * every input was read to its end (InputAccounting.complete), with one error notification per
 * such input, so that a code-scanning gate never reads a partial run as a clean one.
 */
export function sarifInvocation(input: InputAccounting): Record<string, unknown> {
  const bad = input.files.filter((f) => !f.complete);
  return {
    executionSuccessful: input.complete,
    ...(bad.length ? { toolExecutionNotifications: bad.map((f) => ({ level: 'error', message: { text: visible(`${f.path} was not read to its end: ${f.incomplete}`) } })) } : {}),
  };
}

/**
 * A path as a SARIF `uri` (RFC 3986): absolute paths as `file:` URLs, relative ones as relative
 * references (resolved against the checkout by code scanning), each segment percent-encoded.
 */
export function fileUri(path: string): string {
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return path
    .split(sep === '\\' ? /[\\/]/ : '/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

function sarifLocation(l: SarifLocation): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (l.file && l.file !== '-') {
    const physical: Record<string, unknown> = { artifactLocation: { uri: fileUri(l.file) } };
    if (l.line && l.line > 0) physical.region = { startLine: l.line };
    const props: Record<string, number> = {};
    if (l.document) props.document = l.document;
    if (l.item) props.item = l.item;
    if (Object.keys(props).length) physical.properties = props;
    out.physicalLocation = physical;
  }
  if (l.logical) out.logicalLocations = [{ name: visible(l.logical), kind: l.kind ?? 'object' }];
  const where = l.file === '-' ? [`standard input${l.line ? ` line ${l.line}` : ''}${l.item ? ` item ${l.item}` : ''}`] : [];
  if (where.length) out.message = { text: where[0] };
  return out;
}

/**
 * A SARIF 2.1.0 log as a document. `tool.uri` becomes `informationUri` (§3.19.17) and is left out
 * when kaudit does not know where it lives (package.json names no homepage or repository): a link
 * that points anywhere else would mislead. `results` may be a LazyList (millions of findings): the
 * document is then written with writeJson (src/render/stream.ts), which reads them one at a time.
 * `input`: the run's accounting, for the invocation (see sarifInvocation).
 */
export function sarifDocument(tool: { name: string; version: string; uri?: string }, rules: SarifRule[], results: Rows<SarifResult>, input?: InputAccounting): Record<string, unknown> {
  const index = new Map<string, number>();
  rules.forEach((r, i) => {
    if (!index.has(r.id)) index.set(r.id, i);
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            ...(tool.uri ? { informationUri: tool.uri } : {}),
            // Viewers show rule texts too; a user or Sigma rule's title and description are made visible like messages.
            rules: rules.map((r) => ({
              id: r.id,
              name: visible(r.name ?? r.id),
              shortDescription: { text: visible(r.description) },
              ...(r.fullDescription ? { fullDescription: { text: visible(r.fullDescription) } } : {}),
              ...(r.help ? { help: { text: visible(r.help) } } : {}),
              ...(r.helpUri ? { helpUri: r.helpUri } : {}),
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { 'security-severity': SECURITY_SEVERITY[r.severity], tags: [...new Set(['security', 'kubernetes', 'rbac', ...(r.tags ?? [])])], ...(r.properties ?? {}) },
            })),
          },
        },
        ...(input ? { invocations: [sarifInvocation(input)] } : {}),
        results: mapRows(results, (r) => ({
          ruleId: r.ruleId,
          ruleIndex: index.get(r.ruleId) ?? -1,
          level: LEVEL[r.severity],
          // Viewers show the message as text: audit data in it is made visible (bidi, controls).
          message: { text: visible(r.message) },
          locations: r.locations.map(sarifLocation).filter((l) => Object.keys(l).length > 0),
          partialFingerprints: {
            kauditFinding: createHash('sha256')
              .update(`${r.ruleId}\u0000${r.locations[0]?.logical ?? ''}\u0000${r.identity ?? r.message}`)
              .digest('hex')
              .slice(0, 32),
          },
        })),
      },
    ],
  };
}

/** SARIF as one string (small documents; see sarifDocument and writeJson for large ones). */
export function renderSarif(tool: { name: string; version: string; uri?: string }, rules: SarifRule[], results: Rows<SarifResult>, input?: InputAccounting): string {
  return JSON.stringify(sarifDocument(tool, rules, results, input), null, 2) + '\n';
}

/** An event's location (AuditRecord.location, with absolute lines) as a SARIF location. */
export function eventLocation(at: Loc | null | undefined, logical?: string): SarifLocation {
  const l: SarifLocation = { file: at?.file ?? '' };
  if (at && at.line > 0) {
    if (at.unit === 'line') l.line = at.line;
    else l.item = at.line;
  }
  if (logical) l.logical = logical;
  return l;
}
