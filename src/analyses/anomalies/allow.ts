// `--allow FILE`: known-good findings, suppressed and counted. A YAML list of entries; every field an
// entry names must match (globs allowed); `reason` documents why.
//
//   - subject: system:serviceaccount:monitoring:*
//     rule: new-client
//   - subject: alice@example.com
//     rule: K8S-EXEC
//     namespace: staging
//     reason: on-call debugging
import { readFile } from 'node:fs/promises';
import type { Finding } from './index.js';
import { globMatcher } from '../../filter/index.js';
import { UsageError } from '../../util/errors.js';
import type { Severity } from '../../rules/sensitive.js';

const FIELDS = ['subject', 'rule', 'namespace', 'resource', 'verb', 'severity'] as const;

export type AllowEntry = Partial<Record<(typeof FIELDS)[number], string>> & { reason?: string };

export type AllowMatcher = (f: Finding) => boolean;

export function compileAllow(entries: AllowEntry[]): AllowMatcher {
  const compiled = entries.map((e) => FIELDS.filter((k) => e[k] !== undefined).map((k) => [k, globMatcher([String(e[k])])] as const));
  return (f) => compiled.some((checks) => checks.length > 0 && checks.every(([k, m]) => m(String(f[k as keyof Finding] ?? ''))));
}

export async function loadAllow(path: string): Promise<AllowEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--allow: cannot read ${path} (${(e as Error).message})`, 'pass a YAML file with a list of {subject, rule, namespace, resource, verb} entries');
  }
  const yaml = await import('js-yaml');
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    throw new UsageError(`--allow: ${path} is not YAML (${(e as Error).message.split('\n')[0]})`, 'fix the YAML syntax');
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new UsageError(`--allow: ${path} must hold a list of entries`, 'start each entry with "- subject: …"');
  return doc.map((e, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new UsageError(`--allow: entry ${i + 1} of ${path} is not a mapping`, 'write entries as "- subject: NAME"');
    const unknown = Object.keys(e).filter((k) => !(FIELDS as readonly string[]).includes(k) && k !== 'reason');
    if (unknown.length) throw new UsageError(`--allow: entry ${i + 1} of ${path} has unknown field ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, `use ${FIELDS.join(', ')} and reason`);
    return e as AllowEntry;
  });
}

export const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];
