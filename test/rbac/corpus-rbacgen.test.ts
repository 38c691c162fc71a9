// rbac-gen and drift on the real audit logs of ../shared/corpus (when present): the generated policy
// passes its self-check and the real kubectl reads it offline, with and without denied requests.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers.js';
import { expectKubectlAccepts, hasKubectl } from './kubectl.js';
import * as yaml from 'js-yaml';
import { validateRbacObject } from '../../src/rbac/validate.js';

const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'corpus');
const LOGS = ['audit2rbac/demo.log', 'audit2rbac/501d132-original/demo.log', 'sysdig-aks-audit-log/event.json', 'rbac-tool-auditgen/testdata-01.json', 'rbac-tool-auditgen/testdata-02.json', 'falco-k8s-audit-traces', 'khi-gke'];
const present = existsSync(CORPUS);
const kubectlOn = hasKubectl || process.env.KAUDIT_REQUIRE_KUBECTL === '1';

describe.skipIf(!present)('rbac-gen on the shared corpus', () => {
  it.each(LOGS.flatMap((f) => [[f, []], [f, ['--include-system', '--include-denied', '--include-discovery']], [f, ['--include-system', '--resource-names', '--scope', 'cluster']]] as [string, string[]][]))('%s %j', async (f, flags) => {
    const r = await runCli(['rbac-gen', join(CORPUS, f), ...flags]);
    expect(r.stderr).not.toMatch(/internal error|kaudit bug/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage 100%/);
    const docs = yaml.loadAll(r.stdout).filter(Boolean) as Record<string, unknown>[];
    for (const d of docs) expect(validateRbacObject(d)).toEqual([]);
    if (kubectlOn) await expectKubectlAccepts(r.stdout, `corpus ${f}`);
  });
});

describe('rbac-gen on the hostile fixture (test/hostile.ts)', () => {
  it.each([[[]], [['--include-denied', '--include-system', '--resource-names', '--explain']]] as [string[]][])('%j: kubectl reads every object, and subjects stay exact', async (flags) => {
    const { hostileEvents } = await import('../hostile.js');
    const { tmpDir, writeFiles, jsonl } = await import('../helpers.js');
    const dir = writeFiles(tmpDir(), { 'a.log': jsonl(hostileEvents()) });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), ...flags]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage 100%/);
    const docs = yaml.loadAll(r.stdout).filter(Boolean) as Record<string, unknown>[];
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(validateRbacObject(d)).toEqual([]);
    if (kubectlOn) await expectKubectlAccepts(r.stdout, 'hostile');
  });
});
