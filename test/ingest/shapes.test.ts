// Every real log read right (issue 13): event shapes, cloud deliveries, request identity and input
// framing. The shared cases (../shared/cases) are ported here from fixtures/shapes, with the right
// values, and each class has cases of its own.
import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { copyFileSync, linkSync, readFileSync } from 'node:fs';
import { tmpDir, writeFiles, collect, event, jsonl, expectBalanced, runCli } from '../helpers.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';

const S = 'fixtures/shapes';
const json = (r: { stdout: string }): any => JSON.parse(r.stdout);
const lines = (r: { stdout: string }): any[] => r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const norm = (v: unknown): AuditRecord => {
  const r = normalizeValue(v, '');
  if (typeof r !== 'object' || !('verb' in r)) throw new Error(String(r));
  return r;
};
/** The balanced accounting, with `ignored` in the first invariant. */
function balanced(a: InputAccounting): void {
  expect(a.lines).toBe(a.events + a.rejected + a.prefiltered + a.ignored);
  expect(a.events).toBe(a.requests + a.duplicates);
  expect(a.requests).toBe(a.used + a.skipped);
}

describe('failed authentication (401, "user":{}): requests with an unauthenticated subject', () => {
  // shared case failed-authn-401. Upstream: filters/authn_audit.go WithFailedAuthenticationAudit
  // audits the request before any user is known, so the event's user is {} (stage ResponseStarted).
  const log = `${S}/failed-authn-401.log`;

  it('every line is an event; 401s counted in summary; --strict passes', async () => {
    const r = await runCli(['summary', log, '-o', 'json', '-q']);
    const rep = json(r);
    expect(rep.input).toMatchObject({ lines: 13, events: 13, requests: 13, rejected: 0, complete: true });
    expect(rep.status).toEqual([
      { key: '2xx', count: 1 },
      { key: '4xx', count: 12 },
    ]);
    expect(rep.unauthenticated).toBe(12);
    expect(rep.top.subjectKinds).toContainEqual({ key: 'Unauthenticated', count: 12 });
    expect((await runCli(['summary', log, '--strict', '-q'])).code).toBe(0);
  });

  it('records have subject "" and kind Unauthenticated, never system:anonymous', async () => {
    const recs = lines(await runCli(['export', log, '-o', 'jsonl', '-q']));
    const failed = recs.filter((x) => x.code === 401);
    expect(failed).toHaveLength(12);
    for (const x of failed) expect(x).toMatchObject({ subject: '', subjectKind: 'Unauthenticated', stage: 'ResponseStarted', decision: '', sourceIP: '198.51.100.200' });
  });

  it('filterable: --status 401, --subject-kind Unauthenticated, --preset unauthenticated', async () => {
    for (const flags of [['--status', '401'], ['--subject-kind', 'Unauthenticated'], ['--subject-kind', 'unauthenticated'], ['--preset', 'unauthenticated']]) {
      const recs = json(await runCli(['investigate', log, ...flags, '-o', 'json', '-q']));
      expect(recs, flags.join(' ')).toHaveLength(12);
    }
    const bad = await runCli(['investigate', log, '--subject-kind', 'Robot']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--subject-kind: "Robot" is not a subject kind/);
  });

  it('renderers show the subject as (unauthenticated)', async () => {
    const t = await runCli(['summary', log, '-q']);
    expect(t.stdout).toMatch(/│ \(unauthenticated\) +│ +12 │ 92\.3% │/);
    expect(t.stdout).toMatch(/│ unauthenticated \(401\) +│ 12 \(92\.3%\)/);
    const inv = await runCli(['investigate', log, '--status', '401', '--limit', '1', '-q']);
    expect(inv.stdout).toMatch(/\(unauthenticated\)/);
  });

  it('rbac-gen leaves them out as "unauthenticated (401)" and writes a policy only for the real user', async () => {
    const rep = json(await runCli(['rbac-gen', log, '-o', 'report', '-q']));
    expect(rep.leftOut['unauthenticated (401)']).toBe(12);
    expect(rep.policies.map((p: any) => p.subject.name)).toEqual(['kim@example.org']);
  });

  it('a request rejected before authentication with another code (400) is unauthenticated too; system:anonymous is not', async () => {
    const recs = lines(await runCli(['export', `${S}/unauthenticated.jsonl`, '-o', 'jsonl', '-q'])).sort((a, b) => (a.auditID < b.auditID ? -1 : 1));
    expect(recs.map((x) => [x.code, x.subject, x.subjectKind])).toEqual([
      [401, '', 'Unauthenticated'],
      [401, '', 'Unauthenticated'],
      [401, '', 'Unauthenticated'],
      [400, '', 'Unauthenticated'],
      [403, 'system:anonymous', 'Anonymous'],
    ]);
    const rep = json(await runCli(['rbac-gen', `${S}/unauthenticated.jsonl`, '-o', 'report', '-q']));
    expect(rep.leftOut).toMatchObject({ 'unauthenticated (401)': 3, 'unauthenticated (no user)': 1 });
    expect(rep.policies).toEqual([]);
  });
});

