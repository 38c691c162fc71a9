// Test helpers: temp files, an in-process CLI with captured streams, and event builders.
import { expect } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../src/cli/index.js';
import type { IO } from '../src/cli/io.js';

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'kaudit-test-'));
}

export function writeFiles(dir: string, files: Record<string, string | Buffer>): string {
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process. The clock is pinned so relative times are deterministic. */
/** `tty`: stdout claims to be a terminal (as process.stdout does on one), `columns` wide when given. */
export async function runCli(argv: string[], opts: { stdin?: string | Buffer; env?: Record<string, string>; now?: number; tty?: boolean; columns?: number } = {}): Promise<CliResult> {
  const out = opts.tty ? Object.assign(new PassThrough(), { isTTY: true }, opts.columns !== undefined ? { columns: opts.columns } : {}) : new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.on('data', (c: Buffer) => errChunks.push(c));
  const stdin = opts.stdin !== undefined ? Readable.from([Buffer.from(opts.stdin)]) : Object.assign(Readable.from([]), { isTTY: true });
  const io: IO = {
    stdout: out,
    stderr: err,
    stdin: stdin as IO['stdin'],
    env: { NO_COLOR: '1', ...opts.env },
    now: () => opts.now ?? Date.parse('2026-03-04T00:00:00Z'),
  };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(chunks).toString('utf8'), stderr: Buffer.concat(errChunks).toString('utf8') };
}

/** A minimal, valid v1 audit Event; override any field. */
export function event(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: 'a-1',
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods?limit=500',
    verb: 'list',
    user: { username: 'alice', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.1'],
    userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819',
    objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z',
    stageTimestamp: '2026-03-02T10:00:00.012500Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...over,
  };
}

export const jsonl = (events: unknown[]): string => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

import { runPipeline, type PipelineOptions } from '../src/pipeline.js';
import { expandInputs } from '../src/ingest/sources.js';
import type { AuditRecord, InputAccounting, Loc } from '../src/types.js';

export interface Collected {
  records: AuditRecord[];
  acc: InputAccounting;
  rejects: { loc: Loc; reason: string }[];
}

/** Runs the pipeline over paths and collects everything it produced. */
export async function collect(paths: string[], opts: Partial<PipelineOptions> = {}): Promise<Collected> {
  const records: AuditRecord[] = [];
  const rejects: { loc: Loc; reason: string }[] = [];
  const sources = await expandInputs(paths);
  const acc = await runPipeline({ sources, onRecord: (r) => records.push(r), onReject: (loc, reason) => rejects.push({ loc, reason }), ...opts });
  return { records, acc, rejects };
}

/** The accounting invariants every run must satisfy. */
export function expectBalanced(acc: InputAccounting): void {
  if (acc.lines !== acc.events + acc.rejected + acc.prefiltered) throw new Error(`lines ${acc.lines} != events ${acc.events} + rejected ${acc.rejected} + prefiltered ${acc.prefiltered}`);
  if (acc.events !== acc.requests + acc.duplicates) throw new Error(`events ${acc.events} != requests ${acc.requests} + duplicates ${acc.duplicates}`);
  if (acc.requests !== acc.used + acc.skipped) throw new Error(`requests ${acc.requests} != used ${acc.used} + skipped ${acc.skipped}`);
  const perFile = acc.files.reduce((n, f) => n + f.lines, 0);
  if (acc.files.reduce((n, f) => n + f.prefiltered, 0) !== acc.prefiltered) throw new Error('per-file prefiltered does not add up');
  if (perFile !== acc.lines) throw new Error(`per-file lines ${perFile} != ${acc.lines}`);
}

/** Field order, recursively: Object.is equality of numbers (-0, NaN), Maps and Sets in insertion order. */
export function shape(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v;
  if (v instanceof Map) return ['Map', [...v].map(([k, x]) => [k, shape(x)])];
  if (v instanceof Set) return ['Set', [...v]];
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  return v;
}

/**
 * Strict deep equality without recursion (an explicit stack), for values nested deeper than
 * vitest's recursive `toStrictEqual` can walk on every JIT state: the same prototypes, the same own
 * keys (undefined-valued ones included), primitives by Object.is, array holes. Anything else
 * (Maps, Sets, Dates…) is compared by `toStrictEqual` at that node. Use as
 * `if (!sameDeep(a, b)) expect(a).toStrictEqual(b)` so that a difference still prints its diff.
 */
export function sameDeep(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length) {
    const [x, y] = stack.pop()!;
    if (Object.is(x, y)) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
    const plain = Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null || !(x instanceof Map || x instanceof Set || x instanceof Date || x instanceof RegExp);
    if (!plain) {
      try {
        expect(x).toStrictEqual(y);
      } catch {
        return false;
      }
      continue;
    }
    const kx = Reflect.ownKeys(x);
    const ky = Reflect.ownKeys(y);
    if (kx.length !== ky.length) return false;
    for (let i = 0; i < kx.length; i++) {
      const k = kx[i]!;
      if (!Object.prototype.hasOwnProperty.call(y, k)) return false;
      stack.push([(x as Record<PropertyKey, unknown>)[k], (y as Record<PropertyKey, unknown>)[k]]);
    }
  }
  return true;
}
