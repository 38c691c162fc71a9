// Reading a plain file in chunks whose memory is reused (src/ingest/reader.ts FileChunks, issue 19):
// lines that span one, two or many chunks, byte ranges of --jobs, the pre-filter's searches that
// remember positions per chunk, and the field extractor's unparsed bodies must all give what reading
// the whole text at once gives. The file is several chunks (READ_CHUNK) long, with lines placed
// across every chunk border.
import { describe, it, expect, beforeAll, vi } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import { readSource, READ_CHUNK, type IngestSink } from '../../src/ingest/reader.js';
import { compilePrefilter, prefilterText } from '../../src/filter/prefilter.js';
import { lineStartAfter } from '../../src/parallel/plan.js';
import { Rng } from '../../src/gen/rng.js';
import { event, runCli, tmpDir } from '../helpers.js';
import type { Loc } from '../../src/types.js';

/** A body of about `bytes` bytes (a pod with many env entries), so that lines reach any length. */
function body(rng: Rng, bytes: number): Record<string, unknown> {
  const env: { name: string; value: string }[] = [];
  for (let n = 0; n < bytes; n += 40) env.push({ name: `V${env.length}`, value: 'x'.repeat(rng.int(1, 30)) });
  return { kind: 'Pod', apiVersion: 'v1', spec: { containers: [{ name: 'app', env }] } };
}

let file = '';
let lines: string[] = [];

