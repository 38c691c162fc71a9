// Sharded runs merge exactly: for every analysis, the states of any split of the inputs (at random
// line points, by file, by --shard I/N with byte ranges), merged in any order, print the bytes one
// pass over all the inputs prints. Plus the checks that refuse what cannot merge exactly.
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event } from '../helpers.js';
import { planShard } from '../../src/parallel/plan.js';
import { expandInputs } from '../../src/ingest/sources.js';

const root = join(__dirname, '..', '..');
const fixtures = join(root, 'fixtures');
const rbac = join(fixtures, 'sample-rbac');
const sampleLog = readFileSync(join(fixtures, 'sample', 'audit.log'), 'utf8').split('\n').filter(Boolean);
const NOW = Date.parse('2026-04-01T00:00:00Z');

/** Each analysis with the options it is compared under. */
const COMMANDS: { name: string; args: string[] }[] = [
  { name: 'summary', args: ['--top', '5'] },
  { name: 'rbac-gen', args: ['--explain'] },
  { name: 'drift', args: ['--rbac', rbac, '--suggest', '-o', 'json'] },
  { name: 'baseline', args: [] },
  { name: 'anomalies', args: ['--train-until', '2026-03-03', '--denied-burst', '3/1', '-o', 'json'] },
  { name: 'compliance', args: ['--rbac', rbac, '--now', '2026-04-01T00:00:00Z', '-o', 'json'] },
  { name: 'commands', args: ['-o', 'csv', '--view', 'api-calls'] },
];

/**
 * One input of every format (the cloud exports hold the same events, so each gets its own cluster
 * label). One GKE form only: GKE entries name their own cluster, which a label does not replace, so
 * two GKE forms would be the same requests of one cluster in two inputs (which a merge refuses).
 */
const CLOUD = ['aks-loganalytics.csv', 'aks-records.json', 'eks-subscription.json.gz', 'eks-tail.txt', 'gke.jsonl', 'native.jsonl'];

/**
 * Inputs in input order (arguments, each a file or NAME=file): cloud exports of every format, the
 * sample's gzipped day, the sample's other day cut into files at the given line numbers, and
 * hand-written edge cases (impersonation, hostile strings, a request whose stages span two lines).
 */
function inputs(cuts: number[]): string[] {
  const dir = tmpDir();
  mkdirSync(join(dir, 'a-cloud'));
  const args: string[] = [];
  CLOUD.forEach((f, i) => {
    copyFileSync(join(fixtures, 'cloud', f), join(dir, 'a-cloud', f));
    args.push(`c${i}=${join(dir, 'a-cloud', f)}`);
  });
  copyFileSync(join(fixtures, 'sample', 'audit-2026-03-02T23-59-59.999.log.gz'), join(dir, 'b-day1.log.gz'));
  args.push(join(dir, 'b-day1.log.gz'));
  mkdirSync(join(dir, 'c-day2'));
  const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b).filter((c) => c > 0 && c < sampleLog.length), sampleLog.length];
  for (let i = 1; i < points.length; i++) {
    const f = join(dir, 'c-day2', `part-${String(i).padStart(3, '0')}.log`);
    writeFileSync(f, sampleLog.slice(points[i - 1], points[i]).join('\n') + '\n');
    args.push(f);
  }
  copyFileSync(join(fixtures, 'mini', 'mini.jsonl'), join(dir, 'd-mini.jsonl'));
  args.push(join(dir, 'd-mini.jsonl'));
  return args;
}

async function onePass(name: string, args: string[], ins: string[]): Promise<string> {
  const r = await runCli([name, ...ins, ...args, '-q'], { now: NOW });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

async function save(name: string, args: string[], inputsArgs: string[], file: string): Promise<void> {
  const r = await runCli([name, ...inputsArgs, ...args, '--save-state', file, '-q'], { now: NOW });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('');
}

async function merge(name: string, files: string[], extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['merge', '--command', name, ...extra, ...files, '-q'], { now: NOW });
}

function shuffle<T>(a: T[], rnd: () => number): T[] {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [b[i], b[j]] = [b[j]!, b[i]!];
  }
  return b;
}

const splits = fc.record({
  cuts: fc.array(fc.integer({ min: 1, max: sampleLog.length - 1 }), { minLength: 0, maxLength: 5 }),
  shards: fc.integer({ min: 2, max: 9 }),
  seed: fc.integer(),
  gz: fc.boolean(),
});

