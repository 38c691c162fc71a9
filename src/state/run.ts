// Sharded runs: an analysis saves its partial state (`--save-state`) instead of printing, and
// `audit merge` turns any set of states back into the output one pass over all their inputs gives.
//
// A state is what one pass over its inputs leaves: the reducer's state (or, for analyses whose result
// depends on the order of records across shard borders, the kept records themselves), the input
// accounting, and what stage collapsing needs at the borders (src/normalize/collapse.ts
// PartialResult: requests still waiting for a later stage, and hashes of the request keys first
// seen and completed). Merging replays the in-memory parallel path (src/parallel/run.ts): partial
// states merge in input order, the Reconciler joins requests cut by a border, accounting adds up.
import { commandCollapse } from '../util/v8heap.js';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { Source } from '../ingest/sources.js';
import type { ReadOptions } from '../ingest/reader.js';
import type { FilterOptions, Predicate } from '../filter/index.js';
import type { ParallelCommand } from '../parallel/commands.js';
import { runPipelineFull } from '../pipeline.js';
import { DEFAULT_COLLAPSE, isCompleted, setHashSeed } from '../normalize/collapse.js';
import { settle } from '../scale/ledger.js';
import { Reconciler, mergeAccounting } from '../parallel/run.js';
import { SHOWN_REJECTS } from '../cli/report.js';
import { parseTimeArg } from '../filter/index.js';
import { UsageError, InputError } from '../util/errors.js';
import { CODEC_VERSION } from './codec.js';
import { STATE_VERSION, codeDigest, readStateBody, readStateHeader, recordLine, replayLine, writeStateFile, type StateHeader, type StateSource } from './file.js';
import { relocate } from '../ingest/locate.js';
import { recordReorder, type ReorderOptions, type ReorderStats } from '../order/reorder.js';

/** Thrown after a state was saved: the command prints nothing more (main exits 0). */
export class StateSaved extends Error {
  readonly kauditStateSaved = true;
  constructor(readonly path: string) {
    super(`state saved to ${path}`);
    this.name = 'StateSaved';
  }
}

/** The keys of FilterOptions: the compiler asks for every new filter, so that merges compare it. */
const FILTER_KEYS: { readonly [K in keyof Required<FilterOptions>]: true } = {
  user: true,
  group: true,
  verb: true,
  resource: true,
  namespace: true,
  name: true,
  since: true,
  until: true,
  status: true,
  denied: true,
  cluster: true,
  impersonator: true,
  actor: true,
  serviceaccount: true,
  allNamespaces: true,
  userMatchesImpersonator: true,
  sourceIP: true,
  userAgent: true,
  client: true,
  accessMethod: true,
  auditID: true,
  impersonated: true,
  subresource: true,
  apiGroup: true,
  code: true,
  subjectKinds: true,
};

/** The filters as plain data that compares equal when they select the same records (times made absolute). */
export function filterSignature(sets: FilterOptions[], now: number): unknown {
  return sets.map((f) => {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(FILTER_KEYS) as (keyof FilterOptions)[]) {
      const v = f[k];
      if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) continue;
      o[k] = k === 'since' || k === 'until' ? parseTimeArg(`--${k}`, String(v), now) : v;
    }
    return o;
  });
}

/** Only the filter keys of each set (the sets are built from all of a command's options). */
export function pickFilters(sets: FilterOptions[]): FilterOptions[] {
  return sets.map((f) => Object.fromEntries((Object.keys(FILTER_KEYS) as (keyof FilterOptions)[]).filter((k) => f[k] !== undefined).map((k) => [k, f[k]])) as FilterOptions);
}

/** JSON with object keys sorted, for comparing plain data. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** The time key one pass orders a file by (of the whole file, also for a byte range of it); null when none. */
async function firstMsOf(src: Source, read: Partial<ReadOptions>): Promise<number | null> {
  const [{ firstTimeMs }, { DEFAULT_READ_OPTIONS }] = await Promise.all([import('../order/sources.js'), import('../ingest/reader.js')]);
  const { start: _s, end: _e, ...whole } = src;
  const t = await firstTimeMs({ ...whole }, { ...DEFAULT_READ_OPTIONS, ...read, prefilter: undefined, hash: false });
  return Number.isFinite(t) ? t : null;
}

