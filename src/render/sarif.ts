// SARIF 2.1.0 for code scanning: one result per finding, rule ids from the rule tables.
import { createHash } from 'node:crypto';
import type { Severity } from '../rules/sensitive.js';

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

export interface SarifResult {
  ruleId: string;
  severity: Severity;
  message: string;
  /** File the finding points at (an RBAC export), relative as given. */
  uri: string;
  /** Logical location, e.g. `RoleBinding ci/deployer → ClusterRole edit`. */
  logical: string;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note' };
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0' };

export function renderSarif(tool: { name: string; version: string; uri: string }, rules: SarifRule[], results: SarifResult[]): string {
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            informationUri: tool.uri,
            rules: rules.map((r) => ({
              id: r.id,
              name: r.name ?? r.id,
              shortDescription: { text: r.description },
              ...(r.fullDescription ? { fullDescription: { text: r.fullDescription } } : {}),
              ...(r.help ? { help: { text: r.help } } : {}),
              ...(r.helpUri ? { helpUri: r.helpUri } : {}),
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { 'security-severity': SECURITY_SEVERITY[r.severity], tags: ['security', 'kubernetes', 'rbac', ...(r.tags ?? [])], ...(r.properties ?? {}) },
            })),
          },
        },
        results: results.map((r) => ({
          ruleId: r.ruleId,
          ruleIndex: rules.findIndex((x) => x.id === r.ruleId),
          level: LEVEL[r.severity],
          message: { text: r.message },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: r.uri || 'rbac' }, region: { startLine: 1 } },
              logicalLocations: [{ name: r.logical, kind: 'object' }],
            },
          ],
          partialFingerprints: { kauditFinding: createHash('sha256').update(`${r.ruleId}\u0000${r.logical}\u0000${r.message}`).digest('hex').slice(0, 32) },
        })),
      },
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