describe('merged states equal one pass, whatever the split (property)', () => {
  for (const { name, args } of COMMANDS) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(splits, async ({ cuts, shards, seed, gz }) => {
          const ins = inputs(cuts);
          const expected = await onePass(name, args, ins);
          let x = seed >>> 0;
          const rnd = (): number => ((x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x9e3779b9) >>> 0) / 2 ** 32);
          const ext = gz ? '.json.gz' : '.json';
          const states = tmpDir();
          // By file: every input its own state.
          const byFile = ins.map((_, i) => join(states, `file-${i}${ext}`));
          for (let i = 0; i < ins.length; i++) await save(name, args, [ins[i]!], byFile[i]!);
          const m1 = await merge(name, shuffle(byFile, rnd));
          expect(m1.stderr).toBe('');
          expect(m1.stdout).toBe(expected);
          // By --shard I/N: whole files and line-aligned byte ranges of the JSON-lines files.
          const byShard = Array.from({ length: shards }, (_, i) => join(states, `shard-${i}${ext}`));
          for (let i = 0; i < shards; i++) await save(name, args, [...ins, '--shard', `${i}/${shards}`], byShard[i]!);
          const m2 = await merge(name, shuffle(byShard, rnd));
          expect(m2.stderr).toBe('');
          expect(m2.stdout).toBe(expected);
        }),
        { numRuns: 3, seed: 22 + name.length },
      );
    });
  }
});

describe('a state of everything, saved and merged alone, round-trips every analysis', () => {
  for (const { name, args } of COMMANDS) {
    it(name, async () => {
      const ins = inputs([]);
      const file = join(tmpDir(), 'all.json');
      await save(name, args, ins, file);
      expect((await merge(name, [file])).stdout).toBe(await onePass(name, args, ins));
    });
  }
});

