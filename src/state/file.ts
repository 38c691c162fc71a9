// State files (`--save-state FILE`, read by `audit merge`): an analysis's partial result, durable and
// portable. JSON lines, gzip-compressed when FILE ends in .gz (read either way):
//
//   {"kind":"kaudit.state","version":1,…header…}      what was read, how, and with what options
//   {"state":…}                                         the reducer's state (codec.ts), reducer mode
//   {"leftovers":[…]}                                   requests still waiting for a later stage (chunks)
//   {"hashes":"idFirst","v":…}                          hash arrays for stage collapsing across shards (chunks;
//                                                       every array and count of PartialResult, by name)
//   {"record":…}                                        records mode: one kept record per line
//   {"replay":…}                                        reducer mode: a request the merge judges in order (anomalies' stateful rules)
//   {"end":true,"lines":N}                              the number of lines before it (a truncated file is refused)
//
// docs/scale.md documents the format.
import { closeSync, createReadStream, createWriteStream, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { FilterOptions } from '../filter/index.js';
import type { PartialResult } from '../normalize/collapse.js';
import { CODEC_VERSION, decode, encode } from './codec.js';
import { InputError } from '../util/errors.js';
import { pushAll } from '../util/array.js';

/** Bump when the layout of state files changes. */
export const STATE_VERSION = 1;

export interface StateSource {
  path: string;
  cluster: string;
  size: number;
  start?: number;
  end?: number;
  /** For a byte range: the newlines in it, so that a merge turns range-relative lines into file lines. */
  newlines?: number;
  /**
   * Commands that read in time order (commands): the earliest time among the file's first events
   * (src/order/sources.ts firstTimeMs; null when none), by which one pass orders its inputs.
   */
  firstMs?: number | null;
}

export interface StateHeader {
  kind: 'kaudit.state';
  version: number;
  codec: number;
  /** The analysis: summary, rbac-gen, drift, baseline, anomalies, compliance, commands. */
  command: string;
  /** reducer: a mergeable state; records: the kept records themselves, folded again by the merge. */
  mode: 'reducer' | 'records';
  /** kaudit's version and a digest of its code: states merge only with the code that wrote them. */
  kaudit: string;
  build: string;
  /** `--shard I/N`: this share, and a digest of the whole input listing the shares were cut from. */
  shard: { index: number; count: number; plan: string } | null;
  /** What this state read, in order (byte ranges of files for shards). */
  sources: StateSource[];
  /** The command's options as given, the defaults of `audit merge`. */
  options: Record<string, unknown>;
  /** What the result depends on besides the records: reducer options, RBAC and baseline contents by digest. */
  fingerprint: unknown;
  /** Filters and the clock they were compiled with. */
  filters: FilterOptions[];
  now: number;
  accounting: InputAccounting;
  /** The first rejected lines, for the merge to report like one pass. */
  rejects: { loc: Loc; reason: string }[];
}

export interface StateBody {
  state?: unknown;
  partial: PartialResult;
}

const CHUNK_HASHES = 1 << 20;
const CHUNK_RECORDS = 1000;

let buildDigest: string | null = null;

/** A digest of kaudit's code (the compiled files next to this one): shards and merge must run the same code. */
export function codeDigest(): string {
  if (buildDigest) return buildDigest;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(js|ts)$/.test(e) && !e.endsWith('.d.ts')) h.update(relative(root, p)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(root);
  return (buildDigest = h.digest('hex').slice(0, 16));
}

async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(line + '\n')) await new Promise<void>((r) => out.once('drain', r));
}

/**
 * Writes a state file. `records`, when given, is a file of records-mode lines (recordLine) and
 * how many there are; its bytes are copied in.
 */
export async function writeStateFile(path: string, header: StateHeader, body: StateBody, records?: { path: string; lines: number }): Promise<void> {
  // Written under a temporary name and renamed: a shard that dies (and its retry) never leaves a
  // half-written file under the final name.
  // A dot name: merging a directory of states skips it.
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    await writeTo(tmp, header, body, records);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

async function writeTo(path: string, header: StateHeader, body: StateBody, records?: { path: string; lines: number }): Promise<void> {
  const file = createWriteStream(path);
  const out: Writable = path.endsWith('.gz') ? createGzip() : file;
  if (out !== file) out.pipe(file);
  const done = new Promise<void>((resolve, reject) => {
    file.on('finish', resolve);
    file.on('error', reject);
    out.on('error', reject);
  });
  let lines = 0;
  const put = async (o: unknown): Promise<void> => {
    await writeLine(out, JSON.stringify(o));
    lines++;
  };
  await put(header);
  if (body.state !== undefined) await put({ state: encode(body.state) });
  const p = body.partial;
  for (let i = 0; i < p.leftovers.length; i += CHUNK_RECORDS) await put({ leftovers: encode(p.leftovers.slice(i, i + CHUNK_RECORDS)) });
  // Every hash array of the partial result (idFirst, completed, firstIds…), by name, and its other
  // arrays and counts (origins, peakPending) as hash arrays too: a new one travels without a change here.
  for (const [key, x] of Object.entries(p)) {
    const a = x instanceof Float64Array ? x : x instanceof Int32Array ? Float64Array.from(x) : typeof x === 'number' ? Float64Array.of(x) : null;
    if (a === null) continue;
    for (let i = 0; i === 0 || i < a.length; i += CHUNK_HASHES) await put({ hashes: key, v: encode(a.subarray(i, i + CHUNK_HASHES)) });
  }
  if (records) {
    for await (const chunk of createReadStream(records.path)) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
    }
    lines += records.lines;
  }
  await writeLine(out, JSON.stringify({ end: true, lines }));
  out.end();
  await done;
}

