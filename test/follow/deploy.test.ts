// The example deployment files (deploy/): every flag they pass exists, every --to parses, no secret
// is on a command line, mounts name real volumes, and the systemd unit passes systemd-analyze.
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Command } from 'commander';
import * as yaml from 'js-yaml';
import { register } from '../../src/cli/follow.js';
import { makeSink } from '../../src/follow/sinks/index.js';
import { ROOT, tmp } from './helpers.js';

const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).status === 0;

/** Long option names `audit follow` accepts. */
function followFlags(): Set<string> {
  const program = new Command('audit');
  register(program, { stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env: {}, now: () => 0 }, () => undefined);
  const cmd = program.commands.find((c) => c.name() === 'follow')!;
  return new Set(cmd.options.flatMap((o) => [o.long, o.negate ? o.long : undefined]).filter((x): x is string => !!x));
}

/** Checks a follow command line: known flags, sinks that parse (with their secrets in the environment), no secrets inline. */
function checkArgs(args: string[]): void {
  expect(args[0]).toBe('follow');
  const flags = followFlags();
  for (const a of args) if (a.startsWith('--')) expect(flags, `unknown flag ${a}`).toContain(a.split('=')[0]);
  const env = { KAUDIT_ES_API_KEY: 'k', KAUDIT_HEC_TOKEN: 't' };
  args.forEach((a, i) => {
    if (a === '--to') expect(() => makeSink(args[i + 1]!, { env, tls: { insecure: false }, stdout: new PassThrough(), hostname: 'h', timeoutMs: 1000 })).not.toThrow();
  });
  expect(args.join(' ')).not.toMatch(/token=|ApiKey|password|Bearer/i);
  expect(args).not.toContain('--insecure');
}

function kauditContainer(doc: any): any {
  const spec = doc.kind === 'Pod' ? doc.spec : doc.spec.template.spec;
  const c = spec.containers.find((x: any) => x.name === 'kaudit');
  const names = new Set(spec.volumes.map((v: any) => v.name));
  for (const x of spec.containers) for (const m of x.volumeMounts ?? []) expect(names, `${x.name} mounts ${m.name}`).toContain(m.name);
  return c;
}

describe('deploy/: example deployment files', () => {
  it('the DaemonSet runs audit follow with real flags, the secret from a Secret, the audit log read-only and the checkpoint on the node', () => {
    const docs = yaml.loadAll(readFileSync(join(ROOT, 'deploy/kubernetes/kaudit-follow-daemonset.yaml'), 'utf8')) as any[];
    expect(docs.map((d) => `${d.apiVersion}/${d.kind}`)).toEqual(['v1/Namespace', 'apps/v1/DaemonSet']);
    const ds = docs[1];
    const c = kauditContainer(ds);
    checkArgs(c.args);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'kaudit-sink' } }]);
    expect(c.volumeMounts.find((m: any) => m.mountPath === '/var/log/kubernetes/audit').readOnly).toBe(true);
    expect(ds.spec.template.spec.volumes.find((v: any) => v.name === 'state').hostPath).toEqual({ path: '/var/lib/kaudit', type: 'DirectoryOrCreate' });
    expect(ds.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(20);
  });

  it('the kube-apiserver sidecar shares the audit volume and takes its secret from a file on the node, not the pod spec', () => {
    const pod = yaml.load(readFileSync(join(ROOT, 'deploy/kubernetes/kube-apiserver-sidecar.yaml'), 'utf8')) as any;
    const c = kauditContainer(pod);
    expect(c.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(c.command[2]).toContain('. /etc/kaudit/kaudit.env');
    checkArgs(c.args);
    const apiserver = pod.spec.containers.find((x: any) => x.name === 'kube-apiserver');
    const logPath = apiserver.command.find((f: string) => f.startsWith('--audit-log-path=')).split('=')[1];
    expect(c.args[1]).toBe(logPath);
    expect(c.env).toBeUndefined();
  });

  it('the systemd unit passes its flags to audit follow, escapes % for systemd, and passes systemd-analyze verify', () => {
    const text = readFileSync(join(ROOT, 'deploy/systemd/kaudit-follow.service'), 'utf8');
    const exec = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(text)![1]!.replace(/\\\n\s*/g, ' ');
    const argv = exec.split(/\s+/).filter(Boolean);
    expect(argv[0]).toBe('/usr/local/bin/audit');
    expect(exec).toContain('%%Y.%%m.%%d');
    checkArgs(argv.slice(1).map((a) => a.replace(/%%/g, '%')));
    expect(text).toMatch(/^EnvironmentFile=\/etc\/kaudit\/kaudit\.env$/m);
    expect(text).toMatch(/^KillSignal=SIGTERM$/m);
    if (hasSystemdAnalyze) {
      // verify wants the executable to exist: check the unit with /bin/true in its place.
      const copy = join(tmp(), 'kaudit-follow.service');
      writeFileSync(copy, text.replace('/usr/local/bin/audit', '/bin/true'));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});
