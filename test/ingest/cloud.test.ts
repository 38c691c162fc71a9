// Managed-cluster exports: the same logical requests (fixtures/cloud/native.jsonl) wrapped as each
// provider exports them (tools/make-cloud-fixtures.mjs) must normalize to the same records, apart
// from what the provider adds or cannot carry.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { collect, expectBalanced, runCli } from '../helpers.js';
import type { AuditRecord } from '../../src/types.js';

const DIR = 'fixtures/cloud';

/** Fields a provider form cannot carry or sets itself, and why. */
const PROVIDER_EXTRAS: Record<string, (keyof AuditRecord)[]> = {
  eks: ['provider'],
  aks: ['provider'],
  // Cloud Logging keeps no groups, stages, levels, query strings or durations, maps HTTP codes to
  // google.rpc codes (every success is 0), and names the cluster.
  gke: ['provider', 'groups', 'stage', 'level', 'requestURI', 'durationMs', 'code', 'cluster', 'principal'],
};

async function records(file: string): Promise<AuditRecord[]> {
  const { records, acc, rejects } = await collect([join(DIR, file)]);
  expect(rejects).toEqual([]);
  expectBalanced(acc);
  return records;
}

function strip(r: AuditRecord, fields: (keyof AuditRecord)[]): Record<string, unknown> {
  const o: Record<string, unknown> = { ...r };
  for (const f of fields) delete o[f];
  return o;
}

describe('managed-cluster exports normalize like native events', async () => {
  const native = await records('native.jsonl');

  it.each<[string, string, string]>([
    ['eks-filter-log-events.json', 'eks', 'cloudwatch-events'],
    ['eks-subscription.json.gz', 'eks', 'cloudwatch-subscription'],
    ['eks-insights.csv', 'eks', 'csv'],
    ['eks-insights.json', 'eks', 'json-array'],
    ['eks-tail.txt', 'eks', 'cloudwatch-text'],
    ['eks-tail.jsonl', 'eks', 'jsonl'],
    ['gke-read.json', 'gke', 'json-array'],
    ['gke.jsonl', 'gke', 'jsonl'],
    ['aks-records.json', 'aks', 'azure-records'],
    ['aks-loganalytics.json', 'aks', 'json-array'],
    ['aks-loganalytics.csv', 'aks', 'csv'],
    ['aks-loganalytics-api.json', 'aks', 'log-analytics'],
  ])('%s (%s, detected as %s)', async (file, provider, format) => {
    const { acc } = await collect([join(DIR, file)]);
    expect(acc.files[0]).toMatchObject({ format, providers: [provider] });
    const got = await records(file);
    expect(got.map((r) => r.provider)).toEqual(native.map(() => provider));
    // Where each record was read differs by file, by design.
    const ignore: (keyof AuditRecord)[] = [...PROVIDER_EXTRAS[provider]!, 'location'];
    expect(got.map((r) => strip(r, ignore))).toEqual(native.map((r) => strip(r, ignore)));
  });

  it('GKE keeps what it can of the outcome: success, denial (403) and not found (404)', async () => {
    const gke = await records('gke-read.json');
    expect(gke.map((r) => r.code)).toEqual([200, 200, 403, 200, 200, 200, 404]);
    expect(gke.map((r) => r.decision)).toEqual(native.map((r) => r.decision));
    expect(new Set(gke.map((r) => r.cluster))).toEqual(new Set(['sample-cluster']));
  });

  it('provider identity: the EKS IAM session, the Google principal', async () => {
    const eks = await records('eks-filter-log-events.json');
    expect(eks[0]!.principal).toBe('arn:aws:sts::111122223333:assumed-role/Developer/alice');
    const gke = await records('gke.jsonl');
    expect(gke.map((r) => r.principal)).toEqual(['', '', 'bob@example.com', '', 'carol@example.com', 'dave@example.com', '']);
  });

  it('--format overrides detection', async () => {
    const forced = await runCli(['summary', '--format', 'jsonl', '-o', 'json', '-q', join(DIR, 'eks-tail.txt')]);
    expect(JSON.parse(forced.stdout).input).toMatchObject({ rejected: 7, events: 0 });
    const auto = await runCli(['summary', '-o', 'json', '-q', join(DIR, 'eks-tail.txt')]);
    expect(JSON.parse(auto.stdout).input).toMatchObject({ rejected: 0, events: 7 });
  });

  it('summary names the detected format and provider of each file', async () => {
    const r = await runCli(['summary', DIR, '-q']);
    expect(r.stdout).toMatch(/aks-loganalytics\.csv\s+│ csv\s+│ aks/);
    expect(r.stdout).toMatch(/gke-read\.json\s+│ json-array\s+│ gke/);
  });

  it('rejects what is not audit data, with a reason', async () => {
    const { normalizeValue } = await import('../../src/normalize/index.js');
    expect(normalizeValue({ protoPayload: { serviceName: 'container.googleapis.com', methodName: 'google.container.v1.ClusterManager.UpdateCluster' } }, '')).toMatch(/serviceName "container.googleapis.com"/);
    expect(normalizeValue({ '@timestamp': 'x', '@message': 'I0302 10:00:00 controller.go:1] not json' }, '')).toMatch(/field @message: not JSON/);
  });

  it('a long serviceName or AKS category is named in the reason, not copied (attacker-controlled, up to a line long)', async () => {
    const { normalizeValue } = await import('../../src/normalize/index.js');
    const long = 'x'.repeat(50_000);
    expect(normalizeValue({ protoPayload: { serviceName: long } }, '')).toBe(`not a Kubernetes audit entry (serviceName "${'x'.repeat(119)}… (50002 characters))`);
    expect(normalizeValue({ category: long, properties: { log: '{}' } }, '')).toBe(`not an audit record (AKS category "${'x'.repeat(119)}… (50002 characters))`);
  });

  it('every command works on provider data unchanged', async () => {
    for (const cmd of [['rbac-gen', '--include-system'], ['investigate', '--preset', 'denied', '-o', 'json'], ['commands', '-o', 'json'], ['export', '-o', 'jsonl']]) {
      const r = await runCli([cmd[0]!, ...cmd.slice(1), join(DIR, 'gke.jsonl'), join(DIR, 'aks-loganalytics.csv'), join(DIR, 'eks-subscription.json.gz'), '-q']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(10);
    }
  });
});
