import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { PRESETS } from '../../src/rules/presets.js';

const K = 'fixtures/kubectl/commands.jsonl';
const MINI = 'fixtures/mini/mini.jsonl';

async function ids(args: string[]): Promise<string[]> {
  const r = await runCli(['investigate', ...args, '-o', 'jsonl', '-q']);
  expect(r.code).toBe(0);
  return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l).auditID);
}

const id = (n: number): string => `11111111-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('investigate filters', () => {
  it.each<[string, string[], string[]]>([
    ['--source-ip exact', ['--source-ip', '192.0.2.66'], [id(8)]],
    ['--source-ip CIDR', ['--source-ip', '192.0.2.0/24'], [id(8), id(9)]],
    ['--source-ip IPv6', ['--source-ip', '::1/128'], [id(1), id(2)]],
    ['--user-agent substring, case-insensitive', ['--user-agent', 'CHROME'], [id(7)]],
    ['--client', ['--client', 'resourcequota-controller'], [id(5)]],
    ['--client glob', ['--client', 'kube*'], [id(1), id(3), id(4), id(6)]], // in time order: the exec (id 3) completed last
    ['--access-method', ['--access-method', 'browser'], [id(7)]],
    ['--audit-id', ['--audit-id', id(6)], [id(6)]],
    ['--impersonated', ['--impersonated'], [id(2)]],
    ['--subresource', ['--subresource', 'exec'], [id(3)]],
    ['--api-group', ['--api-group', 'rbac.authorization.k8s.io'], [id(1)]],
    ['--api-group core', ['--api-group', 'core', '--verb', 'create'], [id(3), id(6)]],
    ['--code', ['--code', '403'], [id(2), id(9)]],
    ['--code class', ['--code', '1xx'], [id(3)]],
  ])('%s', async (_n, flags, want) => {
    expect(await ids([MINI, ...flags])).toEqual(want);
  });

  it.each(Object.keys(PRESETS))('--preset %s selects only what it says', async (name) => {
    const r = await runCli(['investigate', 'fixtures/sample', K, MINI, 'fixtures/shapes/unauthenticated.jsonl', '--preset', name, '-o', 'json', '-q']);
    const recs = JSON.parse(r.stdout) as any[];
    expect(recs.length).toBeGreaterThan(0);
    const ok: Record<string, (x: any) => boolean> = {
      deletions: (x) => x.verb === 'delete' || x.verb === 'deletecollection',
      'secret-access': (x) => x.resource === 'secrets',
      'rbac-changes': (x) => x.apiGroup === 'rbac.authorization.k8s.io' && x.verb !== 'get' && x.verb !== 'list',
      exec: (x) => x.resource === 'pods' && ['exec', 'attach', 'portforward'].includes(x.subresource),
      denied: (x) => x.decision === 'forbid',
      anonymous: (x) => x.subject === 'system:anonymous',
      impersonation: (x) => x.impersonator !== '',
      unauthenticated: (x) => x.subjectKind === 'Unauthenticated' && x.subject === '',
    };
    expect(recs.every(ok[name]!)).toBe(true);
  });

  it('presets and flags combine (AND)', async () => {
    expect(await ids([MINI, '--preset', 'denied', '--impersonated'])).toEqual([id(2)]);
  });

  it.each([
    [['--source-ip', '10.0.0.300'], /--source-ip: "10.0.0.300" is not an address or CIDR block/],
    [['--source-ip', '10.0.0.0/40'], /prefix \/40 is too long/],
    [['--access-method', 'telepathy'], /--access-method: "telepathy" is not an access method/],
    [['--preset', 'everything'], /--preset: unknown preset "everything"/],
    [['--sort', 'color'], /--sort: unknown field "color"/],
    [['--group-by', 'user,shoe'], /--group-by: unknown field "shoe"/],
    [['--timeline', 'week'], /--timeline <bucket>.*Allowed choices are hour, day/s],
    [['--group-by', 'user', '--timeline', 'day'], /--group-by and --timeline cannot be combined/],
  ])('usage error %j', async (flags, msg) => {
    const r = await runCli(['investigate', MINI, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

describe('investigate shaping and formats', () => {
  it('answers "who deleted namespace production, when, from where?" in one command', async () => {
    const r = await runCli(['investigate', K, '--verb', 'delete', '--resource', 'namespaces', '--name', 'production', '--limit', '1']);
    expect(r.stdout).toMatch(/alice@example\.com/);
    expect(r.stdout).toMatch(/2026-03-02T10:02:41/);
    expect(r.stdout).toMatch(/namespaces/);
    expect(r.stdout).toMatch(/from 203\.0\.113\.10/);
    expect(r.stdout).toMatch(/via kubectl v1\.27\.16/);
    expect(r.stdout).toMatch(/│ 200 /);
    expect(r.stdout).toMatch(/Showing 1 of 14 matching requests/);
  });

  it('--sort descending with --limit keeps the top N', async () => {
    const r = await runCli(['investigate', 'fixtures/sample', '--sort=-durationMs', '--limit', '3', '--fields', 'durationMs,auditID', '-o', 'csv', '-q']);
    const rows = r.stdout.trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
    expect(rows).toHaveLength(3);
    expect([...rows].sort((a, b) => b - a)).toEqual(rows);
    const all = await runCli(['investigate', 'fixtures/sample', '--fields', 'durationMs', '-o', 'csv', '-q']);
    const max = Math.max(...all.stdout.trim().split('\n').slice(1).map(Number));
    expect(rows[0]).toBe(max);
  });

  it('--group-by gives counts with first and last seen', async () => {
    const r = await runCli(['investigate', 'fixtures/sample', '--preset', 'denied', '--group-by', 'user,namespace', '-o', 'json', '-q']);
    const rep = JSON.parse(r.stdout);
    expect(rep.groups[0]).toMatchObject({ key: { subject: 'system:anonymous', namespace: '' }, denied: rep.groups[0].count });
    expect(rep.groups.reduce((n: number, g: any) => n + g.count, 0)).toBe(rep.input.used);
    expect(rep.groups[0].first < rep.groups[0].last).toBe(true);
  });

  it('--timeline day counts per UTC day, gaps included', async () => {
    const r = await runCli(['investigate', 'fixtures/sample', '--timeline', 'DAY', '-o', 'json', '-q']);
    const rep = JSON.parse(r.stdout);
    expect(rep.buckets.map((b: any) => b.start)).toEqual(['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z']);
    expect(rep.buckets.reduce((n: number, b: any) => n + b.count, 0)).toBe(rep.input.used);
  });

  it('the terminal timeline is a bar chart', async () => {
    const r = await runCli(['investigate', 'fixtures/sample', '--timeline', 'day']);
    expect(r.stdout).toMatch(/2026-03-02 +█+ \d+/);
  });

  it('JSON, JSON lines, CSV and YAML export exactly the filtered set, as normalized records', async () => {
    const flags = ['fixtures/sample', '--user', 'bob@example.com', '--verb', 'get', '-q'];
    const json = JSON.parse((await runCli(['investigate', ...flags, '-o', 'json'])).stdout);
    const lines = (await runCli(['investigate', ...flags, '-o', 'jsonl'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const csv = (await runCli(['investigate', ...flags, '-o', 'csv'])).stdout.trim().split('\n');
    const y = yaml.load((await runCli(['investigate', ...flags, '-o', 'yaml'])).stdout) as unknown[];
    const exported = JSON.parse((await runCli(['export', ...flags, '-o', 'json'])).stdout);
    expect(json).toEqual(exported);
    expect(lines).toEqual(exported);
    expect(y).toEqual(exported);
    expect(csv).toHaveLength(exported.length + 1);
    expect(json.length).toBeGreaterThan(10);
  });

  it('CSV cells are neutralised and terminal cells inert', async () => {
    const dir = writeFiles(tmpDir(), { 'x.log': jsonl([event({ user: { username: '=cmd|"/c calc"!A1' }, userAgent: '\u001b[2Jboom' })]) });
    const csv = await runCli(['investigate', join(dir, 'x.log'), '-o', 'csv', '--fields', 'user,ua', '-q']);
    expect(csv.stdout.split('\n')[1]).toBe(`"'=cmd|""/c calc""!A1",\\x1b[2Jboom`);
    const table = await runCli(['investigate', join(dir, 'x.log'), '--fields', 'user,ua']);
    expect(table.stdout).not.toContain('\u001b');
    expect(table.stdout).toContain('\\x1b[2Jboom');
    const md = await runCli(['investigate', join(dir, 'x.log'), '-o', 'markdown', '--fields', 'user']);
    expect(md.stdout).toContain('=cmd\\|"/c calc"!A1');
  });

  it('golden table and markdown for a small query', async () => {
    const t = await runCli(['investigate', MINI]);
    await expect(t.stdout).toMatchFileSnapshot('../golden/investigate.mini.txt');
    const m = await runCli(['investigate', MINI, '--group-by', 'accessMethod,decision', '-o', 'markdown']);
    await expect(m.stdout).toMatchFileSnapshot('../golden/investigate.mini.groups.md');
  });
});
