// The pre-filter skips JSON.parse for lines that cannot match; results must equal the unfiltered path.
import { describe, it, expect } from 'vitest';
import { compilePrefilter, prefilterText } from '../../src/filter/prefilter.js';
import { runCli } from '../helpers.js';
import { Rng } from '../../src/gen/rng.js';

describe('pre-filter', () => {
  it.each([
    [{ user: ['alice@example.com'] }, '{"user":{"username":"alice@example.com"}}', true],
    [{ user: ['alice@example.com'] }, '{"user":{"username":"bob@example.com"}}', false],
    [{ user: ['system:serviceaccount:ci:*'] }, '{"user":{"username":"system:serviceaccount:ci:deployer"}}', true],
    [{ verb: ['get', 'list'] }, '{"verb":"list"}', true],
    [{ verb: ['get', 'list'], namespace: ['prod'] }, '{"verb":"list","objectRef":{"namespace":"staging"}}', false],
    [{ resource: ['deployments.apps'] }, '{"objectRef":{"resource":"deployments","apiGroup":"apps"}}', true],
    // JSON inside a string (AKS properties.log): quotes are escaped, unquoted values still appear.
    [{ user: ['aksService'], verb: ['get'] }, '{"properties":{"log":"{\\"verb\\":\\"get\\",\\"user\\":{\\"username\\":\\"aksService\\"}}"}}', true],
  ])('%j on %s → %s', (o, line, want) => {
    expect(prefilterText(compilePrefilter(o)!, line)).toBe(want);
  });

  it.each([
    [{}],
    [{ user: ['a?b'] }], // literal run too short
    [{ name: ['web/1'] }], // "/" may be escaped as \/ in JSON
    [{ user: ['émile'] }], // may be \u-escaped
    [{ denied: true, status: ['4xx'] }], // not text checks
  ])('does not pre-check what it cannot check safely: %j', (o) => {
    expect(compilePrefilter(o)).toBeNull();
  });

  it('seeded random filters: with and without the pre-filter, the same records, on native and provider-wrapped input', async () => {
    const rng = new Rng(7);
    const users = ['alice@example.com', 'bob@example.com', 'system:serviceaccount:apps:*', 'system:node:*', 'nobody'];
    const verbs = ['get', 'list', 'delete', 'patch', 'update', 'watch'];
    const resources = ['pods', 'pods/exec', 'secrets', 'deployments.apps', 'leases.coordination.k8s.io', 'configmaps'];
    const namespaces = ['staging', 'production', 'kube-system', 'apps'];
    const inputs = ['fixtures/sample', 'fixtures/cloud', 'fixtures/kubectl/commands.jsonl'];
    for (let i = 0; i < 12; i++) {
      const flags: string[] = [];
      if (rng.chance(0.6)) flags.push('--user', rng.pick(users));
      if (rng.chance(0.6)) flags.push('--verb', `${rng.pick(verbs)},${rng.pick(verbs)}`);
      if (rng.chance(0.5)) flags.push('--resource', rng.pick(resources));
      if (rng.chance(0.4)) flags.push('-n', rng.pick(namespaces));
      const args = ['export', ...inputs, ...flags, '-o', 'jsonl', '-q'];
      const fast = await runCli(args);
      const slow = await runCli([...args, '--no-prefilter']);
      expect(fast.stdout, flags.join(' ')).toBe(slow.stdout);
      const a = JSON.parse((await runCli(['summary', ...inputs, ...flags, '-o', 'json', '-q'])).stdout).input;
      const b = JSON.parse((await runCli(['summary', ...inputs, ...flags, '-o', 'json', '-q', '--no-prefilter'])).stdout).input;
      expect({ ...a, files: undefined, lines: undefined, prefiltered: undefined, events: undefined, requests: undefined, duplicates: undefined, skipped: undefined }).toEqual({ ...b, files: undefined, lines: undefined, prefiltered: undefined, events: undefined, requests: undefined, duplicates: undefined, skipped: undefined });
      expect(a.used).toBe(b.used);
      expect(a.lines).toBe(b.lines);
      expect(b.prefiltered).toBe(0);
    }
  });
});

