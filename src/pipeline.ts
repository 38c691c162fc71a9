// The one streaming pipeline: ingest → normalize → collapse stages → filter → consumer.
// It owns the accounting (lines = events + rejected; events = requests + duplicates;
// requests = used + skipped) and never holds more than the collapse window in memory.
import type { AuditRecord, FileStats, InputAccounting, Loc } from './types.js';
import type { Source } from './ingest/sources.js';
import { readSource, DEFAULT_READ_OPTIONS, type ReadOptions, type IngestSink } from './ingest/reader.js';
import { containerOf } from './ingest/containers.js';
import { normalizeValue } from './normalize/index.js';
import { StageCollapser, DEFAULT_COLLAPSE, type CollapseOptions, type PartialResult } from './normalize/collapse.js';
import type { Predicate } from './filter/index.js';
import { InputError, StrictError } from './util/errors.js';
import { recordReorder, type ReorderOptions, type ReorderStats } from './order/reorder.js';
import { sortSourcesByTime } from './order/sources.js';

export interface PipelineOptions {
  sources: Source[];
  /** Records that pass are `used`; the rest are `skipped`. */
  filter?: Predicate;
  /** Exit 2 at the first bad line instead of counting it. */
  strict?: boolean;
  onRecord(r: AuditRecord): void;
  /** Called for every rejected line (the CLI prints the first few). */
  onReject?(loc: Loc, reason: string): void;
  /** Called with bytes read so far across all inputs and events seen. */
  onProgress?(bytes: number, events: number): void;
  /** Called when an input starts, with its index. */
  onFile?(src: Source, index: number): void;
  read?: Partial<ReadOptions>;
  collapse?: CollapseOptions;
  /** A worker's share of a split run: requests still waiting for their completion are handed back, not emitted. */
  partial?: boolean;
  /**
   * Time order: read the inputs oldest first (sortSourcesByTime) and hand records to `onRecord` by
   * requestReceivedTimestamp within a bounded window (TimeReorder). `stats` is set when the run
   * ends: how many records came too late for the window and were passed on out of order.
   */
  timeOrder?: { reorder: ReorderOptions; stats?: ReorderStats };
}

export type { PartialResult };

export function formatLoc(loc: Loc): string {
  const file = loc.offset ? `${loc.file} (from byte ${loc.offset})` : loc.file;
  return loc.unit === 'line' ? `${file}:${loc.line}` : `${file}: item ${loc.line}`;
}

export async function runPipeline(o: PipelineOptions): Promise<InputAccounting> {
  return (await runPipelineFull(o)).acc;
}

/** Accounting of no input at all. */
export function emptyAccounting(): InputAccounting {
  return { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
}

export async function runPipelineFull(o: PipelineOptions): Promise<{ acc: InputAccounting; partial: PartialResult | null }> {
  const acc = emptyAccounting();
  const filter = o.filter;
  const readOpts: ReadOptions = { ...DEFAULT_READ_OPTIONS, ...o.read };
  const reorder = o.timeOrder ? recordReorder(o.onRecord, o.timeOrder.reorder) : null;
  const onRecord = reorder ? (r: AuditRecord) => reorder.add(r) : o.onRecord;
  const collapser = new StageCollapser((r) => {
    acc.requests++;
    if (filter === undefined || filter(r)) {
      acc.used++;
      onRecord(r);
    } else acc.skipped++;
  }, o.collapse ?? DEFAULT_COLLAPSE, o.partial === true);
  const sources = reorder ? await sortSourcesByTime(o.sources, readOpts) : o.sources;

  let baseBytes = 0;
  for (let i = 0; i < sources.length; i++) {
    const src = sources[i]!;
    o.onFile?.(src, i);
    let containerFormat = '';
    /** Formats only CloudWatch writes: native events in them come from EKS. */
    let viaCloudWatch = false;
    const stats: FileStats = { path: src.path, format: '', gzip: false, bytes: 0, lines: 0, events: 0, rejected: 0, prefiltered: 0, providers: [] };
    const providers = new Set<string>();
    acc.files.push(stats);
    const reject = (at: Loc, reason: string): void => {
      const loc: Loc = src.start ? { ...at, offset: src.start } : at;
      stats.lines++;
      stats.rejected++;
      acc.lines++;
      acc.rejected++;
      if (o.strict) throw new StrictError(`${formatLoc(loc)}: ${reason}`);
      o.onReject?.(loc, reason);
    };
    const one = (v: unknown, loc: Loc): void => {
      const rec = normalizeValue(v, src.cluster);
      if (typeof rec === 'string') {
        reject(loc, rec);
        return;
      }
      if (viaCloudWatch && rec.provider === 'k8s') rec.provider = 'eks';
      rec.location = src.start ? { ...loc, offset: src.start } : loc;
      stats.lines++;
      stats.events++;
      acc.lines++;
      acc.events++;
      providers.add(rec.provider);
      collapser.add(rec);
    };
    const sink: IngestSink = {
      value(v, loc) {
        const c = containerOf(v);
        if (c === null) one(v, loc);
        else {
          containerFormat ||= c.format;
          if (c.format.startsWith('cloudwatch')) viaCloudWatch = true;
          for (const item of c.items) one(item, loc);
        }
      },
      reject,
      prefiltered() {
        stats.lines++;
        stats.prefiltered++;
        acc.lines++;
        acc.prefiltered++;
      },
      detected(format) {
        if (format === 'cloudwatch-text') viaCloudWatch = true;
      },
      bytes(n) {
        stats.bytes = n;
        o.onProgress?.(baseBytes + n, acc.events);
      },
    };
    let res;
    try {
      res = await readSource(src, sink, readOpts);
    } catch (e) {
      // The operating system refused the input (permission, a folder, an I/O error): an input error naming it.
      const err = e as NodeJS.ErrnoException;
      if (err && typeof err.syscall === 'string' && typeof err.code === 'string') throw new InputError(`${src.path}: cannot read (${err.code === 'EACCES' ? 'permission denied' : err.message})`, 'check the path and its permissions');
      throw e;
    }
    stats.format = res.format === 'jsonl' && containerFormat ? containerFormat : res.format;
    stats.gzip = res.gzip;
    stats.providers = [...providers].sort();
    if (res.sha256) stats.sha256 = res.sha256;
    baseBytes += stats.bytes;
  }
  let partial: PartialResult | null = null;
  if (o.partial) partial = collapser.leftovers();
  else collapser.flush();
  if (reorder && o.timeOrder) {
    reorder.flush();
    o.timeOrder.stats = reorder.stats;
  }
  acc.duplicates = collapser.duplicates;
  return { acc, partial };
}
