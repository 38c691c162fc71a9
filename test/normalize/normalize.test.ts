import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { normalizeValue } from '../../src/normalize/index.js';
import { parseMethodName, parseResourceName } from '../../src/normalize/gke.js';
import { parseTimeMs } from '../../src/normalize/time.js';
import { parseUserAgent } from '../../src/normalize/useragent.js';
import { classifySubject } from '../../src/normalize/subject.js';
import type { AuditRecord } from '../../src/types.js';
import { event } from '../helpers.js';

function norm(e: unknown, cluster = ''): AuditRecord {
  const r = normalizeValue(e, cluster);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('identity', () => {
  it.each([
    ['alice', 'User', '', ''],
    ['system:serviceaccount:ci:deployer', 'ServiceAccount', 'ci', 'deployer'],
    ['system:node:ip-10-0-1-11.ec2.internal', 'Node', '', ''],
    ['system:anonymous', 'Anonymous', '', ''],
    ['system:kube-scheduler', 'System', '', ''],
    ['system:apiserver', 'System', '', ''],
    ['aksService', 'System', '', ''],
    ['nodeclient', 'System', '', ''],
    ['eks:certificate-controller', 'System', '', ''],
    ['system:serviceaccount:broken', 'System', '', ''],
  ])('%s is a %s', (username, kind, ns, name) => {
    const r = norm(event({ user: { username, groups: [] } }));
    expect(r.subject).toBe(username);
    expect(r.subjectKind).toBe(kind);
    expect(r.subjectNamespace).toBe(ns);
    expect(r.subjectName).toBe(name);
  });

  it('makes the impersonated identity the subject and keeps the real user as impersonator', () => {
    const r = norm(
      event({
        user: { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] },
        impersonatedUser: { username: 'system:serviceaccount:ns1:sa1', groups: ['system:serviceaccounts'] },
      }),
    );
    expect(r.subject).toBe('system:serviceaccount:ns1:sa1');
    expect(r.subjectKind).toBe('ServiceAccount');
    expect(r.groups).toEqual(['system:serviceaccounts']);
    expect(r.impersonator).toBe('system:admin');
  });

  it('keeps the EKS IAM identity (the session ARN, which names who acted) as principal', () => {
    const r = norm(event({ user: { username: 'kubernetes-admin', extra: { arn: ['arn:aws:sts::111122223333:assumed-role/Admin/jane'], canonicalArn: ['arn:aws:iam::111122223333:role/Admin'] } } }));
    expect(r.principal).toBe('arn:aws:sts::111122223333:assumed-role/Admin/jane');
    const only = norm(event({ user: { username: 'x', extra: { canonicalArn: ['arn:aws:iam::111122223333:role/Admin'] } } }));
    expect(only.principal).toBe('arn:aws:iam::111122223333:role/Admin');
  });
});

describe('classifySubject', () => {
  it.each([
    ['', 'Unauthenticated', '', ''],
    ['system:anonymous', 'Anonymous', '', ''],
    ['system:serviceaccount:ns:sa', 'ServiceAccount', 'ns', 'sa'],
    ['system:serviceaccount:ns', 'System', '', ''],
    ['system:node:n1', 'Node', '', 'n1'],
    ['system:kube-scheduler', 'System', '', ''],
    ['alice@example.com', 'User', '', ''],
  ])('%j → %s', (name, kind, namespace, n) => {
    expect(classifySubject(name)).toEqual({ kind, namespace, name: n });
  });
  it('hands out answers that cannot be changed (the kinds without a name are shared)', () => {
    const a = classifySubject('alice');
    expect(Object.isFrozen(a)).toBe(true);
    expect(classifySubject('bob')).toBe(a);
  });
});