// The guarantee, as a property: the pre-filter only ever skips a line that a full parse would also
// skip. Lines are generated with any character of any string field possibly written as a \uXXXX
// escape (JSON allows it; `"\u0061lice"` is `alice`), natively and wrapped as JSON in a string
// (AKS `properties.log`, CloudWatch `message`), which escapes the escapes once more.
describe('pre-filter property: never skips a line a full parse keeps', () => {
  // Deferred imports keep this block self-contained.
  const load = async () => ({
    ...(await import('../../src/normalize/index.js')),
    ...(await import('../../src/filter/index.js')),
    ...(await import('../../src/ingest/containers.js')),
  });
  const fcm = import('fast-check');

  /** JSON.stringify, then each character of each string value escaped with probability p. */
  function escapeJson(v: unknown, rnd: () => number, p: number): string {
    if (typeof v === 'string') {
      let out = '"';
      for (const ch of v) {
        const c = ch.charCodeAt(0);
        if (rnd() < p) out += '\\u' + c.toString(16).padStart(4, '0');
        else out += JSON.stringify(ch).slice(1, -1);
      }
      return out + '"';
    }
    if (Array.isArray(v)) return '[' + v.map((x) => escapeJson(x, rnd, p)).join(',') + ']';
    if (v !== null && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => escapeJson(k, rnd, p) + ':' + escapeJson(x, rnd, p)).join(',') + '}';
    return JSON.stringify(v);
  }

  it('holds on generated lines with escapes, native and wrapped', async () => {
    const fc = await fcm;
    const { normalizeValue, compileFilter, containerOf } = await load();
    const users = ['alice', 'bob@example.com', 'system:serviceaccount:ci:deployer', 'system:node:n1', 'émile'];
    const verbs = ['get', 'list', 'delete', 'create', 'watch'];
    const resources = ['pods', 'secrets', 'deployments', 'leases'];
    const namespaces = ['default', 'kube-system', 'prod-1'];
    const names = ['web', 'db', 'a.b-c'];
    const ids = ['id-1', 'id-2', 'f00d-0001'];
    const filters = fc.record(
      {
        user: fc.subarray([...users, 'system:serviceaccount:ci:*', 'ali*', '*example.com'], { minLength: 1, maxLength: 2 }),
        verb: fc.subarray(verbs, { minLength: 1, maxLength: 2 }),
        resource: fc.subarray([...resources, 'deployments.apps', 'pods/log'], { minLength: 1, maxLength: 2 }),
        namespace: fc.subarray(namespaces, { minLength: 1, maxLength: 1 }),
        name: fc.subarray([...names, 'we*'], { minLength: 1, maxLength: 1 }),
        auditID: fc.subarray(ids, { minLength: 1, maxLength: 1 }),
      },
      { requiredKeys: [] },
    );
    const events = fc.record({
      user: fc.constantFrom(...users),
      verb: fc.constantFrom(...verbs),
      resource: fc.constantFrom(...resources),
      namespace: fc.constantFrom(...namespaces),
      name: fc.constantFrom(...names),
      auditID: fc.constantFrom(...ids),
      wrap: fc.constantFrom('native', 'aks', 'cloudwatch', 'eventlist'),
      body: fc.boolean(),
      p: fc.constantFrom(0, 0.05, 0.3, 1),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(filters, events, (f, e) => {
        const ev = {
          kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: e.auditID, stage: 'ResponseComplete',
          requestURI: `/apis/apps/v1/namespaces/${e.namespace}/${e.resource}/${e.name}?a=1&b=2`, verb: e.verb,
          user: { username: e.user, groups: ['system:authenticated'] }, sourceIPs: ['10.0.0.1'], userAgent: 'kubectl/v1.30.0',
          objectRef: { resource: e.resource, namespace: e.namespace, name: e.name, apiGroup: e.resource === 'deployments' ? 'apps' : '', apiVersion: 'v1' },
          responseStatus: { code: 200 }, requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:00:00.001000Z',
          // A body with arrays of objects and wrapper-like keys (a pod's projected volume has `items`).
          ...(e.body ? { requestObject: { kind: 'Pod', spec: { volumes: [{ projected: { sources: [{ configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } }] } }, responseObject: { kind: 'PodList', items: [{ metadata: { name: e.name } }] } } : {}),
        };
        let x = e.seed;
        const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 0) / 4294967296;
        const inner = escapeJson(ev, rnd, e.p);
        const line =
          e.wrap === 'native' ? inner
          : e.wrap === 'aks' ? escapeJson({ category: 'kube-audit', properties: { log: inner, stream: 'stdout' } }, rnd, e.p / 2)
          : e.wrap === 'eventlist' ? `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[${inner},${inner}]}`
          : escapeJson({ id: '1', timestamp: 1, message: inner }, rnd, e.p / 2);
        const pre = compilePrefilter(f);
        if (pre === null || prefilterText(pre, line)) return;
        // Skipped: a full parse must not keep it, and it is no wrapper (whose events the accounting counts).
        const v = JSON.parse(line);
        expect(containerOf(v), line).toBeNull();
        const items = [v];
        const keep = compileFilter(f);
        for (const item of items) {
          const r = normalizeValue(item, '');
          if (typeof r === 'object' && 'verb' in r) expect(keep(r), `${JSON.stringify(f)} skipped ${line}`).toBe(false);
        }
      }),
      { numRuns: 4000, seed: 4242 },
    );
  });

  it('parses a line whose value is written with escapes (--user alice finds "\\u0061lice")', () => {
    const p = compilePrefilter({ user: ['alice'] })!;
    const pre = (line: string): boolean => prefilterText(p, line);
    expect(pre('{"user":{"username":"\\u0061lice"}}')).toBe(true);
    expect(pre('{"properties":{"log":"{\\"user\\":{\\"username\\":\\"\\\\u0061lice\\"}}"}}')).toBe(true);
    // A backslash written as an escape inside JSON-in-a-string can start an escape of its own.
    expect(pre('{"message":"{\\"user\\":{\\"username\\":\\"\\u005cu0061lice\\"}}"}')).toBe(true);
    // Escapes of characters no needle holds (Go writes & < > as \u0026 \u003c \u003e) do not stop a skip.
    expect(pre('{"user":{"username":"bob"},"requestURI":"/api/v1/pods?limit=500\\u0026watch=1"}')).toBe(false);
  });
});

// The wrapper decision (issue 19): a line is parsed for the accounting of a wrapper's events only
// when its top-level shape may be one (containerOf), never because a body holds arrays of objects.
describe('pre-filter: wrappers are told by the top-level keys', () => {
  const p = compilePrefilter({ user: ['alice'] })!;
  const pre = (line: string): boolean => prefilterText(p, line);
  const pod = { kind: 'Pod', spec: { volumes: [{ projected: { sources: [{ configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } }], containers: [{ name: 'app', env: [{ name: 'A', value: 'b' }] }] } };
  const event = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ kind: 'Event', level: 'RequestResponse', verb: 'create', user: { username: 'bob' }, requestObject: pod, responseObject: { kind: 'PodList', items: [pod] }, ...extra });

  it.each([
    ['an event whose bodies hold arrays of objects and `items`', JSON.stringify(event()), false],
    ['the same with spaces around the colons', JSON.stringify(event(), null, 1).replace(/\n/g, ' '), false],
    ['a one-line EventList', JSON.stringify({ kind: 'EventList', items: [event()] }), true],
    ['a CloudWatch subscription payload (logEvents after other keys)', JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '1', logGroup: 'g', logStream: 's', subscriptionFilters: ['f'], logEvents: [{ id: '1', timestamp: 1, message: '{}' }] }), true],
    ['Azure records', JSON.stringify({ records: [] }), true],
    ['a Log Analytics table', JSON.stringify({ name: 't', columns: [{ name: 'Verb' }], rows: [['get']] }), true],
    ['a top-level array', JSON.stringify([event()]), true],
    ['a wrapper key before the verb (containerOf then reads it as an event; parsed anyway)', JSON.stringify({ items: [], verb: 'get' }), true],
    ['an escaped key (may spell a wrapper key)', '{"\\u0069tems":[]}', true],
    ['a value after the object ({…}{…}, read as a stream of values)', '{"user":{"username":"bob"}}{"logEvents":[]}', true],
    ['a GKE entry (protoPayload first)', JSON.stringify({ protoPayload: { methodName: 'io.k8s.core.v1.pods.get' }, entries: [] }), false],
    ['malformed', '{"user":{"username":"bob"}', false],
  ])('%s → parsed: %s', (_what, line, want) => {
    expect(pre(line)).toBe(want);
  });

  it('a wrapper is read per event with and without the pre-filter (the accounting adds up the same)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'kaudit-prefilter-'));
    const f = join(dir, 'mixed.log');
    const wrapper = { messageType: 'DATA_MESSAGE', logEvents: [1, 2, 3].map((i) => ({ id: String(i), timestamp: i, message: JSON.stringify({ ...event(), auditID: `w${i}`, stage: 'ResponseComplete' }) })) };
    writeFileSync(f, [JSON.stringify({ ...event(), auditID: 'a' }), JSON.stringify(wrapper), JSON.stringify({ ...event({ user: { username: 'alice' } }), auditID: 'b' })].join('\n') + '\n');
    const a = JSON.parse((await runCli(['summary', f, '--user', 'alice', '-o', 'json', '-q'])).stdout).input;
    const b = JSON.parse((await runCli(['summary', f, '--user', 'alice', '-o', 'json', '-q', '--no-prefilter'])).stdout).input;
    expect(a.lines).toBe(5);
    expect(b.lines).toBe(5);
    expect(a.prefiltered).toBe(1);
    expect([a.used, b.used]).toEqual([1, 1]);
  });
});