describe('--shard I/N', () => {
  it('cuts the inputs into contiguous shares that cover every byte once, at line starts', async () => {
    const sources = await expandInputs(inputs([500, 1500]));
    for (const n of [1, 2, 3, 5, 16, 64]) {
      const seen: { path: string; start: number; end: number }[] = [];
      for (let i = 0; i < n; i++) {
        for (const s of await planShard(sources, i, n)) seen.push({ path: s.path, start: s.start ?? 0, end: s.end ?? s.size });
      }
      // In shard order the shares are the inputs in order, each byte once.
      const expected = sources.map((s) => s.path);
      expect([...new Set(seen.map((s) => s.path))]).toEqual(expected);
      for (const src of sources) {
        const parts = seen.filter((s) => s.path === src.path);
        expect(parts[0]!.start).toBe(0);
        expect(parts.at(-1)!.end).toBe(src.size);
        for (let k = 1; k < parts.length; k++) expect(parts[k]!.start).toBe(parts[k - 1]!.end);
        const text = readFileSync(src.path);
        for (const p of parts) if (p.start > 0) expect(text[p.start - 1], `${src.path}@${p.start}`).toBe(10);
      }
      // gzip files and JSON documents are never cut.
      for (const s of seen.filter((s) => /\.(gz|json|csv|txt)$/.test(s.path))) expect([s.start, s.end]).toEqual([0, statSync(s.path).size]);
    }
  });

  it('is the same share on every machine that lists the same inputs', async () => {
    const ins = inputs([700]);
    const a = await planShard(await expandInputs(ins), 2, 5);
    const b = await planShard(await expandInputs(ins), 2, 5);
    expect(a).toEqual(b);
  });

  it('needs --save-state, and I < N', async () => {
    const s = join(fixtures, 'sample');
    const a = await runCli(['summary', s, '--shard', '0/2']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--shard needs --save-state FILE');
    const b = await runCli(['summary', s, '--shard', '2/2', '--save-state', join(tmpDir(), 'x.json')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--shard: "2/2" is not I/N with 0 ≤ I < N');
  });
});

describe('audit merge refuses what it cannot merge exactly', () => {
  let ins: string[] = [];
  let states: string[] = [];
  beforeAll(async () => {
    ins = inputs([1000, 2000]);
    const out = tmpDir();
    states = [0, 1, 2].map((i) => join(out, `s${i}.json`));
    for (let i = 0; i < 3; i++) await save('summary', [], [...ins, '--shard', `${i}/3`], states[i]!);
  });

  it('a missing or repeated shard', async () => {
    const a = await merge('summary', [states[0]!, states[2]!]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('missing shard 1/3 of 3');
    const copy = join(tmpDir(), 'copy-of-s1.json');
    copyFileSync(states[1]!, copy);
    const b = await merge('summary', [states[0]!, states[1]!, copy, states[2]!]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('shard 1/3 is given twice');
  });

  it('another command, other options or other filters', async () => {
    const a = await merge('drift', states);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('a state of audit summary, not of audit drift');
    const b = await merge('summary', states, ['--top', '3']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('saved with other options of audit summary');
    const c = await merge('summary', states, ['--user', 'alice@example.com']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('saved with other filters');
  });

  it('but takes other output options', async () => {
    const r = await merge('summary', states, ['-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).kind).toBe('kaudit.summary');
    expect(r.stdout).toBe(await onePass('summary', ['-o', 'json'], ins));
  });

  it('the same input in two states', async () => {
    const out = tmpDir();
    const log = ins.at(-1)!;
    await save('summary', [], [log], join(out, 'a.json'));
    await save('summary', [], [log], join(out, 'b.json'));
    const r = await merge('summary', [join(out, 'a.json'), join(out, 'b.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/d-mini\.jsonl is read by two states/);
  });

  it('the same events in two inputs (one pass would count them once)', async () => {
    const d = writeFiles(tmpDir(), { 'a.log': JSON.stringify(event({ auditID: 'dup-1' })) + '\n', 'b.log': JSON.stringify(event({ auditID: 'dup-1' })) + '\n' });
    const out = tmpDir();
    await save('summary', [], [join(d, 'a.log')], join(out, 'a.json'));
    await save('summary', [], [join(d, 'b.log')], join(out, 'b.json'));
    const r = await merge('summary', [join(out, 'b.json'), join(out, 'a.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds requests that an earlier state already completed');
  });

  it('a truncated or foreign file', async () => {
    const out = tmpDir();
    const text = readFileSync(states[0]!, 'utf8').split('\n');
    writeFileSync(join(out, 'cut.json'), text.slice(0, 2).join('\n') + '\n');
    const a = await merge('summary', [join(out, 'cut.json'), states[1]!, states[2]!]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('the state file is truncated');
    writeFileSync(join(out, 'other.json'), '{"kind":"kaudit.summary"}\n');
    const b = await merge('summary', [join(out, 'other.json')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('not a kaudit state file');
  });

  it('a state written by other code', async () => {
    const out = tmpDir();
    const lines = readFileSync(states[0]!, 'utf8').split('\n');
    const h = JSON.parse(lines[0]!);
    lines[0] = JSON.stringify({ ...h, build: '0000000000000000' });
    writeFileSync(join(out, 'old.json'), lines.join('\n'));
    const r = await merge('summary', [join(out, 'old.json'), states[1]!, states[2]!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('run the shards and the merge with the same kaudit');
  });
});

describe('stage collapsing across states', () => {
  it('a watch re-stamped across two states keeps its ResponseStarted latency, and a late early stage is absorbed: the one-pass bytes', async () => {
    const T = (ms: number) => new Date(Date.parse('2026-03-03T10:00:00Z') + ms).toISOString();
    const watch = { auditID: 'w', verb: 'watch', requestURI: '/api/v1/namespaces/default/pods?watch=true', objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' } };
    const list = { auditID: 'x', verb: 'list', requestURI: '/api/v1/namespaces/default/pods', objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' } };
    const d = writeFiles(tmpDir(), {
      'a.log': [
        event({ ...watch, stage: 'RequestReceived', responseStatus: undefined, requestReceivedTimestamp: T(0), stageTimestamp: T(0) }),
        event({ ...watch, stage: 'ResponseStarted', requestReceivedTimestamp: T(0), stageTimestamp: T(200) }),
        event({ ...list, stage: 'ResponseComplete', requestReceivedTimestamp: T(1000), stageTimestamp: T(1010) }),
      ].map((e) => JSON.stringify(e) + '\n').join(''),
      'b.log': [
        // An early stage of the list, written after its completion, in the other state.
        event({ ...list, stage: 'RequestReceived', responseStatus: undefined, requestReceivedTimestamp: T(1000), stageTimestamp: T(1000) }),
        // The watch's completion, re-stamped (received 50 ms later).
        event({ ...watch, stage: 'ResponseComplete', requestReceivedTimestamp: T(50), stageTimestamp: T(300_000) }),
      ].map((e) => JSON.stringify(e) + '\n').join(''),
    });
    const out = tmpDir();
    for (const [name, args] of [['commands', ['-o', 'csv', '--view', 'api-calls']], ['summary', ['-o', 'json']]] as const) {
      const expected = await onePass(name, [...args], [join(d, 'a.log'), join(d, 'b.log')]);
      if (name === 'commands') expect(expected.split('\n')[1]).toMatch(/,watch,,pods,,default,,1,200,/);
      else expect(JSON.parse(expected).input).toMatchObject({ events: 5, duplicates: 3, requests: 2 });
      await save(name, [...args], [join(d, 'a.log')], join(out, `${name}-a.json`));
      await save(name, [...args], [join(d, 'b.log')], join(out, `${name}-b.json`));
      const m = await merge(name, [join(out, `${name}-b.json`), join(out, `${name}-a.json`)]);
      expect(m.stderr).toBe('');
      expect(m.stdout).toBe(expected);
    }
  });
});

describe('the denied-burst rule across borders', () => {
  it('a burst cut by a shard border is found once, as one pass finds it', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      const t = new Date(Date.parse('2026-03-03T10:00:00Z') + i * 7_000).toISOString();
      lines.push(JSON.stringify(event({ auditID: `d-${i}`, user: { username: 'eve', groups: [] }, verb: 'get', requestURI: '/api/v1/namespaces/default/secrets/x', objectRef: { resource: 'secrets', namespace: 'default', name: 'x', apiVersion: 'v1' }, responseStatus: { code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid' }, requestReceivedTimestamp: t, stageTimestamp: t })));
    }
    const d = writeFiles(tmpDir(), { 'a.log': lines.join('\n') + '\n' });
    const args = ['--denied-burst', '4/1', '-o', 'json'];
    const expected = await onePass('anomalies', args, [d]);
    expect(JSON.parse(expected).findings.find((f: { rule: string }) => f.rule === 'K8S-DENIED-BURST').count).toBeGreaterThan(20);
    for (const n of [2, 3, 7, 13]) {
      const out = tmpDir();
      const files = Array.from({ length: n }, (_, i) => join(out, `s${i}.json`));
      for (let i = 0; i < n; i++) await save('anomalies', args, [d, '--shard', `${i}/${n}`], files[i]!);
      expect((await merge('anomalies', files.reverse())).stdout, `${n} shards`).toBe(expected);
    }
  });
});

describe('saving states', () => {
  it('compliance shares whole files (it reports each input’s SHA-256), other commands cut JSON lines', async () => {
    const ins = inputs([]);
    const out = tmpDir();
    const headerOf = (f: string) => JSON.parse(readFileSync(f, 'utf8').split('\n')[0]!) as { sources: { path: string; start?: number }[]; accounting: { files: { sha256?: string }[] } };
    const ranges = { compliance: 0, summary: 0 };
    for (const name of ['compliance', 'summary'] as const) {
      for (let i = 0; i < 4; i++) {
        const f = join(out, `${name}-${i}.json`);
        await save(name, name === 'compliance' ? ['--rbac', rbac] : [], [...ins, '--shard', `${i}/4`], f);
        const h = headerOf(f);
        ranges[name] += h.sources.filter((s) => s.start !== undefined).length;
        if (name === 'compliance') for (const file of h.accounting.files) expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      }
    }
    expect(ranges.compliance).toBe(0);
    expect(ranges.summary).toBeGreaterThan(0);
  });

  it('refuses stdin and needs inputs', async () => {
    const a = await runCli(['summary', '-', '--save-state', join(tmpDir(), 's.json')], { stdin: '' });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--save-state cannot read stdin');
    const b = await runCli(['merge', '--command', 'summary']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('no state files given');
  });

  it('the state file is checked like every output: never one of the inputs', async () => {
    const d = writeFiles(tmpDir(), { 'a.log': readFileSync(join(fixtures, 'mini', 'mini.jsonl')) });
    const r = await runCli(['summary', join(d, 'a.log'), '--save-state', join(d, 'a.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--save-state: .*a\.log is the input/);
    expect(readFileSync(join(d, 'a.log'), 'utf8')).toBe(readFileSync(join(fixtures, 'mini', 'mini.jsonl'), 'utf8'));
  });

  it('baseline --merge files are merged once, at the merge', async () => {
    const r = await runCli(['baseline', join(fixtures, 'mini'), '--merge', 'x.json', '--save-state', join(tmpDir(), 's.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--merge cannot be combined with --save-state');
  });
});