/** Encodes a record for a records-mode line. */
export function recordLine(r: AuditRecord): string {
  return JSON.stringify({ record: encode(r) });
}

/** Encodes an item of ParallelCommand.shard for a replay line. */
export function replayLine(item: unknown): string {
  return JSON.stringify({ replay: encode(item) });
}

/** What readStateBody hands over as it reads, in file order: the state, then records or replay items. */
export interface StateHandlers {
  onState?(state: unknown): void;
  onRecord?(r: AuditRecord): void;
  onReplay?(item: unknown): void;
}

/** The lines of a (possibly gzipped) file, read in chunks. */
async function* lines(path: string): AsyncGenerator<string> {
  const head = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  const raw = createReadStream(path);
  const stream: AsyncIterable<Buffer> = n === 2 && head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of stream) {
      const text = rest + decoder.write(chunk);
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (const p of parts) yield p;
    }
    rest += decoder.end();
    if (rest) yield rest;
  } finally {
    raw.destroy();
  }
}

function bad(path: string, why: string): InputError {
  return new InputError(`${path}: not a kaudit state file (${why})`, 'pass files written by --save-state');
}

/** Reads and checks the header of a state file. InputError when it is not one, or of another format version. */
export async function readStateHeader(path: string): Promise<StateHeader> {
  let first: string | undefined;
  try {
    for await (const l of lines(path)) {
      first = l;
      break;
    }
  } catch (e) {
    throw new InputError(`${path}: cannot read (${(e as Error).message})`, 'pass files written by --save-state');
  }
  let h: StateHeader;
  try {
    h = JSON.parse(first ?? '') as StateHeader;
  } catch {
    throw bad(path, 'the first line is not JSON');
  }
  if (h?.kind !== 'kaudit.state') throw bad(path, 'no kaudit.state header');
  if (h.version !== STATE_VERSION || h.codec !== CODEC_VERSION) throw new InputError(`${path}: state format ${h.version}.${h.codec}; this kaudit reads ${STATE_VERSION}.${CODEC_VERSION}`, 'save the states and merge them with the same kaudit');
  return h;
}

/**
 * Streams a state file's body: the reducer state goes to `onState`, records and replay items to
 * their handlers as they are read; returns the state and the collapse leftovers. InputError when the
 * file is truncated or malformed.
 */
export async function readStateBody(path: string, on: StateHandlers = {}): Promise<StateBody> {
  let n = -1;
  let ended = false;
  let state: unknown;
  const leftovers: AuditRecord[] = [];
  const hashes = new Map<string, Float64Array[]>();
  for await (const l of lines(path)) {
    n++;
    if (n === 0) continue;
    if (ended) throw bad(path, `data after the end line (line ${n + 1})`);
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw bad(path, `line ${n + 1} is not JSON`);
    }
    if ('record' in o) on.onRecord?.(decode(o.record) as AuditRecord);
    else if ('replay' in o) on.onReplay?.(decode(o.replay));
    else if ('state' in o) {
      state = decode(o.state);
      on.onState?.(state);
    }
    else if ('leftovers' in o) pushAll(leftovers, decode(o.leftovers) as AuditRecord[]);
    else if (typeof o.hashes === 'string') hashes.set(o.hashes, [...(hashes.get(o.hashes) ?? []), decode(o.v) as Float64Array]);
    else if (o.end === true) {
      if (o.lines !== n) throw bad(path, `the end line counts ${String(o.lines)} lines, the file has ${n}`);
      ended = true;
    } else throw bad(path, `line ${n + 1} has no known key`);
  }
  if (!ended) throw new InputError(`${path}: the state file is truncated (no end line)`, 'save the state again; a shard that was interrupted leaves a partial file');
  const join = (parts: Float64Array[] = []): Float64Array => {
    if (parts.length === 1) return parts[0]!;
    const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) (out.set(p, o), (o += p.length));
    return out;
  };
  const arrays = Object.fromEntries([...hashes].map(([k, parts]) => [k, join(parts)]));
  const partial: PartialResult = {
    ...arrays,
    leftovers,
    origins: Int32Array.from(join(hashes.get('origins'))),
    idFirst: join(hashes.get('idFirst')),
    completed: join(hashes.get('completed')),
    peakPending: join(hashes.get('peakPending'))[0] ?? 0,
    doneAdded: join(hashes.get('doneAdded'))[0] ?? 0,
    // A state file written before doneCut: every idFirst entry is looked up.
    doneCut: join(hashes.get('doneCut'))[0] ?? Infinity,
    reusedKeys: join(hashes.get('reusedKeys')),
    firstIds: join(hashes.get('firstIds')),
  };
  if (partial.origins.length !== leftovers.length) throw new InputError(`${path}: the state file is damaged (${partial.origins.length} origins for ${leftovers.length} leftovers)`, 'save the state again');
  return { state, partial };
}