describe('cloud identities map to the subject, impersonator and principal a native event gives', () => {
  const gke = (auth: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    protoPayload: { '@type': 'type.googleapis.com/google.cloud.audit.AuditLog', serviceName: 'k8s.io', methodName: 'io.k8s.core.v1.secrets.get', resourceName: 'core/v1/namespaces/prod/secrets/db', authenticationInfo: auth, requestMetadata: { callerIp: '10.1.1.1' }, status: {} },
    operation: { id: 'op-1', first: true, last: true, producer: 'k8s.io' },
    timestamp: '2026-03-02T10:00:00.000000Z',
    labels: { 'authorization.k8s.io/decision': 'allow' },
    ...extra,
  });
  it.each<[string, unknown, Partial<AuditRecord>]>([
    ['GKE: a Google user acting as themselves', gke({ principalEmail: 'ana@example.com' }), { subject: 'ana@example.com', impersonator: '', principal: 'ana@example.com', subjectKind: 'User' }],
    ['GKE: impersonation: authoritySelector is who Kubernetes authorized, principalEmail the caller', gke({ principalEmail: 'ana@example.com', authoritySelector: 'system:serviceaccount:prod:deployer' }), { subject: 'system:serviceaccount:prod:deployer', subjectKind: 'ServiceAccount', subjectNamespace: 'prod', subjectName: 'deployer', impersonator: 'ana@example.com', principal: 'ana@example.com' }],
    ['GKE: authoritySelector equal to the caller is no impersonation', gke({ principalEmail: 'ana@example.com', authoritySelector: 'ana@example.com' }), { subject: 'ana@example.com', impersonator: '' }],
    ['GKE: a Kubernetes service account (no Google principal)', gke({ principalEmail: 'system:serviceaccount:kube-system:replicaset-controller' }), { subject: 'system:serviceaccount:kube-system:replicaset-controller', principal: '' }],
    ['GKE: workforce identity federation: principalSubject names the caller', gke({ principalSubject: 'principal://iam.googleapis.com/locations/global/workforcePools/corp/subject/ana' }), { subject: 'principal://iam.googleapis.com/locations/global/workforcePools/corp/subject/ana', principal: 'principal://iam.googleapis.com/locations/global/workforcePools/corp/subject/ana' }],
    ['GKE: a Google service account used through delegation: the first delegator is the principal', gke({ principalEmail: 'ci@proj.iam.gserviceaccount.com', serviceAccountDelegationInfo: [{ firstPartyPrincipal: { principalEmail: 'ana@example.com' } }] }), { subject: 'ci@proj.iam.gserviceaccount.com', impersonator: '', principal: 'ana@example.com' }],
    ['EKS: the session ARN in user.extra names who acted', event({ user: { username: 'admin', groups: ['system:masters'], extra: { accessKeyId: ['ASIAX'], arn: ['arn:aws:sts::111122223333:assumed-role/Admin/ana'], canonicalArn: ['arn:aws:iam::111122223333:role/Admin'], sessionName: ['ana'] } } }), { subject: 'admin', principal: 'arn:aws:sts::111122223333:assumed-role/Admin/ana' }],
    ['EKS: canonicalArn when there is no session ARN', event({ user: { username: 'admin', extra: { canonicalArn: ['arn:aws:iam::111122223333:role/Admin'] } } }), { principal: 'arn:aws:iam::111122223333:role/Admin' }],
    ['EKS: ARNs written on user itself (some exports flatten extra)', event({ user: { username: 'kubernetes-admin', groups: ['system:masters'], arn: ['arn:aws:iam::1234567890:user/awscli'], canonicalArn: ['arn:aws:iam::1234567890:user/awscli'], sessionName: [''] } }), { subject: 'kubernetes-admin', principal: 'arn:aws:iam::1234567890:user/awscli' }],
    ['EKS: impersonation keeps the caller\'s ARN as principal', event({ user: { username: 'admin', extra: { arn: ['arn:aws:sts::1:assumed-role/Admin/ana'] } }, impersonatedUser: { username: 'bob', groups: ['dev'] } }), { subject: 'bob', impersonator: 'admin', principal: 'arn:aws:sts::1:assumed-role/Admin/ana', groups: ['dev'] }],
    ['AKS: the Entra object id in user.extra.oid is the principal', { category: 'kube-audit', properties: { log: JSON.stringify(event({ user: { username: 'ana@contoso.com', groups: ['00000000-0000-0000-0000-00000000000a'], extra: { oid: ['6b3e1c1a-0000-4000-8000-000000000001'] } } })) } }, { subject: 'ana@contoso.com', principal: '6b3e1c1a-0000-4000-8000-000000000001', provider: 'aks' }],
    ['AKS: a service principal named by its object id', { category: 'kube-audit', properties: { log: JSON.stringify(event({ user: { username: '6b3e1c1a-0000-4000-8000-000000000002', extra: { oid: ['6b3e1c1a-0000-4000-8000-000000000002'] } } })) } }, { subject: '6b3e1c1a-0000-4000-8000-000000000002', subjectKind: 'User', principal: '6b3e1c1a-0000-4000-8000-000000000002' }],
  ])('%s', (_name, v, want) => {
    expect(norm(v)).toMatchObject(want);
  });

  it('an impersonated GKE request is credited to the impersonated identity by every filter', async () => {
    const dir = writeFiles(tmpDir(), { 'gke.jsonl': jsonl([gke({ principalEmail: 'ana@example.com', authoritySelector: 'bob@example.com' })]) });
    const recs = lines(await runCli(['export', join(dir, 'gke.jsonl'), '--user', 'bob@example.com', '-o', 'jsonl', '-q']));
    expect(recs.map((x) => [x.subject, x.impersonator])).toEqual([['bob@example.com', 'ana@example.com']]);
    expect(lines(await runCli(['investigate', join(dir, 'gke.jsonl'), '--impersonated', '-o', 'jsonl', '-q']))).toHaveLength(1);
  });
});

