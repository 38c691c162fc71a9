// SARIF output against the OASIS SARIF 2.1.0 schema (vendored in test/schemas), and its locations
// against the inputs: every result names the input file and line of its event (or the item of a
// document input), or the file, document and line of the RBAC object; never a made-up location.
// SARIF 2.1.0 §3.28 (location), §3.29 (physicalLocation), §3.30 (region), §3.4.3 (URIs).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { sarifValidator } from './formats.js';
import { fileUri } from '../../src/render/sarif.js';
import { visible } from '../../src/render/sanitize.js';
import { hostileEvents, hostileRbac } from '../hostile.js';

interface Loc {
  physicalLocation?: { artifactLocation: { uri: string }; region?: { startLine: number }; properties?: { item?: number; document?: number } };
  logicalLocations?: { name: string }[];
  message?: { text: string };
}

function sarif(stdout: string): { results: { ruleId: string; message: { text: string }; locations: Loc[] }[] } {
  const doc = JSON.parse(stdout);
  const validate = sarifValidator();
  expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  return doc.runs[0];
}

function pathOf(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : decodeURIComponent(uri);
}

function lineOf(uri: string, line: number): string {
  const p = pathOf(uri);
  const raw = readFileSync(p);
  const text = (p.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  return text.split('\n')[line - 1] ?? '';
}

describe('SARIF locations', () => {
  it('drift: grants cite the binding (file, document, line), requests the line of the event', async () => {
    const r = await runCli(['drift', '--rbac', 'fixtures/drift/rbac.yaml', 'fixtures/drift/audit.log', '-o', 'sarif', '-q']);
    const run = sarif(r.stdout);
    expect(run.results.length).toBeGreaterThan(5);
    for (const res of run.results) {
      expect(res.locations.length).toBeGreaterThan(0);
      for (const l of res.locations) {
        if (!l.physicalLocation) continue;
        const { uri } = l.physicalLocation.artifactLocation;
        const line = l.physicalLocation.region!.startLine;
        expect(line).toBeGreaterThan(0);
        if (uri.endsWith('rbac.yaml')) {
          // The binding named in the logical location starts there (its document, at that line).
          const name = /^(?:Cluster)?RoleBinding (?:[^/ ]+\/)?(\S+) →/.exec(l.logicalLocations![0]!.name)![1]!;
          const text = readFileSync('fixtures/drift/rbac.yaml', 'utf8').split('\n');
          const doc = text.slice(line - 1, line + 5).join('\n');
          expect(doc).toMatch(/kind: (Cluster)?RoleBinding/);
          expect(doc).toContain(`name: ${name}`);
          expect(l.physicalLocation.properties?.document).toBe(1);
        } else {
          expect(uri).toBe('fixtures/drift/audit.log');
          const ev = JSON.parse(lineOf(uri, line));
          expect(res.message.text).toContain(ev.user.username);
        }
      }
    }
    // The uncovered request of the hand-worked fixture is on line 13.
    const uncovered = run.results.find((x) => x.ruleId === 'KAUDIT-D003')!;
    expect(uncovered.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'fixtures/drift/audit.log' }, region: { startLine: 13 } });
  });

  it('anomalies: each result cites the line of its first request, in whichever input it is (gzip included)', async () => {
    const r = await runCli(['anomalies', 'fixtures/sample', '--train-until', '2026-03-02T12:00:00Z', '-o', 'sarif', '-q']);
    const run = sarif(r.stdout);
    expect(run.results.length).toBeGreaterThan(3);
    const files = new Set<string>();
    for (const res of run.results) {
      const phys = res.locations[0]!.physicalLocation!;
      files.add(phys.artifactLocation.uri);
      const ev = JSON.parse(lineOf(phys.artifactLocation.uri, phys.region!.startLine));
      expect(res.message.text).toContain(ev.auditID);
    }
    expect(files.size).toBe(2);
  });

  it('a JSON document input is cited by item, standard input without a file', async () => {
    const events = [event({ auditID: 'e1' }), event({ auditID: 'e2', verb: 'create', objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'p' } })];
    const dir = writeFiles(tmpDir(), { 'list.json': JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events }, null, 2) });
    const doc = sarif((await runCli(['anomalies', join(dir, 'list.json'), '-o', 'sarif', '-q'])).stdout);
    const exec = doc.results.find((x) => x.message.text.includes('e2'))!;
    expect(exec.locations[0]!.physicalLocation!.region).toBeUndefined();
    expect(exec.locations[0]!.physicalLocation!.properties).toEqual({ item: 2 });
    expect(pathOf(exec.locations[0]!.physicalLocation!.artifactLocation.uri)).toBe(join(dir, 'list.json'));
    const piped = sarif((await runCli(['anomalies', '-o', 'sarif', '-q'], { stdin: jsonl(events) })).stdout);
    const fromStdin = piped.results.find((x) => x.message.text.includes('e2'))!;
    expect(fromStdin.locations[0]!.physicalLocation).toBeUndefined();
    expect(fromStdin.locations[0]!.message!.text).toBe('standard input line 2');
  });

  it('--jobs gives the same SARIF and JSON, with lines counted from the start of the file', async () => {
    const dir = tmpDir();
    // 300 unauthenticated requests (drift skips them) fill many 4 KB ranges before the hostile log,
    // so every cited request is read by a worker from a range far into the file.
    const filler = Array.from({ length: 300 }, (_, k) => event({ auditID: `f${k}`, responseStatus: { code: 401 } }));
    const evs = [...filler, ...hostileEvents()];
    writeFiles(dir, { 'audit.log': jsonl(evs), 'rbac.yaml': hostileRbac() });
    const before = process.env.KAUDIT_MIN_RANGE_BYTES;
    process.env.KAUDIT_MIN_RANGE_BYTES = '4096';
    try {
      for (const format of ['sarif', 'json']) {
        const args = ['drift', '--rbac', join(dir, 'rbac.yaml'), join(dir, 'audit.log'), '-o', format, '-q'];
        const one = await runCli([...args, '--jobs', '1']);
        const many = await runCli([...args, '--jobs', '3']);
        expect(many.stdout).toBe(one.stdout);
        if (format === 'sarif') {
          const cited = sarif(many.stdout).results.flatMap((x) => x.locations.filter((l) => l.physicalLocation?.artifactLocation.uri.endsWith('audit.log')).map((l) => [x.message.text, l.physicalLocation!.region!.startLine] as const));
          expect(cited.length).toBeGreaterThan(3);
          // The cited line is a request of the subject the result is about (an impersonation check
          // is the impersonator's: the user of the event, not the impersonated one).
          for (const [message, n] of cited) {
            const ev = JSON.parse(lineOf(fileUri(join(dir, 'audit.log')), n));
            const who = message.includes(' × impersonation check ') ? ev.user.username : (ev.impersonatedUser?.username ?? ev.user.username);
            expect(message).toContain(`User ${visible(who)}:`);
          }
          expect(Math.min(...cited.map(([, n]) => n))).toBeGreaterThan(300);
        }
      }
    } finally {
      if (before === undefined) delete process.env.KAUDIT_MIN_RANGE_BYTES;
      else process.env.KAUDIT_MIN_RANGE_BYTES = before;
    }
  });

  it.each([
    ['logs/audit.log', 'logs/audit.log'],
    ['logs/audit 1.log', 'logs/audit%201.log'],
    ['a#b?c%.log', 'a%23b%3Fc%25.log'],
    [resolve('/tmp/x y/a.log'), 'file:///tmp/x%20y/a.log'],
  ])('the URI of %j is %j', (path, uri) => {
    expect(fileUri(path)).toBe(uri);
  });
});