describe('request fields', () => {
  it('maps objectRef and leaves nonResourceURL empty', () => {
    const r = norm(event({ objectRef: { resource: 'deployments', subresource: 'scale', namespace: 'staging', name: 'web', apiGroup: 'apps', apiVersion: 'v1' }, verb: 'patch' }));
    expect([r.verb, r.apiGroup, r.apiVersion, r.resource, r.subresource, r.namespace, r.name, r.nonResourceURL]).toEqual(['patch', 'apps', 'v1', 'deployments', 'scale', 'staging', 'web', '']);
  });

  it.each([
    ['/apis?timeout=32s', '/apis'],
    ['/openapi/v2?timeout=32s', '/openapi/v2'],
    ['/healthz', '/healthz'],
    ['/version?x=1&y=2', '/version'],
  ])('non-resource %s → %s (query stripped)', (uri, path) => {
    const e = event({ requestURI: uri, verb: 'get' });
    delete e.objectRef;
    const r = norm(e);
    expect(r.nonResourceURL).toBe(path);
    expect(r.requestURI).toBe(uri);
    expect(r.resource).toBe('');
  });

  it.each([
    [{ 'authorization.k8s.io/decision': 'forbid' }, 200, 'forbid'],
    [{ 'authorization.k8s.io/decision': 'allow' }, 403, 'allow'],
    [undefined, 403, 'forbid'],
    [undefined, 404, 'allow'],
    [undefined, 401, ''],
    [undefined, undefined, ''],
  ])('decision: annotation %j, code %s → %j', (annotations, code, decision) => {
    const e = event({ annotations, responseStatus: code === undefined ? undefined : { code } });
    expect(norm(e).decision).toBe(decision);
  });

  it('measures duration from requestReceivedTimestamp to stageTimestamp, with microseconds', () => {
    const r = norm(event({ requestReceivedTimestamp: '2026-03-02T10:00:00.000100Z', stageTimestamp: '2026-03-02T10:00:01.250600Z' }));
    expect(r.durationMs).toBe(1250.5);
    expect(r.time).toBe('2026-03-02T10:00:00.000100Z');
  });

  it('falls back to the v1beta1 `timestamp` when there is no requestReceivedTimestamp', () => {
    const e = event({ timestamp: '2017-09-11T19:55:05Z' });
    delete e.requestReceivedTimestamp;
    delete e.stageTimestamp;
    const r = norm(e);
    expect(r.time).toBe('2017-09-11T19:55:05Z');
    expect(r.durationMs).toBeNull();
  });

  it('labels records with the cluster', () => {
    expect(norm(event(), 'prod').cluster).toBe('prod');
  });
});