beforeAll(() => {
  const rng = new Rng(19);
  const verbs = ['get', 'list', 'update', 'delete', 'create'];
  lines = [];
  let size = 0;
  let k = 0;
  // Until four chunks and a half: mostly short lines, a few long ones, one longer than a chunk.
  while (size < 4.5 * READ_CHUNK) {
    const roll = rng.int(0, 99);
    const bytes = k === 40 ? READ_CHUNK + 5000 : roll < 3 ? rng.int(100_000, 400_000) : roll < 30 ? rng.int(200, 6000) : 0;
    const verb = rng.pick(verbs);
    const ev = event({ auditID: `id-${k}`, verb, ...(bytes ? { level: 'RequestResponse', requestObject: body(rng, bytes) } : {}) });
    let line = JSON.stringify(ev);
    if (roll === 50) line = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[${line}]}`; // a wrapper
    if (roll === 51) line = line.replace('"alice"', '"\\u0061lice"'); // an escape the needle may hide behind
    if (roll === 52) line = '{"verb":"get",' + line.slice(1); // another key order
    if (roll === 53) line = line.slice(0, -3); // malformed
    if (roll === 54) line = `  ${line}\r`; // whitespace and CR
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
    k++;
  }
  file = join(tmpDir(), 'chunks.log');
  writeFileSync(file, lines.join('\n') + '\n');
});

interface Seen {
  values: string[];
  rejects: string[];
  prefiltered: number;
}

function sink(seen: Seen): IngestSink {
  return {
    value: (v: unknown, loc: Loc) => seen.values.push(`${loc.line}:${loc.item ?? 0}:${JSON.stringify(v)}`),
    reject: (loc: Loc, reason: string) => seen.rejects.push(`${loc.line}:${reason}`),
    prefiltered: () => seen.prefiltered++,
  };
}

/** The reference: the whole text at once, split on newlines, each line JSON.parsed. */
function whole(keep: (line: string) => boolean = () => true): { values: string[]; bad: number[]; prefiltered: number } {
  const values: string[] = [];
  const bad: number[] = [];
  let prefiltered = 0;
  lines.forEach((l, i) => {
    if (!keep(l.trim())) {
      prefiltered++;
      return;
    }
    try {
      values.push(`${i + 1}:0:${JSON.stringify(JSON.parse(l))}`);
    } catch {
      bad.push(i + 1);
    }
  });
  return { values, bad, prefiltered };
}

describe('reading a file in reused chunks', () => {
  it('gives every line as the whole text does, lines across chunk borders included', async () => {
    expect(readFileSync(file).length).toBeGreaterThan(4 * READ_CHUNK);
    const seen: Seen = { values: [], rejects: [], prefiltered: 0 };
    await readSource({ path: file, cluster: '', size: 0 }, sink(seen));
    const ref = whole();
    expect(seen.values).toEqual(ref.values);
    expect(seen.rejects.map((r) => Number(r.split(':')[0]))).toEqual(ref.bad);
  });

  it('the pre-filter skips exactly the lines it skips when asked line by line (its searches remember positions per chunk)', async () => {
    for (const o of [{ verb: ['delete'] }, { user: ['alice'], verb: ['update', 'create'] }, { auditID: ['id-40'] }]) {
      const p = compilePrefilter(o)!;
      const seen: Seen = { values: [], rejects: [], prefiltered: 0 };
      await readSource({ path: file, cluster: '', size: 0 }, sink(seen), { maxLineBytes: 64 << 20, maxYamlBytes: 64 << 20, prefilter: p });
      const ref = whole((l) => prefilterText(compilePrefilter(o)!, l));
      expect(seen.values, JSON.stringify(o)).toEqual(ref.values);
      expect(seen.prefiltered, JSON.stringify(o)).toBe(ref.prefiltered);
      expect(seen.prefiltered).toBeGreaterThan(0);
    }
  });

  it('a FIFO (`audit summary <(zcat …)`) is read from where it stands, to its end', async () => {
    const { execFileSync, spawn } = await import('node:child_process');
    const fifo = join(tmpDir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', file, fifo], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.on('exit', resolve));
    const seen: Seen = { values: [], rejects: [], prefiltered: 0 };
    await readSource({ path: fifo, cluster: '', size: 0 }, sink(seen));
    expect(await exited).toBe(0);
    expect(seen.values).toEqual(whole().values);
  });

  it('byte ranges at line starts (--jobs tasks) give the whole file between them', async () => {
    const size = readFileSync(file).length;
    const fh = await open(file, 'r');
    const cuts = [0];
    for (const at of [0.21, 0.5, 0.77]) cuts.push(await lineStartAfter(fh, Math.floor(at * size), size));
    await fh.close();
    cuts.push(size);
    const values: string[] = [];
    let lineBase = 0;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const seen: Seen = { values: [], rejects: [], prefiltered: 0 };
      await readSource({ path: file, cluster: '', size: cuts[i + 1]! - cuts[i]!, start: cuts[i], end: cuts[i + 1] }, sink(seen), { maxLineBytes: 64 << 20, maxYamlBytes: 64 << 20, format: 'jsonl' });
      for (const v of seen.values) {
        const [line, ...rest] = v.split(':');
        values.push(`${Number(line) + lineBase}:${rest.join(':')}`);
      }
      lineBase += readFileSync(file).subarray(cuts[i], cuts[i + 1]).toString('latin1').split('\n').length - 1;
    }
    expect(values).toEqual(whole().values);
  });

  it('the commands give the same bytes with the extractor, with JSON.parse, with and without the pre-filter, in one thread and in two workers', async () => {
    const args = ['investigate', file, '--verb', 'delete,update', '-o', 'jsonl', '-q'];
    const ref = await runCli([...args, '--parser', 'reference', '--no-prefilter']);
    expect(ref.stdout.split('\n').length, ref.stderr).toBeGreaterThan(10);
    for (const extra of [[], ['--no-prefilter'], ['--parser', 'reference']]) {
      const r = await runCli([...args, ...extra]);
      expect(r.stdout, extra.join(' ')).toBe(ref.stdout);
    }
    // Split into byte ranges (KAUDIT_MIN_RANGE_BYTES), read by two workers, or by a worker and the
    // main thread (KAUDIT_PARALLEL_MAIN=1): the bytes of one thread.
    for (const cmd of [['summary', file, '-o', 'json', '-q'], ['rbac-gen', file, '-q']]) {
      const one = await runCli([...cmd, '--jobs', '1', '--parser', 'reference']);
      for (const main of ['0', '1']) {
        process.env.KAUDIT_MIN_RANGE_BYTES = String(READ_CHUNK);
        process.env.KAUDIT_PARALLEL_MAIN = main;
        process.env.KAUDIT_TRACE_PARALLEL = '1';
        const trace: string[] = [];
        const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (trace.push(String(s)), true));
        try {
          const two = await runCli([...cmd, '--jobs', '2']);
          spy.mockRestore();
          expect(two.stdout, `${cmd[0]} KAUDIT_PARALLEL_MAIN=${main}`).toBe(one.stdout);
          // It did run split, and the main thread took a task only when asked to.
          expect(trace.join('')).toMatch(/planned [2-9] tasks/);
          expect(/to the main thread/.test(trace.join(''))).toBe(main === '1');
        } finally {
          spy.mockRestore();
          delete process.env.KAUDIT_MIN_RANGE_BYTES;
          delete process.env.KAUDIT_PARALLEL_MAIN;
          delete process.env.KAUDIT_TRACE_PARALLEL;
        }
      }
    }
  });
});