describe('impossible values are rejected with a reason', () => {
  it.each([
    ['a NUL run (a crash, or a preallocated tail without newline)', Buffer.concat([Buffer.from(jsonl([event({ auditID: 'a' })])), Buffer.alloc(4096)]), 1, [[2, /NUL bytes/]]],
    ['a NUL run in the middle, then more events', Buffer.concat([Buffer.from(jsonl([event({ auditID: 'a' })])), Buffer.alloc(300), Buffer.from('\n' + jsonl([event({ auditID: 'b' })]))]), 2, [[2, /NUL bytes/]]],
    ['a NUL run before an event on the same line: the event is kept, the run counted', Buffer.concat([Buffer.alloc(64), Buffer.from(jsonl([event({ auditID: 'a' })]))]), 1, [[1, /NUL bytes/]]],
    ['an impossible date', jsonl([event({ requestReceivedTimestamp: '2026-02-30T10:00:00Z' })]), 0, [[1, /not a timestamp/]]],
    ['a status that is no HTTP code', jsonl([event({ responseStatus: { code: 1200 } })]), 0, [[1, /1200 is not an HTTP status code/]]],
  ] as const)('%s', async (_name, content, events, want) => {
    const dir = writeFiles(tmpDir(), { 'x.log': content as string | Buffer });
    const { acc, rejects } = await collect([join(dir, 'x.log')], { read: { maxLineBytes: 1024 } });
    expect(acc.events).toBe(events);
    expect(rejects.map((r) => r.loc.line)).toEqual(want.map((w) => w[0]));
    want.forEach((w, i) => expect(rejects[i]!.reason).toMatch(w[1]));
    expectBalanced(acc);
    const strict = await runCli(['summary', '--strict', join(dir, 'x.log')]);
    expect(strict.code).toBe(2);
  });
});