describe('clients and access methods from the user agent', () => {
  it.each([
    ['kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', 'kubectl', 'v1.29.2', 'kubectl'],
    ['kubectl1.32.4/v1.32.4 (linux/amd64) kubernetes/59526cd', 'kubectl', 'v1.32.4', 'kubectl'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'browser', 'Chrome/120.0.0.0', 'browser'],
    ['kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55019c8/system:serviceaccount:kube-system:deployment-controller', 'deployment-controller', 'v1.29.4', 'controller'],
    ['kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55019c8/leader-election', 'kube-controller-manager', 'v1.29.4', 'controller'],
    ['hyperkube/v1.15.10 (linux/amd64) kubernetes/059c666/system:serviceaccount:kube-system:resourcequota-controller', 'resourcequota-controller', 'v1.15.10', 'controller'],
    ['kube-scheduler/v1.32.2 (linux/arm64) kubernetes/67a30c0/leader-election', 'kube-scheduler', 'v1.32.2', 'controller'],
    ['kubelet/v1.27.4+2c83a9f (linux/amd64) kubernetes/bbf96b6', 'kubelet', 'v1.27.4+2c83a9f', 'controller'],
    ['Helm/3.14.0', 'helm', '3.14.0', 'automation'],
    ['argocd-application-controller/v2.10.1+a79e0ea (linux/amd64) kubernetes/v0.29.0', 'argocd', 'v2.10.1+a79e0ea', 'automation'],
    ['HashiCorp/1.0 Terraform/1.7.0', 'terraform', '1.0', 'automation'],
    ['curl/8.4.0', 'curl', '8.4.0', 'automation'],
    ['Go-http-client/2.0', 'go-http-client', '2.0', 'automation'],
    ['OpenAPI-Generator/28.0.0/python', 'python-client', '28.0.0', 'automation'],
    ['my-operator/v0.3.0 (linux/amd64) kubernetes/$Format', 'my-operator', 'v0.3.0', 'controller'],
    ['reporter/1.4.2 (linux/amd64) kubernetes/v0.29.0', 'reporter', '1.4.2', 'automation'],
    ['', '', '', 'other'],
  ])('%j → %s %s (%s)', (ua, client, version, method) => {
    const r = norm(event({ userAgent: ua || undefined }));
    expect([r.client, r.clientVersion, r.accessMethod]).toEqual([client, version, method]);
  });

  it('memoises by the whole user agent: any order of calls, with agents that share a memo slot, gives each its own answer', () => {
    // Short agents crowd the 256 slots of the direct-mapped memo (and '' and NUL share slots with others).
    const pool = ['', '\u0000', 'a', 'b', 'c', 'ab', 'ba', 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', 'kubectl/v1.29.3 (linux/amd64) kubernetes/4b8e819', 'Helm/3.14.0', 'Helm/3.14.1', 'curl/8.4.0', 'x'.repeat(300), 'y'.repeat(300)];
    for (let i = 0; i < 60; i++) pool.push(`ua-${i}`, String.fromCharCode(i));
    const first = new Map(pool.map((ua) => [ua, { ...parseUserAgent(ua) }]));
    expect(first.get('\u0000')!.client).toBe('\u0000');
    expect(first.get('')!.client).toBe('');
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 200 }), (seq) => {
        for (const ua of seq) expect(parseUserAgent(Buffer.from(ua, 'utf8').toString('utf8'))).toEqual(first.get(ua));
      }),
      { numRuns: 300 },
    );
  });

  it('treats unknown clients of nodes as controllers and of service accounts as automation', () => {
    expect(norm(event({ userAgent: undefined, user: { username: 'system:node:n1' } })).accessMethod).toBe('controller');
    expect(norm(event({ userAgent: undefined, user: { username: 'system:serviceaccount:a:b' } })).accessMethod).toBe('automation');
  });
});

describe('cloud wrappers', () => {
  it('unwraps AKS records whose properties.log is a string or an object', () => {
    const inner = event({ user: { username: 'aksService', groups: ['system:masters'] } });
    for (const log of [JSON.stringify(inner), inner]) {
      const r = norm({ category: 'kube-audit', properties: { log, pod: 'kube-apiserver-1' } });
      expect(r.provider).toBe('aks');
      expect(r.subjectKind).toBe('System');
    }
  });

  it('rejects AKS records of non-audit categories', () => {
    expect(normalizeValue({ category: 'kube-apiserver', properties: { log: 'I0101 started' } }, '')).toMatch(/not an audit record/);
  });

  it('unwraps CloudWatch messages (EKS)', () => {
    const r = norm({ logStreamName: 'kube-apiserver-audit-1', timestamp: 1, message: JSON.stringify(event()) });
    expect(r.provider).toBe('eks');
    expect(r.verb).toBe('list');
  });

  it.each([
    ['io.k8s.core.v1.pods.exec.create', ['', 'v1', 'pods', 'exec', 'create']],
    ['io.k8s.apps.v1.deployments.patch', ['apps', 'v1', 'deployments', '', 'patch']],
    ['io.k8s.authorization.rbac.v1.clusterroles.create', ['rbac.authorization.k8s.io', 'v1', 'clusterroles', '', 'create']],
    ['io.k8s.coordination.v1.leases.update', ['coordination.k8s.io', 'v1', 'leases', '', 'update']],
    ['io.cert-manager.v1.certificates.list', ['cert-manager.io', 'v1', 'certificates', '', 'list']],
    ['io.k8s.autoscaling.v2beta1.horizontalpodautoscalers.get', ['autoscaling', 'v2beta1', 'horizontalpodautoscalers', '', 'get']],
  ])('GKE method %s', (m, want) => {
    const p = parseMethodName(m)!;
    expect([p.apiGroup, p.apiVersion, p.resource, p.subresource, p.verb]).toEqual(want);
  });

  it.each([
    ['core/v1/namespaces/ns1/pods/web-1/status', 'ns1', 'web-1'],
    ['core/v1/nodes/n1', '', 'n1'],
    ['core/v1/namespaces/foo', 'foo', 'foo'],
    ['apps/v1/namespaces/ns1/deployments', 'ns1', ''],
  ])('GKE resourceName %s', (rn, ns, name) => {
    expect(parseResourceName(rn)).toEqual({ namespace: ns, name });
  });
});

