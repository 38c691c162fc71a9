// Reads every audit-data file in ../shared/corpus (real logs published by other projects) when
// it is present. Counts per file are pinned; nothing real may be rejected.
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { collect, expectBalanced, runCli } from './helpers.js';

const CORPUS = join(__dirname, '..', '..', 'shared', 'corpus');
const present = existsSync(CORPUS);

/** path → [format, lines, requests, stage duplicates, rejected]. Falco traces not listed are one event each. */
const EXPECTED: Record<string, [string, number, number, number, number]> = {
  'audit2rbac/demo.log': ['jsonl', 37, 37, 0, 0],
  'audit2rbac/501d132-original/demo.log': ['jsonl', 757, 437, 320, 0],
  'falco-k8s-audit-traces/create_configmap_sensitive_values.json': ['jsonl', 6, 6, 0, 0],
  'falco-k8s-audit-traces/fal_01_003.json': ['jsonl', 1, 0, 0, 1], // {"kind": 0}: not an audit event
  'khi-gke/container_recorder_test_1_1.yaml': ['yaml', 1, 1, 0, 0],
  'khi-gke/container_recorder_test_1_2.yaml': ['yaml', 1, 1, 0, 0],
  'khi-gke/container_recorder_test_1_3.yaml': ['yaml', 1, 1, 0, 0],
  'khi-gke/test-log.yaml': ['yaml', 1, 1, 0, 0],
  'kube-audit-log-tool/single-event.json': ['json', 1, 1, 0, 0],
  'rbac-tool-auditgen/testdata-01.json': ['jsonl', 3, 3, 0, 0],
  'rbac-tool-auditgen/testdata-02.json': ['jsonl', 3, 3, 0, 0],
  'sysdig-aks-audit-log/event.json': ['azure-records', 22, 22, 0, 0],
  'sysdig-aks-audit-log/sample_EventHubs_event.json': ['json', 1, 1, 0, 0],
  'sysdig-aks-audit-log/sample_KubeAuditLog_event.json': ['json', 1, 1, 0, 0],
};

function auditFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        if (n !== 'k8s-bootstrap-rbac') walk(p); // RBAC policy, not audit data
      } else if (/\.(json|log|yaml)$/.test(n)) out.push(relative(CORPUS, p));
    }
  };
  walk(CORPUS);
  return out;
}

describe.skipIf(!present)('the shared corpus', () => {
  const files = present ? auditFiles() : [];

  it('has the files this test knows about', () => {
    for (const f of Object.keys(EXPECTED)) expect(files).toContain(f);
    expect(files.length).toBeGreaterThanOrEqual(59);
  });

  it.each(files)('%s', async (f) => {
    const { acc, records, rejects } = await collect([join(CORPUS, f)]);
    const [format, lines, requests, dups, rejected] = EXPECTED[f] ?? ['jsonl', 1, 1, 0, 0];
    expect(acc.files[0]!.format).toBe(format);
    expect({ lines: acc.lines, requests: acc.requests, duplicates: acc.duplicates, rejected: acc.rejected }).toEqual({ lines, requests, duplicates: dups, rejected });
    if (rejected === 0) expect(rejects).toEqual([]);
    expectBalanced(acc);
    for (const r of records) {
      expect(r.verb).not.toBe('');
      expect(r.subject).not.toBe('');
      expect(r.resource !== '' || r.nonResourceURL !== '').toBe(true);
    }
  });

  // Real files over 8 KB, split into 4 KB ranges where they are JSON lines: --jobs must not change a byte.
  const larger = files.filter((f) => statSync(join(CORPUS, f)).size > 8192);
  it.each(larger)('%s: --jobs 3 gives the bytes of --jobs 1', async (f) => {
    const before = process.env.KAUDIT_MIN_RANGE_BYTES;
    const beforeTask = process.env.KAUDIT_TASK_BYTES;
    process.env.KAUDIT_MIN_RANGE_BYTES = '4096';
    process.env.KAUDIT_TASK_BYTES = '8192';
    try {
      for (const cmd of [
        ['summary', '-o', 'json'],
        ['rbac-gen', '-o', 'report'],
      ]) {
        const one = await runCli([...cmd, join(CORPUS, f), '--jobs', '1']);
        const many = await runCli([...cmd, join(CORPUS, f), '--jobs', '3']);
        expect(many).toEqual(one);
      }
    } finally {
      if (before === undefined) delete process.env.KAUDIT_MIN_RANGE_BYTES;
      else process.env.KAUDIT_MIN_RANGE_BYTES = before;
      if (beforeTask === undefined) delete process.env.KAUDIT_TASK_BYTES;
      else process.env.KAUDIT_TASK_BYTES = beforeTask;
    }
  });

  it('maps the GKE entry fields (khi-gke)', async () => {
    const { records } = await collect([join(CORPUS, 'khi-gke/container_recorder_test_1_2.yaml')]);
    expect(records[0]).toMatchObject({
      provider: 'gke',
      cluster: 'sample-cluster',
      verb: 'patch',
      resource: 'pods',
      subresource: 'status',
      namespace: '1-2-deployment-update',
      name: 'nginx-deployment-surge-8655b4b8c5-xf5f4',
      subjectKind: 'Node',
      sourceIP: '10.146.0.7',
      client: 'kubelet',
      code: 200,
      decision: 'allow',
    });
  });

  it('keeps AKS system identities as System (sysdig AKS)', async () => {
    const { records } = await collect([join(CORPUS, 'sysdig-aks-audit-log/event.json')]);
    const kinds = new Map(records.map((r) => [r.subject, r.subjectKind]));
    expect(kinds.get('aksService')).toBe('System');
    expect(kinds.get('nodeclient')).toBe('System');
    expect(records.every((r) => r.provider === 'aks')).toBe(true);
  });
});