describe('EKS through CloudWatch Logs and Firehose to S3', () => {
  // shared case firehose-s3-object: gzip members holding subscription payloads back to back.
  it('reads every payload, unwraps every log event, and ignores the control message (never a rejection)', async () => {
    const r = await runCli(['summary', `${S}/firehose-s3-object.gz`, '-o', 'json']);
    const a = json(r).input;
    expect(a).toMatchObject({ events: 3, requests: 3, rejected: 0, ignored: 1, complete: true });
    expect(a.files[0]).toMatchObject({ providers: ['eks'], gzip: true, ignored: 1, format: 'cloudwatch-subscription' });
    balanced(a);
    expect(r.stderr).toMatch(/note: 1 value ignored: not audit events by design \(CloudWatch Logs control messages\)/);
    expect((await runCli(['summary', '--strict', `${S}/firehose-s3-object.gz`, '-q'])).code).toBe(0);
    const recs = lines(await runCli(['export', `${S}/firehose-s3-object.gz`, '-o', 'jsonl', '-q']));
    expect(recs.map((x) => [x.auditID.slice(-1), x.subject, x.verb, x.resource, x.namespace, x.name, x.provider])).toEqual(
      ['1', '2', '3'].map((n) => [n, 'arn:aws:sts::000011112222:assumed-role/Dev/ana', 'get', 'secrets', 'app', 'db', 'eks']),
    );
  });

  const payload = (ids: string[], type = 'DATA_MESSAGE') => ({
    messageType: type,
    owner: '000011112222',
    logGroup: '/aws/eks/demo/cluster',
    logStream: 'kube-apiserver-audit-1',
    subscriptionFilters: ['f'],
    logEvents: ids.map((id, i) => ({ id: String(i), timestamp: 1776000000000 + i, message: type === 'CONTROL_MESSAGE' ? 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' : JSON.stringify(event({ auditID: id })) })),
  });
  const body = [payload(['a', 'b']), payload([''], 'CONTROL_MESSAGE'), payload(['c'])].map((p) => JSON.stringify(p));

  it.each([
    ['one gzip member, no newlines', gzipSync(body.join(''))],
    ['one gzip member per payload', Buffer.concat(body.map((b) => gzipSync(b)))],
    ['plain, no newlines', Buffer.from(body.join(''))],
    ['plain, a newline after each payload', Buffer.from(body.join('\n') + '\n')],
    ['pretty-printed payloads', Buffer.from(body.map((b) => JSON.stringify(JSON.parse(b), null, 2)).join('\n'))],
  ])('%s', async (_name, content) => {
    const dir = writeFiles(tmpDir(), { 'object': content });
    const { records, acc, rejects } = await collect([join(dir, 'object')]);
    expect(records.map((r) => [r.auditID, r.provider])).toEqual([
      ['a', 'eks'],
      ['b', 'eks'],
      ['c', 'eks'],
    ]);
    expect(rejects).toEqual([]);
    expect(acc.ignored).toBe(1);
    balanced(acc);
  });

  it('a delivery cut short keeps every payload before the cut and says the input ended early', async () => {
    const gz = Buffer.concat(body.map((b) => gzipSync(b)));
    const dir = writeFiles(tmpDir(), { 'cut.gz': gz.subarray(0, gz.length - 20) });
    const { records, acc, rejects } = await collect([join(dir, 'cut.gz')]);
    expect(records.map((r) => r.auditID)).toEqual(['a', 'b']);
    expect(rejects).toHaveLength(1);
    expect(acc.complete).toBe(false);
    expect(acc.files[0]!.incomplete).toBe('truncated gzip member');
    balanced(acc);
  });
});

describe('JSON lines stay JSON lines', () => {
  // shared case jsonl-first-line
  const first = `${S}/firstline-opens.jsonl`;
  it('a first line that ends in { is one rejected line; the 18 after it are read', async () => {
    const { acc, rejects } = await collect([first]);
    expect(acc).toMatchObject({ lines: 19, events: 18, rejected: 1 });
    expect(rejects[0]!.loc).toMatchObject({ line: 1 });
    expect(acc.files[0]!.format).toBe('jsonl');
  });

  it('and the same when it ends in [', async () => {
    const rest = readFileSync(first, 'utf8').split('\n').slice(1).join('\n');
    const dir = writeFiles(tmpDir(), { 'b.jsonl': '{"kind":"Event","sourceIPs":[\n' + rest });
    const { acc } = await collect([join(dir, 'b.jsonl')]);
    expect(acc).toMatchObject({ lines: 19, events: 18, rejected: 1 });
  });

  const items = Array.from({ length: 901 }, (_, i) => event({ auditID: `arr-${i}` }));
  const list = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items });
  it.each([
    ['under 1 MiB', list.slice(0, list.lastIndexOf('{"kind":"Event"') + 200)],
    ['over 1 MiB', JSON.stringify({ kind: 'EventList', items: [...items, ...items.map((e) => ({ ...e, auditID: `${e.auditID}-b` }))] }).slice(0, -300)],
  ])('a truncated one-line EventList (%s) keeps its complete items and counts the break once', async (_name, text) => {
    const dir = writeFiles(tmpDir(), { 'list.json': text });
    const { acc, rejects } = await collect([join(dir, 'list.json')]);
    expect(acc.events).toBe(text.length > 1 << 20 ? 1801 : 900);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.loc).toMatchObject({ line: 1, item: acc.events + 1 });
    expect(rejects[0]!.reason).toMatch(/malformed JSON after value \d+ of this line/);
    balanced(acc);
  });

  function bigFile(bigFirst: boolean): string {
    const ls = Array.from({ length: 2000 }, (_, i) => JSON.stringify(event({ auditID: `l-${i}` })));
    ls.splice(bigFirst ? 0 : 1, 0, JSON.stringify(event({ auditID: 'big', requestObject: { x: 'A'.repeat(1_100_000) } })));
    ls.push('{"kind":"Event","verb":');
    for (let i = 0; i < 10; i++) ls.push(JSON.stringify(event({ auditID: `after-${i}` })));
    return ls.join('\n') + '\n';
  }
  it('a first line longer than the detection window is a line like any other, and --max-line-bytes applies to it', async () => {
    const dir = writeFiles(tmpDir(), { 'first.jsonl': bigFile(true), 'second.jsonl': bigFile(false) });
    for (const [opts, events, rejected] of [
      [{}, 2011, 1],
      [{ maxLineBytes: 1_000_000 }, 2010, 2],
    ] as const) {
      const a = (await collect([join(dir, 'first.jsonl')], { read: opts })).acc;
      const b = (await collect([join(dir, 'second.jsonl')], { read: opts })).acc;
      expect([a.lines, a.events, a.rejected]).toEqual([events + rejected, events, rejected]);
      expect([b.lines, b.events, b.rejected]).toEqual([a.lines, a.events, a.rejected]);
    }
  });

  it('a wrapper line longer than --max-line-bytes is streamed item by item, not rejected', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => event({ auditID: `w-${i}` }));
    const dir = writeFiles(tmpDir(), { 'w.jsonl': JSON.stringify(event({ auditID: 'first' })) + '\n' + JSON.stringify({ kind: 'EventList', items: many }) + '\n' + JSON.stringify(event({ auditID: 'last' })) + '\n' });
    const { records, acc, rejects } = await collect([join(dir, 'w.jsonl')], { read: { maxLineBytes: 100_000 } });
    expect(rejects).toEqual([]);
    expect(records).toHaveLength(3002);
    expect(records.at(-1)!.auditID).toBe('last');
    balanced(acc);
  });

  it('values written back to back on one line are each read; a break costs only what follows it', async () => {
    const e = (id: string) => JSON.stringify(event({ auditID: id }));
    const dir = writeFiles(tmpDir(), { 'x.jsonl': `${e('a')}${e('b')}\n${e('c')}${e('d').slice(0, 40)}\n${e('e')}\n` });
    const { records, rejects, acc } = await collect([join(dir, 'x.jsonl')]);
    expect(records.map((r) => r.auditID)).toEqual(['a', 'b', 'c', 'e']);
    expect(rejects.map((r) => [r.loc.line, r.loc.item])).toEqual([[2, 2]]);
    balanced(acc);
  });

  it('a one-line array of events is read like a top-level array, with item locations', async () => {
    const dir = writeFiles(tmpDir(), { 'a.json': JSON.stringify([event({ auditID: 'a' }), { not: 'an event' }, event({ auditID: 'c' })]) + '\n' });
    const { records, rejects } = await collect([join(dir, 'a.json')]);
    expect(records.map((r) => r.auditID)).toEqual(['a', 'c']);
    expect(rejects.map((r) => r.loc)).toEqual([{ file: join(dir, 'a.json'), line: 1, unit: 'line', item: 2 }]);
  });
});

