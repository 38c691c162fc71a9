// Writes generated RBAC objects as YAML that `kubectl apply -f` reads. Every scalar is written as a
// double-quoted (JSON-style) string, so nothing from audit data can change the document's structure;
// --explain adds a comment with the evidence above each rule.
import type { K8sObject, ExplainedRule } from '../rbac/generate.js';
import type { PolicyRule } from '../types.js';
import { visible, yamlStr } from './sanitize.js';

export { yamlStr };

function list(xs: readonly string[]): string {
  return `[${xs.map(yamlStr).join(', ')}]`;
}

function map(indent: string, m: Record<string, string>): string {
  let out = '';
  for (const k of Object.keys(m)) out += `${indent}${k}: ${yamlStr(m[k]!)}\n`;
  return out;
}

export function explainComment(e: ExplainedRule): string {
  const when = e.first === e.last || !e.last ? e.first : `${e.first} … ${e.last}`;
  const ex = e.examples.length ? `; e.g. auditID ${e.examples.join(', ')}` : '';
  return visible(`${e.requests} request${e.requests === 1 ? '' : 's'}, ${when}${ex}`);
}

function rule(r: PolicyRule, e: ExplainedRule | undefined): string {
  let out = e ? `# ${explainComment(e)}\n` : '';
  const lines: string[] = [];
  if (r.apiGroups) lines.push(`apiGroups: ${list(r.apiGroups)}`);
  if (r.resources) lines.push(`resources: ${list(r.resources)}`);
  if (r.resourceNames) lines.push(`resourceNames: ${list(r.resourceNames)}`);
  if (r.nonResourceURLs) lines.push(`nonResourceURLs: ${list(r.nonResourceURLs)}`);
  lines.push(`verbs: ${list(r.verbs)}`);
  out += lines.map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`)).join('\n') + '\n';
  return out;
}

export function objectYaml(o: K8sObject, explain: boolean): string {
  let y = `apiVersion: ${yamlStr(o.apiVersion)}\nkind: ${o.kind}\nmetadata:\n  name: ${yamlStr(o.metadata.name)}\n`;
  if (o.metadata.namespace !== undefined) y += `  namespace: ${yamlStr(o.metadata.namespace)}\n`;
  y += `  labels:\n${map('    ', o.metadata.labels)}  annotations:\n${map('    ', o.metadata.annotations)}`;
  if (o.rules) {
    y += 'rules:\n';
    o.rules.forEach((r, i) => (y += rule(r, explain ? o.explain?.[i] : undefined)));
  }
  if (o.roleRef) y += `roleRef:\n  apiGroup: ${yamlStr(o.roleRef.apiGroup)}\n  kind: ${o.roleRef.kind}\n  name: ${yamlStr(o.roleRef.name)}\n`;
  if (o.subjects) {
    y += 'subjects:\n';
    for (const s of o.subjects) {
      y += `- kind: ${s.kind}\n`;
      if (s.apiGroup !== undefined) y += `  apiGroup: ${yamlStr(s.apiGroup)}\n`;
      y += `  name: ${yamlStr(s.name)}\n`;
      if (s.namespace !== undefined) y += `  namespace: ${yamlStr(s.namespace)}\n`;
    }
  }
  return y;
}

/** Several objects as one multi-document stream. */
export function objectsYaml(objects: K8sObject[], explain: boolean, header = ''): string {
  return header + objects.map((o) => `---\n${objectYaml(o, explain)}`).join('');
}