describe('rejections name the reason', () => {
  it.each([
    [{ kind: 0 }, /kind 0/],
    [{ hello: 'world' }, /not an audit event/],
    [42, /not an audit event \(number\)/],
    [null, /null/],
    [[1, 2], /array/],
    [event({ verb: 5 }), /field verb: expected string, got number/],
    [event({ user: 'alice' }), /field user: expected object, got string/],
    [event({ sourceIPs: '1.2.3.4' }), /field sourceIPs: expected array/],
    [event({ responseStatus: { code: '200' } }), /responseStatus.code: expected number/],
    [event({ objectRef: { resource: 7 } }), /objectRef.resource/],
    [event({ requestReceivedTimestamp: 'yesterday' }), /not a timestamp/],
    [event({ kind: 'Pod' }), /kind "Pod"/],
    // Impossible calendar values and status codes that are not HTTP codes (RFC 9110 §15: 100-599).
    [event({ requestReceivedTimestamp: '2026-02-30T10:00:00.000000Z' }), /field requestReceivedTimestamp: not a timestamp/],
    [event({ requestReceivedTimestamp: '2025-02-29T10:00:00Z' }), /not a timestamp/],
    [event({ requestReceivedTimestamp: '2026-04-31T10:00:00Z' }), /not a timestamp/],
    [event({ requestReceivedTimestamp: '2026-01-01T24:00:00Z' }), /not a timestamp/],
    [event({ requestReceivedTimestamp: '2026-01-01T10:00:00' }), /not a timestamp/],
    [event({ stageTimestamp: '2026-02-31T10:00:00Z' }), /field stageTimestamp: not a timestamp/],
    [event({ responseStatus: { code: 999 } }), /responseStatus.code: 999 is not an HTTP status code/],
    [event({ responseStatus: { code: 42 } }), /42 is not an HTTP status code/],
    [event({ responseStatus: { code: -200 } }), /not an HTTP status code/],
    [event({ responseStatus: { code: 200.5 } }), /not an HTTP status code/],
    [event({ user: undefined }), /missing user/],
  ])('%j', (v, reason) => {
    const r = normalizeValue(v, '');
    expect(typeof r).toBe('string');
    expect(r as string).toMatch(reason);
  });
});

describe('parseTimeMs', () => {
  // Epoch ms in a double resolve to ~0.25 µs, so microseconds survive and nanoseconds are rounded.
  it('keeps microseconds beyond milliseconds', () => {
    expect(parseTimeMs('2026-03-02T10:00:00.123456Z') - Date.parse('2026-03-02T10:00:00Z')).toBeCloseTo(123.456, 3);
    expect(parseTimeMs('2026-03-02T10:00:00.123456789Z') - Date.parse('2026-03-02T10:00:00Z')).toBeCloseTo(123.456789, 3);
    expect(parseTimeMs('2026-03-02T10:00:00Z')).toBe(Date.parse('2026-03-02T10:00:00Z'));
    expect(parseTimeMs('nope')).toBeNaN();
  });
  it('a short fraction before an offset has no sub-millisecond digits (the offset’s digits were once read as such)', () => {
    expect(parseTimeMs('2026-03-02T10:00:00.1+02:00')).toBe(Date.parse('2026-03-02T10:00:00.1+02:00'));
    expect(parseTimeMs('2026-03-02T10:00:00.12-01:30')).toBe(Date.parse('2026-03-02T10:00:00.12-01:30'));
    expect(parseTimeMs('2026-03-02T10:00:00.1234+02:00') - Date.parse('2026-03-02T10:00:00.123+02:00')).toBeCloseTo(0.4, 3);
  });
  it('timestamps of other days between those of one day (the day strictUtc remembers) are read in full', () => {
    const days = ['2026-03-02T10:00:00Z', '2024-02-29T10:00:00Z', '2026-03-02T23:59:59.999Z', '2023-02-29T10:00:00Z', '2026-03-02T00:00:00Z', '2026-02-30T00:00:00Z', '2026-03-02T01:00:00Z'];
    for (const d of days) {
      if (d.startsWith('2023-02-29') || d.startsWith('2026-02-30')) expect(parseTimeMs(d)).toBeNaN();
      else expect(parseTimeMs(d)).toBe(Date.parse(d));
    }
    // twice in a row: a remembered day never makes an impossible one valid
    expect(parseTimeMs('2023-02-29T10:00:00Z')).toBeNaN();
    expect(parseTimeMs('2023-02-29T10:00:00Z')).toBeNaN();
  });
});