describe('locations inside documents name the item', () => {
  it('a JSON-lines line holding a wrapper reports file:LINE: item N', async () => {
    const dir = writeFiles(tmpDir(), { 'l.jsonl': jsonl([event({ auditID: 'x' }), { kind: 'EventList', items: [event({ auditID: 'a' }), { kind: 'Pod' }, event({ auditID: 'c' })] }]) });
    const r = await runCli(['summary', join(dir, 'l.jsonl'), '-o', 'json']);
    expect(r.stderr).toMatch(/l\.jsonl:2: item 2: not an audit event \(kind "Pod"\)/);
  });
  it('a document reports file: item N', async () => {
    const dir = writeFiles(tmpDir(), { 'd.json': JSON.stringify({ kind: 'EventList', items: [event({ auditID: 'a' }), { kind: 'Pod' }] }, null, 2) });
    const r = await runCli(['summary', join(dir, 'd.json'), '-o', 'json']);
    expect(r.stderr).toMatch(/d\.json: item 2: not an audit event/);
  });
});

describe('gzip is read as zcat reads it', () => {
  const body = Array.from({ length: 3000 }, (_, i) => JSON.stringify(event({ auditID: `z${i}` }))).join('\n') + '\n';
  it('bytes that are not gzip after the last member: every line is kept, the rest counted as not read', async () => {
    const dir = writeFiles(tmpDir(), { 'g.gz': Buffer.concat([gzipSync(body.slice(0, 100_000)), gzipSync(body.slice(100_000)), Buffer.from('trailing junk\n')]) });
    const { records, acc, rejects } = await collect([join(dir, 'g.gz')]);
    expect(records).toHaveLength(3000);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.reason).toMatch(/after the last gzip member are not gzip data/);
    expect(acc.files[0]).toMatchObject({ complete: false, incomplete: 'data after the gzip stream was not read' });
    expect(execFileSync('sh', ['-c', `zcat ${join(dir, 'g.gz')} 2>/dev/null | wc -l; true`], { encoding: 'utf8' }).trim()).toBe('3000');
  });
  it('zero padding after the last member is not data', async () => {
    const dir = writeFiles(tmpDir(), { 'g.gz': Buffer.concat([gzipSync(body), Buffer.alloc(512)]) });
    const { records, acc, rejects } = await collect([join(dir, 'g.gz')]);
    expect([records.length, rejects.length, acc.complete]).toEqual([3000, 0, true]);
  });
  it('a truncated member gives every line zcat gives, and the truncation is counted once', async () => {
    const gz = gzipSync(body);
    const dir = writeFiles(tmpDir(), { 'cut.gz': gz.subarray(0, Math.floor(gz.length * 0.7)) });
    const zcat = execFileSync('sh', ['-c', `zcat ${join(dir, 'cut.gz')} 2>/dev/null; true`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const whole = zcat.split('\n').slice(0, -1).filter((l) => l.endsWith('}'));
    const { records, acc, rejects } = await collect([join(dir, 'cut.gz')]);
    expect(records).toHaveLength(whole.length);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.reason).toMatch(/^truncated line: input ended early/);
    expect(acc.files[0]!.incomplete).toBe('truncated gzip member');
  });
});

