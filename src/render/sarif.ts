// SARIF 2.1.0 for code scanning: one result per finding, rule ids from the rule tables.
import { createHash } from 'node:crypto';
import type { Severity } from '../rules/sensitive.js';
import type { InputAccounting } from '../types.js';

export interface SarifRule {
  id: string;
  description: string;
  severity: Severity;
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

/**
 * SARIF 2.1.0 `invocation` (§3.20) of a run over audit logs: executionSuccessful is false when not
 * every input was read to its end (InputAccounting.complete), with one error notification per
 * such input, so that a code-scanning gate never reads a partial run as a clean one.
 */
export function sarifInvocation(input: InputAccounting): Record<string, unknown> {
  const bad = input.files.filter((f) => !f.complete);
  return {
    executionSuccessful: input.complete,
    ...(bad.length ? { toolExecutionNotifications: bad.map((f) => ({ level: 'error', message: { text: `${f.path} was not read to its end: ${f.incomplete}` } })) } : {}),
  };
}

/** `input`: the run's accounting, for the invocation (see sarifInvocation). */
export function renderSarif(tool: { name: string; version: string; uri: string }, rules: SarifRule[], results: SarifResult[], input?: InputAccounting): string {
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
              name: r.id,
              shortDescription: { text: r.description },
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { 'security-severity': SECURITY_SEVERITY[r.severity], tags: ['security', 'kubernetes', 'rbac'] },
            })),
          },
        },
        ...(input ? { invocations: [sarifInvocation(input)] } : {}),
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