/** Newlines in bytes [start, end) of a file. */
async function countNewlines(path: string, start: number, end: number): Promise<number> {
  if (end <= start) return 0;
  const { createReadStream } = await import('node:fs');
  let n = 0;
  for await (const chunk of createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

function stateSource(s: Source): StateSource {
  return { path: s.path, cluster: s.cluster, size: s.size, ...(s.start !== undefined ? { start: s.start, end: s.end } : {}) };
}

/** A reducer run to save, or the records to keep (records mode). */
export type StateJob<S> = { mode: 'reducer'; cmd: ParallelCommand; spec: unknown; state: S } | { mode: 'records' };

export interface SaveStateOptions<S> {
  path: string;
  command: string;
  job: StateJob<S>;
  sources: Source[];
  shard: StateHeader['shard'];
  filters: FilterOptions[];
  filter: Predicate;
  now: number;
  strict: boolean;
  read: Partial<ReadOptions>;
  /** The command reads in time order: the sources are already sorted so; their time keys are saved. */
  timeOrdered?: boolean;
  /** Keep the bodies of requests waiting for their completion (CollapseOptions.keepWaitingBodies: detection rules judge requests that never complete). */
  keepWaitingBodies?: boolean;
  /** The command's options as given (the defaults of audit merge). */
  cliOptions: Record<string, unknown>;
  kauditVersion: string;
  onReject(loc: Loc, reason: string): void;
  onProgress?(bytes: number, events: number): void;
}

/** Reads the sources as one pass would, but keeps what a later pass needs at the borders, and writes the state file. */
/**
 * The hash seed of sharded runs. A run hashes with a random seed (collapse.ts hashSeed) so that
 * audit data cannot be crafted to collide; shards and the merge run in separate processes, often
 * on separate machines, and their hashes must agree, so they all use this fixed one (what every
 * run used before the seeds; a crafted collision could at worst join two requests across a shard
 * border).
 */
export const STATE_HASH_SEED: readonly [number, number] = [0x6b617564, 0x69742d31];

export async function saveState<S>(o: SaveStateOptions<S>): Promise<StateHeader> {
  setHashSeed(STATE_HASH_SEED);
  const { mkdtempSync, openSync, writeSync, closeSync, rmSync } = await import('node:fs');
  const { join, dirname, basename } = await import('node:path');
  const rejects: { loc: Loc; reason: string }[] = [];
  const job = o.job;
  // Records mode: the kept records, and reducer mode: the requests the merge must judge in order
  // (ParallelCommand.shard), go to a scratch file next to the state, then into it.
  let scratch: { dir: string; path: string; fd: number; buf: string[]; size: number; lines: number } | null = null;
  const put = (line: string): void => {
    const sc = scratch!;
    sc.buf.push(line);
    sc.size += line.length;
    sc.lines++;
    if (sc.size >= 1 << 20) {
      writeSync(sc.fd, sc.buf.join(''));
      sc.buf = [];
      sc.size = 0;
    }
  };
  if (job.mode === 'records' || job.cmd.shard) {
    const dir = mkdtempSync(join(dirname(o.path), `.${basename(o.path)}.`));
    const path = join(dir, 'records');
    scratch = { dir, path, fd: openSync(path, 'w'), buf: [], size: 0, lines: 0 };
    if (job.mode === 'reducer') job.cmd.shard!.start(job.state, (item) => put(replayLine(item) + '\n'));
  }
  try {
    const { acc, partial } = await runPipelineFull({
      sources: o.sources,
      filter: o.filter,
      strict: o.strict,
      partial: true,
      collapse: commandCollapse(o.keepWaitingBodies),
      onRecord: job.mode === 'reducer' ? (r) => job.cmd.reducer.add(job.state, r) : (r) => put(recordLine(r) + '\n'),
      onReject: (loc, reason) => {
        if (rejects.length < SHOWN_REJECTS) rejects.push({ loc, reason });
        o.onReject(loc, reason);
      },
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      read: o.read,
    });
    if (scratch) {
      writeSync(scratch.fd, scratch.buf.join(''));
      closeSync(scratch.fd);
    }
    const header: StateHeader = {
      kind: 'kaudit.state',
      version: STATE_VERSION,
      codec: CODEC_VERSION,
      command: o.command,
      mode: job.mode,
      kaudit: o.kauditVersion,
      build: codeDigest(),
      shard: o.shard,
      sources: await Promise.all(
        o.sources.map(async (src) => ({
          ...stateSource(src),
          ...(src.start !== undefined ? { newlines: await countNewlines(src.path, src.start, src.end!) } : {}),
          ...(o.timeOrdered ? { firstMs: await firstMsOf(src, o.read) } : {}),
        })),
      ),
      options: o.cliOptions,
      fingerprint: job.mode === 'reducer' ? await job.cmd.fingerprint(job.spec) : null,
      filters: pickFilters(o.filters),
      now: o.now,
      accounting: acc,
      rejects,
    };
    // The partial result's windows hold at most maxDone entries each (PartialResult.completed, reusedKeys).
    const body = {
      ...(job.mode === 'reducer' ? { state: job.cmd.strip(job.state) } : {}),
      partial: partial!,
    };
    await writeStateFile(o.path, header, body, scratch ? { path: scratch.path, lines: scratch.lines } : undefined);
    return header;
  } finally {
    if (scratch) rmSync(scratch.dir, { recursive: true, force: true });
  }
}

/** Compares paths the way a directory walk orders them: component by component, by code unit. */
function comparePaths(a: string, b: string): number {
  const x = a.split(/[\\/]/);
  const y = b.split(/[\\/]/);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}

export interface MergeStatesOptions<S> {
  files: string[];
  command: string;
  job: StateJob<S>;
  /** Records mode: where the kept records go, in one pass's order. */
  onRecord?(r: AuditRecord): void;
  /** This run's filters, compiled with `now` (the states' clock): they must be the states' filters. */
  filters: FilterOptions[];
  compile(now: number): Predicate;
  kauditVersion: string;
  onReject(loc: Loc, reason: string): void;
  /** Records in time order (commands): states in the order one pass reads their inputs, records through the reorder. */
  timeOrder?: { reorder: ReorderOptions; stats?: ReorderStats };
}

export interface Merged<S> {
  state?: S;
  accounting: InputAccounting;
  headers: StateHeader[];
}

function describeShard(h: StateHeader, file: string): string {
  return h.shard ? `${file} (shard ${h.shard.index}/${h.shard.count})` : file;
}

/**
 * Merges state files into the result of one pass over all their inputs. The states may come in any
 * order: those of one --shard plan merge in shard order (all N must be there), others in input order
 * (by path as a directory walk sorts it, then by byte offset). UsageError or InputError (exit 2)
 * when they cannot merge exactly: another command or kaudit build, other options or filters,
 * overlapping inputs, missing shards, or requests repeated across states (which one pass would
 * count once).
 */
export async function mergeStates<S>(o: MergeStatesOptions<S>): Promise<Merged<S>> {
  setHashSeed(STATE_HASH_SEED);
  if (o.files.length === 0) throw new UsageError('no state files given', 'pass the files written by --save-state: audit merge --command NAME STATE…');
  const loaded = await Promise.all(o.files.map(async (file) => ({ file, h: await readStateHeader(file) })));
  const build = codeDigest();
  for (const { file, h } of loaded) {
    if (h.command !== o.command) throw new UsageError(`${file}: a state of audit ${h.command}, not of audit ${o.command}`, `merge it with --command ${h.command}`);
    if (h.mode !== o.job.mode) throw new InputError(`${file}: a ${h.mode} state, expected ${o.job.mode}`, 'save the states and merge them with the same kaudit');
    if (h.kaudit !== o.kauditVersion || h.build !== build) throw new InputError(`${file}: saved by kaudit ${h.kaudit} (build ${h.build}); this is ${o.kauditVersion} (build ${build})`, 'run the shards and the merge with the same kaudit (the same image or installation)');
  }
  // Order.
  const plans = new Set(loaded.map(({ h }) => (h.shard ? `${h.shard.plan}/${h.shard.count}` : '')));
  const sharded = plans.size === 1 && !plans.has('');
  if (sharded) {
    const count = loaded[0]!.h.shard!.count;
    loaded.sort((a, b) => a.h.shard!.index - b.h.shard!.index);
    const have = loaded.map(({ h }) => h.shard!.index);
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !have.includes(i));
    const twice = have.filter((i, k) => have.indexOf(i) !== k);
    if (twice.length) throw new UsageError(`shard ${twice[0]}/${count} is given twice`, 'pass each shard’s state once');
    if (missing.length) throw new UsageError(`missing shard${missing.length === 1 ? '' : 's'} ${missing.slice(0, 10).map((i) => `${i}/${count}`).join(', ')}${missing.length > 10 ? '…' : ''} of ${count}`, 'wait for every shard to finish, or re-run the missing ones; the merge needs all of them');
  } else {
    if (loaded.some(({ h }) => h.shard) && plans.size > 1) {
      const shardPlans = [...plans].filter(Boolean);
      if (shardPlans.length > 1) throw new UsageError('the states come from --shard runs over different inputs (their input listings differ)', 'every shard must list the same inputs: same paths, same files, same sizes; re-run the shards on a settled copy of the logs');
    }
    const first = (h: StateHeader): StateSource | undefined => h.sources[0];
    // One pass's input order: by path as a directory walk sorts them, or, for commands that read
    // in time order, by the files' first times (sortSourcesByTime: none first, then by path).
    const timeKey = (s: StateSource): number => (typeof s.firstMs === 'number' ? s.firstMs : -Infinity);
    loaded.sort((a, b) => {
      const x = first(a.h);
      const y = first(b.h);
      if (!x || !y) return x ? 1 : y ? -1 : 0;
      const byTime = o.timeOrder ? timeKey(x) - timeKey(y) : 0;
      return byTime || comparePaths(x.path, y.path) || (x.start ?? 0) - (y.start ?? 0);
    });
  }
  // Inputs must not overlap.
  const all = loaded.flatMap(({ file, h }) => h.sources.map((s) => ({ file, s })));
  all.sort((a, b) => comparePaths(a.s.path, b.s.path) || (a.s.start ?? 0) - (b.s.start ?? 0));
  for (let i = 1; i < all.length; i++) {
    const p = all[i - 1]!;
    const c = all[i]!;
    if (p.s.path !== c.s.path) continue;
    const pEnd = p.s.end ?? p.s.size;
    if ((c.s.start ?? 0) < pEnd || p.s.start === undefined || c.s.start === undefined) {
      throw new UsageError(`${c.s.path} is read by two states (${p.file} and ${c.file})`, 'pass each state once; shards of one --shard plan never overlap');
    }
  }
  // Same options and filters.
  const head = loaded[0]!.h;
  const now = head.now;
  const mine = o.job.mode === 'reducer' ? canonical(await o.job.cmd.fingerprint(o.job.spec)) : 'null';
  const myFilters = canonical(filterSignature(o.filters, now));
  for (const { file, h } of loaded) {
    if (canonical(h.fingerprint) !== mine) throw new UsageError(`${file}: saved with other options of audit ${o.command} (or another RBAC export or baseline) than this merge`, 'merge with the options the shards ran with (audit merge uses them when you pass none), and the same RBAC export or baseline files');
    if (canonical(filterSignature(h.filters, h.now)) !== myFilters) throw new UsageError(`${file}: saved with other filters than this merge`, 'filters apply when the shards read the logs: pass none to audit merge (it uses the shards’), and give the shards the same absolute --since/--until');
  }
  const filter = o.compile(now);

  // Lines of byte ranges count from the range's start: the newlines of the ranges before it in the
  // same file make them file lines again, as one pass writes them.
  const before = new Map<string, number>();
  const ranges = new Map<string, StateSource[]>();
  for (const { h } of loaded) for (const src of h.sources) if (src.start !== undefined) ranges.set(src.path, [...(ranges.get(src.path) ?? []), src]);
  for (const [path, list] of ranges) {
    list.sort((a, b) => a.start! - b.start!);
    let lines = 0;
    let at = 0;
    for (const r of list) {
      if (r.start !== at || r.newlines === undefined) break; // not a whole cover: leave the rest to resolveLines
      before.set(`${path}\u0000${r.start}`, lines);
      lines += r.newlines;
      at = r.end!;
    }
  }
  const fix = <T>(v: T): T => {
    if (before.size) relocate(v, (file, offset) => before.get(`${file}\u0000${offset}`));
    return v;
  };

  // Records in time order go through the reorder one pass puts after its filters.
  const reorder = o.timeOrder && o.onRecord ? recordReorder(o.onRecord, o.timeOrder.reorder) : null;
  const emitRecord = reorder ? (r: AuditRecord) => reorder.add(r) : (r: AuditRecord) => o.onRecord?.(r);

  // Merge in order: each state into the run's own (the first one's options and clock), then its
  // records or replay items, then its border leftovers into the Reconciler.
  const reconciler = new Reconciler();
  const accs: { acc: InputAccounting; continues: boolean }[] = [];
  const job = o.job;
  let state: S | undefined = job.mode === 'reducer' ? job.state : undefined;
  let shown = 0;
  let prevEnd: StateSource | undefined;
  for (const { file, h } of loaded) {
    for (const r of fix(h.rejects)) if (shown++ < SHOWN_REJECTS) o.onReject(r.loc, r.reason);
    const body = await readStateBody(file, {
      onState: (plain) => {
        if (job.mode !== 'reducer') return;
        state = job.cmd.reducer.merge(state!, job.cmd.restore(fix(plain), job.state) as S) as S;
      },
      onRecord: (r) => {
        reconciler.completeFromCarry(r);
        emitRecord(fix(r));
      },
      onReplay: (item) => {
        if (job.mode === 'reducer' && job.cmd.shard) job.cmd.shard.replay(state, fix(item));
      },
    });
    fix(body.partial.leftovers);
    const firstSrc = h.sources[0];
    accs.push({ acc: h.accounting, continues: !!firstSrc && (firstSrc.start ?? 0) > 0 && prevEnd?.path === firstSrc.path });
    if (h.sources.length) prevEnd = h.sources[h.sources.length - 1];
    reconciler.push(body.partial);
    if (reconciler.fallback === 'repeats') {
      throw new InputError(
        `${describeShard(h, file)} holds requests that an earlier state already completed (the same audit events in two inputs?), or a stage of a request an earlier state left waiting written out of order; one pass over all inputs counts them once, so the merged result would differ`,
        'remove the duplicate input, or read the inputs that share events in one run (one shard)',
      );
    }
    if (reconciler.fallback === 'auditid-reuse') {
      throw new InputError(
        `${describeShard(h, file)} holds a request whose Audit-ID an earlier state's request used; one pass flags the later one (auditIDReused), which a merge cannot do`,
        'read the inputs that share Audit-IDs in one run (fewer shards), or in one pass',
      );
    }
    if (reconciler.fallback !== null) {
      throw new InputError(
        `${describeShard(h, file)}: with the requests earlier states left waiting, one pass would have held more than ${DEFAULT_COLLAPSE.maxPending} requests waiting for their completion and emitted the oldest early, which a merge cannot replay`,
        'read these inputs in fewer shards (or in one pass)',
      );
    }
  }
  const accounting = mergeAccounting(accs);
  reconciler.finish((r) => {
    accounting.requests++;
    if (filter(r)) {
      accounting.used++;
      if (!isCompleted(r)) accounting.notCompleted++;
      reconciler.reuseOf(r);
      if (job.mode === 'reducer') {
        job.cmd.reducer.add(state!, r);
        // Between two records: structures over the memory budget spill now (src/scale/ledger.ts).
        settle();
      } else emitRecord(r);
    } else accounting.skipped++;
  });
  if (reorder && o.timeOrder) {
    reorder.flush();
    o.timeOrder.stats = reorder.stats;
  }
  accounting.duplicates += reconciler.duplicates;
  accounting.auditIDReuse += reconciler.reusedAtEnd;
  return { ...(state !== undefined ? { state } : {}), accounting, headers: loaded.map(({ h }) => h) };
}