describe('inputs kaudit does not read are one clear error naming the format and the fix', () => {
  const text = jsonl([event({ auditID: 'a' }), event({ auditID: 'b' })]);
  const dir = writeFiles(tmpDir(), { 'plain.log': text });
  const make = (name: string, cmd: string): string => {
    execFileSync('sh', ['-c', cmd.replace('IN', join(dir, 'plain.log')).replace('OUT', join(dir, name))]);
    return join(dir, name);
  };
  it.each([
    ['a.log.xz', 'xz -c IN > OUT', /xz-compressed input: .*convert it first: xz -dc \S+a\.log\.xz \| audit …/],
    ['a.log.zst', 'zstd -q -c IN > OUT', /zstd-compressed input: .*zstd -dc \S+a\.log\.zst \| audit …/],
    ['a.log.bz2', 'bzip2 -c IN > OUT', /bzip2-compressed input: .*bzip2 -dc/],
    ['a.zip', 'cd $(dirname IN) && zip -q OUT plain.log', /zip-compressed input: .*unzip -p/],
    ['a.utf16', 'iconv -f UTF-8 -t UTF-16 IN > OUT', /UTF-16 text input: .*iconv -f UTF-16 -t UTF-8/],
    ['a.utf16le', 'iconv -f UTF-8 -t UTF-16LE IN > OUT', /UTF-16 text input/],
    ['a.utf16be.gz', 'iconv -f UTF-8 -t UTF-16BE IN | gzip > OUT', /UTF-16 text input/],
  ])('%s', async (name, cmd, reason) => {
    const f = make(name, cmd);
    const { acc, rejects, records } = await collect([f, join(dir, 'plain.log')]);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.reason).toMatch(reason);
    expect(records).toHaveLength(2); // the next input is read as usual
    expect(acc.files[0]).toMatchObject({ complete: false, events: 0, rejected: 1 });
    expect(acc.complete).toBe(false);
    const strict = await runCli(['summary', '--strict', f]);
    expect(strict.code).toBe(2);
    expect(strict.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});

describe('request identity: stages join within a family (auditID, verb, requestURI, user) when their times allow (README "Request identity")', () => {
  // Upstream: one audit Event per request (filters/audit.go WithAudit changes only stage,
  // stageTimestamp and responseStatus between stages; audit/request.go LogRequestMetadata sets
  // requestReceivedTimestamp once), and the Audit-ID header is taken from the client as is
  // (filters/with_auditid.go).
  it.each([
    ['as the API server writes it (every stage with the same requestReceivedTimestamp)', 'auditid-reuse-samestages.jsonl', 'auditid-control-samestages.jsonl'],
    ['as written: re-stamped stages (ResponseComplete received 10-20 ms after RequestReceived)', 'auditid-reuse.jsonl', 'auditid-control.jsonl'],
  ])('shared case auditid-reuse, %s: 2 requests + 2 stage duplicates, the create behind a reused ID kept everywhere', async (_n, reuseFile, controlFile) => {
    const reuse = `${S}/${reuseFile}`;
    const control = `${S}/${controlFile}`;
    const findings = (r: { stdout: string }) => json(r).findings.map((f: any) => [f.rule, f.severity, f.subject, f.verb, f.resource, f.count]).sort();
    const a = await runCli(['anomalies', reuse, '-o', 'json', '-q']);
    // Exactly the control's findings (the shared case's check compares them for equality); the
    // reuse is counted in the accounting below.
    expect(findings(a)).toEqual(findings(await runCli(['anomalies', control, '-o', 'json', '-q'])));
    // The off-by-default rule K8S-AUDITID-REUSE adds the reuse itself, on the create.
    const on = await runCli(['anomalies', reuse, '--enable-rule', 'K8S-AUDITID-REUSE', '-o', 'json', '-q']);
    expect(findings(on)).toEqual([...findings(a), ['K8S-AUDITID-REUSE', 'medium', 'mallory', 'create', 'clusterrolebindings.rbac.authorization.k8s.io', 1]].sort());
    expect(findings(await runCli(['anomalies', control, '--enable-rule', 'K8S-AUDITID-REUSE', '-o', 'json', '-q']))).toEqual(findings(a));
    expect(findings(a).map((f: any[]) => f[0])).toContain('K8S-CLUSTER-ADMIN-BINDING');
    expect(json(a).input).toMatchObject({ events: 4, requests: 2, duplicates: 2, auditIDReuse: 1 });
    const recs = lines(await runCli(['export', reuse, '-o', 'jsonl', '-q']));
    expect(recs.map((x) => [x.verb, x.resource, x.name, x.auditIDReused])).toEqual([
      ['get', 'pods', 'web', false],
      ['create', 'clusterrolebindings', 'pwn', true],
    ]);
    const rbac = json(await runCli(['rbac-gen', reuse, '-o', 'report', '-q']));
    expect(JSON.stringify(rbac.policies)).toMatch(/clusterrolebindings/);
    const pre = await runCli(['investigate', '--preset', 'rbac-changes', reuse, '-o', 'jsonl', '-q']);
    const full = await runCli(['investigate', '--preset', 'rbac-changes', '--no-prefilter', reuse, '-o', 'jsonl', '-q']);
    expect(lines(pre).map((x) => x.name)).toEqual(['pwn']);
    expect(pre.stdout).toBe(full.stdout);
    const s = await runCli(['summary', reuse]);
    expect(s.stderr).toMatch(/warning: 1 request reuses an Audit-ID that an earlier, different request used/);
    expect(s.stdout).toMatch(/│ Audit-ID reused +│ 1 request reuse an earlier request's auditID/);
  });

  const base = { auditID: 'same', requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', verb: 'create', objectRef: { resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' } };
  const st = (over: Record<string, unknown>) => event({ ...base, ...over });
  it.each<[string, Record<string, unknown>[], number, number, number]>([
    ['stages of one request collapse (objectRef may gain a name)', [st({ stage: 'RequestReceived', responseStatus: undefined }), st({ stage: 'ResponseComplete', objectRef: { ...base.objectRef, name: 'x' }, responseStatus: { code: 201 } })], 1, 1, 0],
    ['two creates with one ID, received at different times, are two requests', [st({ stage: 'ResponseComplete' }), st({ stage: 'ResponseComplete', requestReceivedTimestamp: '2026-03-02T10:00:09.000000Z' })], 2, 0, 1],
    ['interleaved stages of two requests with one ID', [st({ stage: 'RequestReceived' }), st({ stage: 'RequestReceived', requestReceivedTimestamp: '2026-03-02T10:00:09.000000Z' }), st({ stage: 'ResponseComplete' }), st({ stage: 'ResponseComplete', requestReceivedTimestamp: '2026-03-02T10:00:09.000000Z' })], 2, 2, 1],
    ['another user with the same ID', [st({}), st({ user: { username: 'mallory' } })], 2, 0, 1],
    ['the same user impersonating someone', [st({}), st({ impersonatedUser: { username: 'admin' } })], 2, 0, 1],
    ['another URI', [st({}), st({ requestURI: '/api/v1/namespaces/default/pods' })], 2, 0, 1],
    ['an exact repeat of a line is one request', [st({}), st({})], 1, 1, 0],
  ])('%s', async (_name, evs, requests, duplicates, reuse) => {
    const dir = writeFiles(tmpDir(), { 'x.log': jsonl(evs) });
    const { acc, records } = await collect([join(dir, 'x.log')]);
    expect([acc.requests, acc.duplicates, acc.auditIDReuse]).toEqual([requests, duplicates, reuse]);
    expect(records.filter((r) => r.auditIDReused)).toHaveLength(reuse);
  });

  it('--jobs gives the answer of one pass when the reuse crosses a task border', async () => {
    process.env.KAUDIT_MIN_RANGE_BYTES = String(64 << 10);
    try {
      const evs = Array.from({ length: 3000 }, (_, i) => JSON.stringify(event({ auditID: `id-${i}`, requestObject: { pad: 'p'.repeat(40) } })));
      evs[2900] = JSON.stringify(event({ auditID: 'id-5', verb: 'delete', requestURI: '/api/v1/namespaces/default/pods/x' }));
      const dir = writeFiles(tmpDir(), { 'big.log': evs.join('\n') + '\n' });
      const one = await runCli(['summary', join(dir, 'big.log'), '-o', 'json', '--jobs', '1']);
      const many = await runCli(['summary', join(dir, 'big.log'), '-o', 'json', '--jobs', '3']);
      expect(json(one).input.auditIDReuse).toBe(1);
      expect(many.stdout).toBe(one.stdout);
      expect(many.stderr).toMatch(/note: an Audit-ID is reused across parts of the inputs; reading again in one thread/);
    } finally {
      delete process.env.KAUDIT_MIN_RANGE_BYTES;
    }
  });
});

describe('request identity with --jobs: every border decided as one pass decides it', () => {
  // A log whose requests straddle every range border: each request's RequestReceived comes 40
  // lines before its completion, re-stamped (received 5 ms later), so one pass joins them by the
  // later-stage rule. Ranges are made small so that the file splits into several.
  const ts = (ms: number) => new Date(Date.UTC(2026, 2, 2, 10) + ms).toISOString().replace('Z', '000Z');
  const straddling = (n: number, tweak?: (lines: Record<string, unknown>[]) => void): string => {
    const evs: Record<string, unknown>[] = [];
    for (let i = 0; i < n + 40; i++) {
      if (i < n) evs.push(event({ auditID: `r-${i}`, stage: 'RequestReceived', responseStatus: undefined, requestReceivedTimestamp: ts(10 * i), stageTimestamp: ts(10 * i), requestObject: { pad: 'p'.repeat(40) } }));
      const j = i - 40;
      if (j >= 0) evs.push(event({ auditID: `r-${j}`, user: { username: j % 7 ? 'alice' : 'bob', groups: ['system:authenticated'] }, requestReceivedTimestamp: ts(10 * j + 5), stageTimestamp: ts(10 * j + 6) }));
    }
    // The user must agree between stages (the RequestReceived lines say alice): make them so.
    for (const e of evs) if (e.stage === 'RequestReceived') e.user = { username: Number(String(e.auditID).slice(2)) % 7 ? 'alice' : 'bob', groups: ['system:authenticated'] };
    tweak?.(evs);
    return jsonl(evs);
  };
  const both = async (text: string, args: string[]) => {
    process.env.KAUDIT_MIN_RANGE_BYTES = String(64 << 10);
    try {
      const dir = writeFiles(tmpDir(), { 'big.log': text });
      const one = await runCli([...args, join(dir, 'big.log'), '--jobs', '1']);
      const many = await runCli([...args, join(dir, 'big.log'), '--jobs', '3']);
      return { one, many };
    } finally {
      delete process.env.KAUDIT_MIN_RANGE_BYTES;
    }
  };

  it('re-stamped stages cut by a border are joined in the workers, with no fallback', async () => {
    for (const args of [['summary', '-o', 'json'], ['rbac-gen', '-o', 'report'], ['summary', '-o', 'json', '--user', 'bob']]) {
      const { one, many } = await both(straddling(2500), args);
      expect(one.code).toBe(0);
      if (args.length === 3) expect(json(one).input).toMatchObject({ events: 5000, duplicates: 2500, requests: 2500, auditIDReuse: 0 });
      expect(many.stdout).toBe(one.stdout);
      expect(many.stderr).toBe(one.stderr);
    }
  });

  it('an early stage of a request an earlier part completed, written again at the end: absorbed in the workers as one pass absorbs it', async () => {
    const { one, many } = await both(
      straddling(2500, (evs) => evs.push({ ...evs[0]!, stage: 'RequestReceived' })),
      ['summary', '-o', 'json', '--status', '2xx'],
    );
    expect(one.code).toBe(0);
    expect(json(one).input).toMatchObject({ events: 5001, duplicates: 2501, requests: 2500 });
    expect(many.stdout).toBe(one.stdout);
    expect(many.stderr).toBe(one.stderr);
  });

  it.each<[string, (evs: Record<string, unknown>[]) => void, RegExp]>([
    ['a request an earlier part completed, completed again', (evs) => evs.push({ ...evs.find((e) => e.stage !== 'RequestReceived')! }), /note: the same requests appear in more than one part/],
    ['an ID reused across a border by a request the filters do not select', (evs) => evs.push(event({ auditID: 'r-3', verb: 'delete', user: { username: 'carol' }, responseStatus: { code: 403 } })), /note: an Audit-ID is reused across parts of the inputs/],
  ])('%s: read again in one thread, with a note, and the same bytes', async (_n, tweak, note) => {
    const { one, many } = await both(straddling(2500, tweak), ['summary', '-o', 'json', '--status', '2xx']);
    expect(one.code).toBe(0);
    expect(many.stdout).toBe(one.stdout);
    expect(many.stderr).toMatch(note);
  });
});

describe('the same content read twice is read once', () => {
  const text = jsonl(Array.from({ length: 50 }, (_, i) => event({ auditID: `d-${i}`, requestReceivedTimestamp: `2026-03-02T10:00:${String(i).padStart(2, '0')}.000000Z` })));
  it('a copy under another name, and a hard link, are skipped with a note; the accounting names the original', async () => {
    const dir = writeFiles(tmpDir(), { 'audit.log': text });
    copyFileSync(join(dir, 'audit.log'), join(dir, 'audit.log.1'));
    linkSync(join(dir, 'audit.log'), join(dir, 'zz-link.log'));
    const r = await runCli(['summary', dir, '-o', 'json']);
    const a = json(r).input;
    expect(a).toMatchObject({ requests: 50, events: 50 });
    expect(a.files.map((f: any) => [f.path.split('/').pop(), f.duplicateOf?.split('/').pop() ?? null])).toEqual([
      ['audit.log', null],
      ['audit.log.1', 'audit.log'],
      ['zz-link.log', 'audit.log'],
    ]);
    expect(r.stderr).toMatch(/note: \S+audit\.log\.1 has the same content as \S+audit\.log; read once, this copy skipped/);
  });
  it('files of one size and different content are both read', async () => {
    const other = text.replace(/d-1"/, 'd-X"');
    const dir = writeFiles(tmpDir(), { 'a.log': text, 'b.log': other });
    const a = json(await runCli(['summary', dir, '-o', 'json', '-q'])).input;
    expect(a.files.map((f: any) => [f.events, f.duplicateOf ?? null])).toEqual([
      [50, null],
      [50, null],
    ]);
    // The 49 events the files share are the same requests: stage collapsing counts them once.
    expect([a.requests, a.duplicates]).toEqual([51, 49]);
  });
  it('--jobs skips the copy too, with the same output and a true note', async () => {
    process.env.KAUDIT_MIN_RANGE_BYTES = String(32 << 10);
    try {
      const big = jsonl(Array.from({ length: 2000 }, (_, i) => event({ auditID: `b-${i}` })));
      const dir = writeFiles(tmpDir(), { 'a.log': big, 'b.log': big });
      const one = await runCli(['summary', dir, '-o', 'json', '--jobs', '1']);
      const many = await runCli(['summary', dir, '-o', 'json', '--jobs', '2']);
      expect(json(one).input.requests).toBe(2000);
      expect(many.stdout).toBe(one.stdout);
      expect(many.stderr).toBe(one.stderr);
      expect(many.stderr).not.toMatch(/reading again in one thread/);
    } finally {
      delete process.env.KAUDIT_MIN_RANGE_BYTES;
    }
  });
});

describe('values escaped in JSON match the filters as their decoded value does', () => {
  it('--user alice finds "\\u0061lice" with and without the pre-filter', async () => {
    const line = JSON.stringify(event({ auditID: 'esc' })).replace('"username":"alice"', '"username":"\\u0061lice"');
    const dir = writeFiles(tmpDir(), { 'e.log': line + '\n' + JSON.stringify(event({ auditID: 'other', user: { username: 'bob' } })) + '\n' });
    const fast = await runCli(['export', join(dir, 'e.log'), '--user', 'alice', '-o', 'jsonl', '-q']);
    const slow = await runCli(['export', join(dir, 'e.log'), '--user', 'alice', '-o', 'jsonl', '-q', '--no-prefilter']);
    expect(lines(fast).map((x) => x.auditID)).toEqual(['esc']);
    expect(fast.stdout).toBe(slow.stdout);
  });
});

describe('a key named __proto__ is a key like any other in every input shape (JSON.parse semantics)', () => {
  // ECMA-262 JSON.parse (InternalizeJSONProperty → CreateDataProperty) makes every key an own
  // property; stream-json's Assembler assigned (current[key] = value), so in documents a
  // "__proto__" key set the object's prototype and vanished.
  const ev = JSON.parse(
    JSON.stringify(event({ impersonatedUser: { username: 'bob', groups: ['system:authenticated'], extra: { constructor: ['c'] } }, requestObject: { metadata: { labels: { a: 'b' } } } }))
      .replace('"extra":{', '"extra":{"__proto__":["p"],')
      .replace('"labels":{', '"labels":{"__proto__":{"x":"y"},'),
  );
  const text = JSON.stringify(ev);
  it.each([
    ['JSON lines', `${text}\n`],
    ['an EventList document', `${JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [ev] }, null, 2)}\n`],
    ['a pretty-printed event', `${JSON.stringify(ev, null, 2)}\n`],
    ['a top-level array', `[${text}]\n`],
  ])('%s', async (_n, body) => {
    const dir = writeFiles(tmpDir(), { 'x.log': body });
    const { records, rejects } = await collect([join(dir, 'x.log')]);
    expect(rejects).toEqual([]);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(Object.keys(r.impersonatedExtra)).toEqual(['__proto__', 'constructor']);
    expect(r.impersonatedExtra['__proto__']).toEqual(['p']);
    const labels = (r.requestObject as any).metadata.labels;
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.keys(labels)).toEqual(['__proto__', 'a']);
  });
});
