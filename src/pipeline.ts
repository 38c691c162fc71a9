// The one streaming pipeline: ingest → normalize → collapse stages → filter → consumer.
// It owns the accounting (lines = events + rejected + prefiltered + ignored; events = requests +
// duplicates; requests = used + skipped) and never holds more than the collapse window in memory.
// It is also where an exception of kaudit's own code (normalize, collapse, filter, the consumer)
// becomes an InternalError naming the component and the input position: such an exception is
// never taken for the end or a defect of the input (util/errors.ts).
import type { AuditRecord, FileStats, InputAccounting, Loc } from './types.js';
import type { Source } from './ingest/sources.js';
import { readSource, DEFAULT_READ_OPTIONS, type ReadOptions, type IngestSink, type LineExtractor } from './ingest/reader.js';
import { containerOf } from './ingest/containers.js';
import { normalizeValue, Ignored } from './normalize/index.js';
import { StageCollapser, AuditIDReuse, DEFAULT_COLLAPSE, isCompleted, type CollapseOptions, type PartialResult } from './normalize/collapse.js';
import type { Predicate } from './filter/index.js';
import { InputError, StrictError, asInternal } from './util/errors.js';
import { faultCounter } from './util/fault.js';
import { recordReorder, type ReorderOptions, type ReorderStats } from './order/reorder.js';
import { sortSourcesByTime } from './order/sources.js';
import { settle, runStarts } from './scale/ledger.js';
import { extractEvent } from './ingest/extract.js';
import { WasmExtractor } from './ingest/wasmextract.js';
import type { BodyNeeds } from './normalize/bodies.js';

export interface PipelineOptions {
  sources: Source[];
  /** Records that pass are `used`; the rest are `skipped`. */
  filter?: Predicate;
  /** Exit 2 at the first bad line instead of counting it. */
  strict?: boolean;
  onRecord(r: AuditRecord): void;
  /** The name of `onRecord` in internal-error messages (default `reducer`: the command's analysis). */
  component?: string;
  /** Called for every rejected line (the CLI prints the first few). */
  onReject?(loc: Loc, reason: string): void;
  /** Called for every value that is no audit event by design (CloudWatch control messages). */
  onIgnore?(loc: Loc, reason: string): void;
  /**
   * Called with bytes read so far across all inputs and events seen, and the requests waiting for
   * their completing stage now (a worker's task reports them: src/parallel/run.ts stops a split run
   * early when one pass's window would overflow).
   */
  onProgress?(bytes: number, events: number, waiting: number): void;
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
  /**
   * The request and response bodies records keep (src/normalize/bodies.ts); default: all. A body no
   * record keeps is never parsed when the field extractor reads the line (`read.parser` `fast`).
   */
  bodies?: BodyNeeds;
}

export type { PartialResult };

export function formatLoc(loc: Loc): string {
  const file = loc.offset ? `${loc.file} (from byte ${loc.offset})` : loc.file;
  const at = loc.unit === 'line' ? `${file}:${loc.line}` : `${file}: item ${loc.line}`;
  return loc.item !== undefined ? `${at}: item ${loc.item}` : at;
}

/** Most requests the collapse window held at once in the last run of this thread. */
let waitingPeak = 0;

/** Most requests the collapse window held at once in this thread's last run (for the stderr note; it depends on --jobs, so no report holds it). */
export function lastWaitingPeak(): number {
  return waitingPeak;
}

export async function runPipeline(o: PipelineOptions): Promise<InputAccounting> {
  return (await runPipelineFull(o)).acc;
}

/** Accounting of no input at all. */
export function emptyAccounting(): InputAccounting {
  return { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0, ignored: 0, auditIDReuse: 0, complete: true, notCompleted: 0, window: { limit: DEFAULT_COLLAPSE.maxPending, evicted: 0 } };
}

/** Accounting of one input before it is read. */
export function emptyFileStats(path: string): FileStats {
  return { path, format: '', gzip: false, bytes: 0, lines: 0, events: 0, rejected: 0, prefiltered: 0, providers: [], ignored: 0, complete: true, incomplete: '' };
}