// The fast path of the wrapper decision (issue 19): a line in the API server's own key order
// (k8s.io/apiserver pkg/apis/audit/v1/types.go Event: kind, apiVersion, level, auditID, stage,
// requestURI, verb) is answered without reading its keys one by one; the answer must be the scan's
// on every line: other key orders, wrapper keys anywhere, escapes and quotes in values, whitespace,
// lines cut anywhere, a value after the object.
describe('pre-filter: the canonical key order fast path answers as the scan does', () => {
  it('on generated lines', async () => {
    const fc = await import('fast-check');
    const { mayWrap, mayWrapByScan, canonicalEvent } = await import('../../src/filter/prefilter.js');
    const keys = ['kind', 'apiVersion', 'level', 'auditID', 'stage', 'requestURI', 'verb', 'user', 'items', 'records', 'logEvents', 'protoPayload', 'rows'];
    const value = fc.oneof(
      { arbitrary: fc.constantFrom('Event', 'audit.k8s.io/v1', 'Metadata', 'RequestResponse', 'ResponseComplete', '/api/v1/pods?a=1&b=2', 'get'), weight: 6 },
      { arbitrary: fc.string({ unit: fc.constantFrom('a', '"', '\\', '/', '\u0001', 'é', '{', '[', ',', ':', '\u2028') }), weight: 1 },
    );
    let fast = 0;
    fc.assert(
      fc.property(
        fc.record({
          vals: fc.array(value, { minLength: 7, maxLength: 7 }),
          order: fc.constantFrom('canonical', 'canonical', 'shuffled', 'inserted'),
          perm: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 0, maxLength: 4 }),
          raw: fc.boolean(),
          cut: fc.option(fc.integer({ min: 0, max: 400 }), { freq: 4 }),
          spaces: fc.boolean(),
          after: fc.constantFrom('', '', ' {"items":[]}', '[1]', 'x'),
        }),
        (g) => {
          const canonical = ['kind', 'apiVersion', 'level', 'auditID', 'stage', 'requestURI', 'verb'];
          let ks = canonical.slice();
          if (g.order === 'shuffled') for (const p of g.perm) ks.push(ks.splice(p % ks.length, 1)[0]!);
          if (g.order === 'inserted') for (const p of g.perm) ks.splice(p % (ks.length + 1), 0, keys[p]!);
          const vals = g.vals.slice();
          if (g.order === 'canonical' && !g.raw) Object.assign(vals, ['Event', 'audit.k8s.io/v1']);
          // Values as JSON writes them, or raw (quotes, backslashes and control characters unescaped).
          const str = (v: string): string => (g.raw ? `"${v}"` : JSON.stringify(v));
          const sep = g.spaces ? ' , ' : ',';
          let line = '{' + ks.map((k, i) => `"${k}":${k === 'items' || k === 'records' ? '[]' : str(vals[i % 7]!)}`).join(sep) + ',"user":{"username":"bob"}}' + g.after;
          if (g.cut !== null) line = line.slice(0, g.cut);
          const b = Buffer.from(line, 'utf8');
          if (canonicalEvent(b, 0, b.length)) fast++;
          expect(mayWrap(b, 0, b.length), line).toBe(mayWrapByScan(b, 0, b.length));
        },
      ),
      { numRuns: 20000, seed: 1919 },
    );
    // The fast path was taken often enough for the comparison to mean something.
    expect(fast).toBeGreaterThan(1000);
  });

  it('takes the fast path on the API server lines of the bundled sample and answers false there', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { canonicalEvent, mayWrap } = await import('../../src/filter/prefilter.js');
    const dir = 'fixtures/sample';
    let n = 0;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
      for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) {
        const b = Buffer.from(line, 'utf8');
        if (canonicalEvent(b, 0, b.length)) {
          n++;
          expect(mayWrap(b, 0, b.length)).toBe(false);
        }
      }
    }
    expect(n).toBeGreaterThan(100);
  });
});
