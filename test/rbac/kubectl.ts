// Validates generated YAML with the real kubectl, offline: `kubectl create --dry-run=client -o json
// -f FILE` against a kubeconfig that points nowhere (127.0.0.1:1) and a discovery cache filled in
// advance with the RBAC API, so kubectl maps the kinds without asking a server. kubectl must accept
// the file (its YAML parser is the one `kubectl apply` uses) and print back exactly the objects the
// file holds. The OpenAPI schema cannot be cached, hence --validate=false; src/rbac/validate.ts
// checks the structure.
import { spawnSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';

export const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

const RBAC_RESOURCES = [
  ['clusterrolebindings', 'clusterrolebinding', false, 'ClusterRoleBinding'],
  ['clusterroles', 'clusterrole', false, 'ClusterRole'],
  ['rolebindings', 'rolebinding', true, 'RoleBinding'],
  ['roles', 'role', true, 'Role'],
] as const;

let home: string | null = null;

function offlineHome(): string {
  if (home) return home;
  const dir = mkdtempSync(join(tmpdir(), 'kaudit-kubectl-'));
  writeFileSync(
    join(dir, 'kubeconfig'),
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: nobody, user: {token: none}}]',
      'contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]',
      'current-context: nowhere',
      '',
    ].join('\n'),
  );
  const disc = join(dir, 'cache', 'discovery', '127.0.0.1_1');
  mkdirSync(join(disc, 'rbac.authorization.k8s.io', 'v1'), { recursive: true });
  mkdirSync(join(disc, 'v1'), { recursive: true });
  const gv = (g: string, v: string) => ({ groupVersion: g ? `${g}/${v}` : v, version: v });
  writeFileSync(
    join(disc, 'servergroups.json'),
    JSON.stringify({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        { name: '', versions: [gv('', 'v1')], preferredVersion: gv('', 'v1') },
        { name: 'rbac.authorization.k8s.io', versions: [gv('rbac.authorization.k8s.io', 'v1')], preferredVersion: gv('rbac.authorization.k8s.io', 'v1') },
      ],
    }),
  );
  const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  writeFileSync(
    join(disc, 'rbac.authorization.k8s.io', 'v1', 'serverresources.json'),
    JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'rbac.authorization.k8s.io/v1', resources: RBAC_RESOURCES.map(([name, singularName, namespaced, kind]) => ({ name, singularName, namespaced, kind, verbs })) }),
  );
  writeFileSync(join(disc, 'v1', 'serverresources.json'), JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs }] }));
  home = dir;
  return dir;
}

export interface KubectlResult {
  code: number;
  stderr: string;
  /** The objects kubectl would create, as it printed them. */
  objects: Record<string, unknown>[];
}

/** Runs `kubectl create --dry-run=client -o json -f FILE` offline (no server anywhere). */
export function kubectlCreateDryRun(file: string): Promise<KubectlResult> {
  const dir = offlineHome();
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), 'create', '--dry-run=client', '--validate=false', '-o', 'json', '-f', file], { env: { ...process.env, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      // kubectl prints one pretty JSON object per document; strings never hold a raw newline.
      const objects = text ? (JSON.parse(`[${text.replace(/\n}\n{/g, '\n},\n{')}]`) as Record<string, unknown>[]) : [];
      resolve({ code: code ?? -1, stderr: Buffer.concat(err).toString('utf8'), objects });
    });
  });
}

let counter = 0;

/**
 * Writes `text` (rbac-gen YAML or a JSON List) to a file and checks that kubectl accepts it and
 * reads back exactly the objects it holds. Throws with kubectl's message otherwise. Returns the
 * objects. A text without objects (nothing generated) is accepted without running kubectl.
 */
export async function expectKubectlAccepts(text: string, label = 'rbac'): Promise<Record<string, unknown>[]> {
  const trimmed = text.trimStart();
  const docs: Record<string, unknown>[] = trimmed.startsWith('{')
    ? ((JSON.parse(text) as { items: Record<string, unknown>[] }).items ?? [])
    : (yaml.loadAll(text).filter((d) => d !== null && d !== undefined) as Record<string, unknown>[]);
  if (docs.length === 0) return [];
  const file = join(offlineHome(), `${label.replace(/[^a-z0-9-]+/gi, '-')}-${++counter}.${trimmed.startsWith('{') ? 'json' : 'yaml'}`);
  writeFileSync(file, text);
  const r = await kubectlCreateDryRun(file);
  if (r.code !== 0) throw new Error(`kubectl rejected ${label}: ${r.stderr.trim()}`);
  if (r.stderr.trim() !== '') throw new Error(`kubectl warned on ${label}: ${r.stderr.trim()}`);
  if (JSON.stringify(r.objects) !== JSON.stringify(docs.map(sortKeysDeep)) && JSON.stringify(r.objects.map(sortKeysDeep)) !== JSON.stringify(docs.map(sortKeysDeep))) {
    throw new Error(`kubectl read ${label} differently:\nwrote ${JSON.stringify(docs)}\nread  ${JSON.stringify(r.objects)}`);
  }
  return r.objects;
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sortKeysDeep(x)]));
  return v;
}
