// docs/scale.md's patterns, run for real: the Indexed Job's arguments as N concurrent processes
// (one per $(JOB_COMPLETION_INDEX)) then the merge Job's, GNU parallel and xargs; each merged output
// is compared with one pass. The manifests are also applied with kubectl to the stub API server.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
// @ts-expect-error: plain ESM tool without type declarations
import { startStub, runKubectl } from '../../tools/stub-apiserver.mjs';
import { tmpDir } from '../helpers.js';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'audit.js');
const doc = readFileSync(join(root, 'docs', 'scale.md'), 'utf8');
const block = (id: string): string => {
  const m = new RegExp(`<!-- scale: ${id} -->\\n\`\`\`(?:yaml|sh)\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`no block ${id} in docs/scale.md`);
  return m[1]!;
};

function run(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let work = '';
let logs = '';
let rbacDir = '';

beforeAll(() => {
  work = tmpDir();
  logs = join(work, 'logs');
  mkdirSync(logs);
  // A few inputs: the sample's two days and the drift fixture, one of them gzipped.
  copyFileSync(join(root, 'fixtures', 'sample', 'audit.log'), join(logs, 'a.log'));
  copyFileSync(join(root, 'fixtures', 'sample', 'audit-2026-03-02T23-59-59.999.log.gz'), join(logs, 'b.log.gz'));
  copyFileSync(join(root, 'fixtures', 'drift', 'audit.log'), join(logs, 'c.log'));
  rbacDir = join(work, 'rbac');
  mkdirSync(rbacDir);
  copyFileSync(join(root, 'fixtures', 'drift', 'rbac.yaml'), join(rbacDir, 'rbac.yaml'));
});

describe('the Kubernetes Indexed Job and merge Job', () => {
  const shards = yaml.load(block('indexed-job')) as any;
  const merge = yaml.load(block('merge-job')) as any;

  it('is an Indexed Job whose pods each save their share', () => {
    expect(shards).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed', template: { spec: { restartPolicy: 'Never' } } } });
    const n = shards.spec.completions;
    const args: string[] = shards.spec.template.spec.containers[0].args;
    expect(args).toContain(`$(JOB_COMPLETION_INDEX)/${n}`);
    expect(args[args.indexOf('--shard') + 1]).toBe(`$(JOB_COMPLETION_INDEX)/${n}`);
    expect(args[args.indexOf('--save-state') + 1]).toMatch(/^\/state\/.*\$\(JOB_COMPLETION_INDEX\).*\.json\.gz$/);
    expect(merge.spec.template.spec.containers[0].args.slice(0, 3)).toEqual(['merge', '--command', args[0]]);
  });

  it('run as N processes, then the merge, print what one pass prints', async () => {
    const n: number = shards.spec.completions;
    const state = join(work, 'k8s-state');
    mkdirSync(state);
    const map = (a: string, i?: number): string =>
      a
        .replace(/\$\(JOB_COMPLETION_INDEX\)/g, String(i))
        .replace(/^\/logs/, logs)
        .replace(/^\/rbac/, rbacDir)
        .replace(/^\/state/, state);
    const shardArgs: string[] = shards.spec.template.spec.containers[0].args;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => run(shardArgs.map((a) => map(a, i)))));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const merged = await run(merge.spec.template.spec.containers[0].args.map((a: string) => map(a)));
    expect(merged.code, merged.stderr).toBe(0);
    // The merge Job's -o json over the shards' options: one pass with the same options.
    const one = await run(['drift', '--rbac', join(rbacDir, 'rbac.yaml'), logs, '-o', 'json']);
    expect(one.code).toBe(0);
    expect(merged.stdout).toBe(one.stdout);
    expect(JSON.parse(merged.stdout).input.files.length).toBe(3);
  });

  const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasKubectl)('kubectl accepts both manifests', async () => {
    const stub = await startStub();
    try {
      for (const id of ['indexed-job', 'merge-job']) {
        const file = join(work, `${id}.yaml`);
        writeFileSync(file, block(id));
        const res = await runKubectl(stub, ['apply', '--validate=false', '-f', file]);
        expect(res.stderr).toBe('');
        expect(res.stdout.trim()).toMatch(/^job\.batch\/kaudit-drift-(shards|merge) created$/);
      }
    } finally {
      await stub.close();
    }
  });
});

describe('on one host', () => {
  /** Runs a docs block under sh in a directory with logs/ and rbac.yaml, with `audit` on the PATH. */
  function sh(id: string): { code: number; out: string; stderr: string } {
    const dir = join(work, id);
    mkdirSync(join(dir, 'bin'), { recursive: true });
    const wrapper = join(dir, 'bin', 'audit');
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    spawnSync('cp', ['-r', logs, join(dir, 'logs')]);
    copyFileSync(join(rbacDir, 'rbac.yaml'), join(dir, 'rbac.yaml'));
    const r = spawnSync('sh', ['-e', '-c', block(id)], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, NO_COLOR: '1', HOME: dir } });
    return { code: r.status ?? -1, out: r.status === 0 ? readFileSync(join(dir, 'drift.txt'), 'utf8') : '', stderr: r.stderr };
  }

  let expected = '';
  beforeAll(async () => {
    const dir = join(work, 'one');
    mkdirSync(dir);
    spawnSync('cp', ['-r', logs, join(dir, 'logs')]);
    copyFileSync(join(rbacDir, 'rbac.yaml'), join(dir, 'rbac.yaml'));
    expected = (await run(['drift', '--rbac', 'rbac.yaml', 'logs/'], dir)).stdout;
    expect(expected).toContain('Subjects');
  });

  it('xargs -P', () => {
    const r = sh('xargs');
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe(expected);
  });

  const hasParallel = spawnSync('parallel', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasParallel)('GNU parallel', () => {
    const r = sh('gnu-parallel');
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe(expected);
  });
});
