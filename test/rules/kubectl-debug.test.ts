// The privileged ephemeral container of `kubectl debug --profile=sysadmin`, recorded from the real
// kubectl against the local stub API server: kubectl sends a strategic-merge PATCH of
// pods/NAME/ephemeralcontainers whose container sets securityContext.privileged (sysadminProfile.Apply
// → setPrivileged in staging/src/k8s.io/kubectl/pkg/cmd/debug/profiles.go). A pod-spec check that
// reads only full pod specs misses it; K8S-EPHEMERAL-PRIVILEGED must not.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
// @ts-expect-error: plain ESM tool without type declarations
import { startStub, runKubectl } from '../../tools/stub-apiserver.mjs';
// @ts-expect-error: plain ESM tool without type declarations
import { requestInfo } from '../../tools/requests-to-events.mjs';
import { runCli, tmpDir } from '../helpers.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

interface Recorded {
  method: string;
  path: string;
  query: string;
  userAgent: string;
  body?: string;
}

/** Runs `kubectl debug` with a profile against a stub holding one pod; returns the PATCH it sent. */
async function debugRequest(profile: string): Promise<Recorded> {
  const stub = await startStub();
  try {
    const dir = tmpDir();
    writeFileSync(join(dir, 'pod.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } }));
    expect((await runKubectl(stub, ['create', '-f', join(dir, 'pod.json'), '--validate=false'])).code).toBe(0);
    stub.requests.length = 0;
    const r = await runKubectl(stub, ['debug', 'web-0', '-n', 'shop', '--image=busybox', `--profile=${profile}`, '--attach=false', '--target=web']);
    expect(r.code, r.stderr).toBe(0);
    const patch = (stub.requests as Recorded[]).find((q) => q.method === 'PATCH');
    expect(patch?.path).toBe('/api/v1/namespaces/shop/pods/web-0/ephemeralcontainers');
    return patch!;
  } finally {
    await stub.close();
  }
}

/** The audit event the API server writes for the request, at the given level. */
function auditEvent(q: Recorded, level: 'Metadata' | 'Request'): Record<string, unknown> {
  const { verb, objectRef } = requestInfo(q.method, q.path, q.query);
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level,
    auditID: `debug-${level}`,
    stage: 'ResponseComplete',
    requestURI: q.path,
    verb,
    user: { username: 'mallory@example.com', groups: ['system:authenticated'] },
    sourceIPs: ['203.0.113.66'],
    userAgent: q.userAgent,
    objectRef,
    responseStatus: { metadata: {}, code: 200 },
    ...(level === 'Request' ? { requestObject: JSON.parse(q.body!) } : {}),
    requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z',
    stageTimestamp: '2026-03-02T10:00:00.010000Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  };
}

async function rulesFor(q: Recorded, level: 'Metadata' | 'Request'): Promise<{ rules: string[]; notEvaluated: { rule: string; reason: string }[] }> {
  const file = join(tmpDir(), 'audit.log');
  writeFileSync(file, JSON.stringify(auditEvent(q, level)) + '\n');
  const r = await runCli(['anomalies', file, '-o', 'json', '-q']);
  expect(r.code).toBe(0);
  const rep = JSON.parse(r.stdout);
  return { rules: rep.findings.map((f: { rule: string }) => f.rule).sort(), notEvaluated: rep.rules.notEvaluated };
}

describe.skipIf(!hasKubectl)('kubectl debug, recorded from the real kubectl', () => {
  it('--profile=sysadmin: a privileged ephemeral container, found in the patch of pods/ephemeralcontainers', async () => {
    const q = await debugRequest('sysadmin');
    expect(q.body).toMatch(/"privileged":true/);
    const { rules } = await rulesFor(q, 'Request');
    expect(rules).toEqual(['K8S-EPHEMERAL-CONTAINER', 'K8S-EPHEMERAL-PRIVILEGED']);
  });

  it('--profile=netadmin adds NET_ADMIN: privileged enough to report', async () => {
    const q = await debugRequest('netadmin');
    expect(q.body).toMatch(/NET_ADMIN/);
    expect((await rulesFor(q, 'Request')).rules).toContain('K8S-EPHEMERAL-PRIVILEGED');
  });

  it('--profile=general: an ephemeral container, not a privileged one', async () => {
    const q = await debugRequest('general');
    expect(q.body).not.toMatch(/privileged/);
    expect((await rulesFor(q, 'Request')).rules).toEqual(['K8S-EPHEMERAL-CONTAINER']);
  });

  it('at the Metadata level the body was not logged: the privileged check says so instead of passing', async () => {
    const q = await debugRequest('sysadmin');
    const r = await rulesFor(q, 'Metadata');
    expect(r.rules).toEqual(['K8S-EPHEMERAL-CONTAINER']);
    expect(r.notEvaluated).toEqual([{ rule: 'K8S-EPHEMERAL-PRIVILEGED', reason: 'body not logged', requests: 1 }]);
  });
});