/**
 * `loc` in a byte range that began at `offset` (a task of --jobs, a share of --shard): the same keys
 * in the same order as `{ ...loc, offset }`. Built as a literal for the usual line location: with the
 * object spread (one per record) V8 promoted about 1.5 MB per young-generation collection when
 * reading a range that does not start the file, and ran a mark-compact every 0.6 s (measured with
 * --trace-gc; bench/RESULTS.md, issue 19, fourth session).
 */
export function atOffset(loc: Loc, offset: number): Loc {
  if (loc.item === undefined && loc.offset === undefined) return { file: loc.file, line: loc.line, unit: loc.unit, offset };
  return { ...loc, offset };
}

export async function runPipelineFull(o: PipelineOptions): Promise<{ acc: InputAccounting; partial: PartialResult | null }> {
  // The memory budget counts from here: the window of waiting requests included (src/scale/ledger.ts).
  runStarts();
  const acc = emptyAccounting();
  const filter = o.filter;
  const readOpts: ReadOptions = { ...DEFAULT_READ_OPTIONS, ...o.read };
  /** One WebAssembly field extractor per run (its memory is reused line after line, and by the next run). */
  const wasm = readOpts.parser === 'reference' ? null : WasmExtractor.acquire();
  const component = o.component ?? 'reducer';
  let onRecord = o.onRecord;
  const reorder = o.timeOrder
    ? recordReorder((r) => {
        o.onRecord(r);
        settle();
      }, o.timeOrder.reorder)
    : null;
  if (reorder) onRecord = (r: AuditRecord) => reorder.add(r);
  const fault = faultCounter(o.partial ? 'worker' : 'reducer');
  if (fault) {
    const inner = onRecord;
    onRecord = (r) => {
      fault();
      inner(r);
    };
  }
  /** The part of kaudit running now, for internal-error messages. */
  let stage = 'collapse';
  const collapse = o.collapse ?? DEFAULT_COLLAPSE;
  acc.window.limit = collapse.maxPending;
  const reuse = new AuditIDReuse(collapse.maxDone, o.partial === true);
  const collapser = new StageCollapser(
    (r, identity, idHash) => {
      acc.requests++;
      stage = 'filter';
      if (filter === undefined || filter(r)) {
        acc.used++;
        if (!isCompleted(r)) acc.notCompleted++;
        // Without a filter the reuse window would be the collapser's window of completed requests: shared.
        if (filter === undefined && r.auditID !== '') reuse.checkSlot(r, identity, collapser.doneSlot, collapser.doneFresh, idHash);
        else reuse.check(r, identity, idHash);
        stage = component;
        onRecord(r);
        // Between two records: structures over the memory budget spill now (src/scale/ledger.ts).
        settle();
      } else acc.skipped++;
      stage = 'collapse';
    },
    collapse,
    o.partial === true,
  );

  const sources = reorder ? await sortSourcesByTime(o.sources, readOpts) : o.sources;

  let baseBytes = 0;
  /** The last input position handed to kaudit's code. */
  let at: Loc | null = null;
  for (let i = 0; i < sources.length; i++) {
    const src = sources[i]!;
    o.onFile?.(src, i);
    const stats = emptyFileStats(src.path);
    acc.files.push(stats);
    if (src.duplicateOf !== undefined) {
      stats.format = 'duplicate';
      stats.duplicateOf = src.duplicateOf;
      continue;
    }
    let containerFormat = '';
    /** Formats only CloudWatch writes: native events in them come from EKS. */
    let viaCloudWatch = false;
    const providers = new Set<string>();
    const reject = (where: Loc, reason: string): void => {
      const loc: Loc = src.start ? { ...where, offset: src.start } : where;
      stats.lines++;
      stats.rejected++;
      acc.lines++;
      acc.rejected++;
      if (o.strict) throw new StrictError(`${formatLoc(loc)}: ${reason}`);
      o.onReject?.(loc, reason);
    };
    const one = (v: unknown, loc: Loc): void => {
      at = loc;
      stage = 'normalize';
      const rec = normalizeValue(v, src.cluster, o.bodies);
      if (typeof rec === 'string') {
        reject(loc, rec);
        return;
      }
      if (rec instanceof Ignored) {
        stats.lines++;
        stats.ignored++;
        acc.lines++;
        acc.ignored++;
        o.onIgnore?.(src.start ? { ...loc, offset: src.start } : loc, rec.reason);
        return;
      }
      accept(rec, loc);
    };
    /** A record of the input (counted, then stage collapsing). */
    const accept = (rec: AuditRecord, loc: Loc): void => {
      if (viaCloudWatch && rec.provider === 'k8s') rec.provider = 'eks';
      rec.location = src.start ? atOffset(loc, src.start) : loc;
      stats.lines++;
      stats.events++;
      acc.lines++;
      acc.events++;
      providers.add(rec.provider);
      stage = 'collapse';
      collapser.add(rec);
    };
    const sink: IngestSink = {
      value(v, loc) {
        try {
          const c = containerOf(v);
          if (c === null) one(v, loc);
          else {
            containerFormat ||= c.format;
            if (c.format.startsWith('cloudwatch')) viaCloudWatch = true;
            for (let k = 0; k < c.items.length; k++) one(c.items[k], { ...loc, item: k + 1 });
          }
        } catch (e) {
          throw asInternal(e, stage, formatLoc(src.start ? { ...(at ?? loc), offset: src.start } : (at ?? loc)));
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
        o.onProgress?.(baseBytes + n, acc.events, collapser.waitingNow);
      },
    };
    // The field extractor: native events straight from the line's bytes; null sends a line to JSON.parse.
    // The WebAssembly one first (src/ingest/wasmextract.ts), then the JavaScript one.
    const extract: LineExtractor | undefined =
      readOpts.parser === 'reference'
        ? undefined
        : Object.assign(
            (b: Buffer, start: number, end: number, loc: Loc): boolean => {
              if (wasm !== null && wasm.read(b, start, end)) {
                // The record straight from the member table; an event of another shape takes normalizeValue.
                let rec: AuditRecord | null;
                try {
                  at = loc;
                  stage = 'normalize';
                  rec = wasm.record(src.cluster, o.bodies);
                  if (rec !== null) accept(rec, loc);
                } catch (e) {
                  throw asInternal(e, stage, formatLoc(src.start ? { ...loc, offset: src.start } : loc));
                }
                if (rec === null) sink.value(wasm.object(), loc);
                return true;
              }
              const ev = extractEvent(b, start, end);
              if (ev === null) return false;
              sink.value(ev, loc);
              return true;
            },
            { buffers: wasm?.buffers },
          );
    // A byte range of a file (a task of --jobs, a share of --shard) is read as JSON lines: only
    // files detected as such are cut, and a range's first line may not tell.
    const srcOpts = src.end !== undefined && readOpts.format !== 'jsonl' ? { ...readOpts, format: 'jsonl' as const } : readOpts;
    let res;
    try {
      res = await readSource(src, sink, extract ? { ...srcOpts, extract } : srcOpts);
    } catch (e) {
      // The operating system refused the input (permission, a folder, an I/O error): an input error
      // naming it. Anything else thrown while reading is kaudit's own failure.
      const err = e as NodeJS.ErrnoException;
      if (err && typeof err.syscall === 'string' && typeof err.code === 'string') throw new InputError(`${src.path}: cannot read (${err.code === 'EACCES' ? 'permission denied' : err.message})`, 'check the path and its permissions');
      throw asInternal(e, 'reader', at ? formatLoc(at) : src.path);
    }
    stats.format = (res.format === 'jsonl' || res.format === 'json-array') && containerFormat ? containerFormat : res.format;
    stats.gzip = res.gzip;
    stats.providers = [...providers].sort();
    if (res.incomplete) {
      stats.complete = false;
      stats.incomplete = res.incomplete;
      acc.complete = false;
    }
    if (res.sha256) stats.sha256 = res.sha256;
    baseBytes += stats.bytes;
  }
  let partial: PartialResult | null = null;
  try {
    if (o.partial) partial = { ...collapser.leftovers(), firstIds: reuse.firstIds() };
    else collapser.flush();
    if (reorder && o.timeOrder) {
      stage = component;
      reorder.flush();
      o.timeOrder.stats = reorder.stats;
    }
  } catch (e) {
    throw asInternal(e, stage, 'the end of the input (requests still open when it ended)');
  }
  wasm?.release();
  acc.duplicates = collapser.duplicates;
  acc.auditIDReuse = reuse.count;
  acc.window.evicted = collapser.evicted;
  waitingPeak = collapser.peak;
  return { acc, partial };
}
