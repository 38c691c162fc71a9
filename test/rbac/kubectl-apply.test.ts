// The generated RBAC is applied with the real kubectl (installed on these machines) against the
// local stub API server: kubectl must accept every object, and what it sends must be what we wrote.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
// @ts-expect-error: plain ESM tool without type declarations
import { startStub, runKubectl } from '../../tools/stub-apiserver.mjs';
import { runCli, tmpDir } from '../helpers.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasKubectl)('kubectl apply accepts rbac-gen output', () => {
  it('every object of every subject in the sample is created as written', async () => {
    const r = await runCli(['rbac-gen', 'fixtures/sample', '--verbs', 'grouped', '--resource-names']);
    const file = join(tmpDir(), 'rbac.yaml');
    writeFileSync(file, r.stdout);
    const docs = (yaml.loadAll(r.stdout) as Record<string, any>[]).filter(Boolean);
    const stub = await startStub();
    try {
      const res = await runKubectl(stub, ['apply', '--validate=false', '-f', file]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const created = res.stdout.trim().split('\n');
      expect(created).toHaveLength(docs.length);
      for (const line of created) expect(line).toMatch(/^(cluster)?role(binding)?\.rbac\.authorization\.k8s\.io\/kaudit-[a-z0-9.-]+ created$/);
      for (const d of docs) {
        const group = 'rbac.authorization.k8s.io';
        const resource = `${d.kind.toLowerCase()}s`;
        const stored = stub.store.get(`${group}/${resource}/${d.metadata.namespace ?? ''}/${d.metadata.name}`);
        expect(stored, `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`).toBeDefined();
        expect(stored.rules).toEqual(d.rules);
        expect(stored.roleRef).toEqual(d.roleRef);
        expect(stored.subjects).toEqual(d.subjects);
      }
      expect(stub.requests.filter((q: { method: string }) => q.method === 'POST').every((q: { query: string }) => q.query.includes('fieldManager=kubectl-client-side-apply'))).toBe(true);
    } finally {
      await stub.close();
    }
  });
});