describe('parseTimeMs fast path', () => {
  // The reference: Date.parse for whole milliseconds, then the digits it drops.
  const reference = (s: string): number => {
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) return NaN;
    const dot = s.indexOf('.', 19);
    if (dot < 0) return ms;
    // The fraction's digits after its first three (none when it has three or fewer: the digits of
    // an offset after it are no fraction).
    let end = dot + 1;
    while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) end++;
    let frac = 0;
    let scale = 0.1;
    for (let i = dot + 4; i < end; i++) {
      frac += (s.charCodeAt(i) - 48) * scale;
      scale /= 10;
    }
    return ms + frac;
  };
  it('equals Date.parse plus sub-millisecond digits for every shape the API server writes', () => {
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    fc.assert(
      fc.property(
        // Every year RFC 3339 writes (Date.UTC alone reads 0-99 as 1900-1999).
        fc.oneof(fc.integer({ min: 1970, max: 2200 }), fc.integer({ min: 0, max: 9999 })),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        fc.stringMatching(/^(\.[0-9]{1,9})?$/),
        fc.constantFrom('Z', '+00:00', '+02:00', ''),
        (y, mo, d, h, mi, se, frac, zone) => {
          const s = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(se)}${frac}${zone}`;
          // RFC 3339 needs an offset (Date.parse would read local time), and the day must exist
          // (Date.parse rolls 2026-02-30 over into March).
          const day = new Date(Date.UTC(2000, mo - 1, d));
          day.setUTCFullYear(y, mo - 1, d);
          const exists = day.getUTCDate() === d;
          const want = zone !== '' && exists ? reference(s) : NaN;
          const got = parseTimeMs(s);
          if (Number.isNaN(want)) expect(got).toBeNaN();
          else expect(got).toBe(want);
        },
      ),
      { numRuns: 3000 },
    );
  });
  it.each(['2026-02-30T00:00:00Z', '2024-02-30T00:00:00Z', '2100-02-29T00:00:00Z', '2026-06-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T10:60:00Z', '2026-01-01T10:00:60Z', '2026-01-01T00:00:00.Z', '2026-01-01T00:00:00ZZ', '2026-01-01T00:00:00+24:00', '１２３４-01-01T00:00:00Z', '0100-02-29T00:00:00Z'])('%s is not a timestamp (a day or time that does not exist, or not RFC 3339)', (s) => {
    expect(parseTimeMs(s)).toBeNaN();
  });
  it.each(['0000-02-29T00:00:00Z', '0099-12-31T23:59:59Z', '0001-01-01T00:00:00.000001Z', '2024-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '2026-01-31T23:59:59.999999Z', '2026-01-01 00:00:00Z', '2026-01-01t00:00:00z', '2026-03-02T12:00:00.5+02:00'])('%s parses as Date.parse does', (s) => {
    expect(parseTimeMs(s)).toBe(reference(s));
  });
});
