// `audit follow` as a library: follow(options, io, control) reads the paths as tail -F does,
// turns lines into items (records, raw events, findings), delivers them in batches to every sink,
// and checkpoints read positions only once every sink acknowledged. It returns when `control.stop`
// aborts (SIGTERM/SIGINT in the CLI), after flushing and writing the last checkpoint.
import { dirname } from 'node:path';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { Predicate } from '../filter/index.js';
import type { CollapseOptions } from '../normalize/collapse.js';
import type { Sink, StreamState } from './types.js';
import { emptyAccounting, formatLoc } from '../pipeline.js';
import { plural } from '../render/format.js';
import { InputError } from '../util/errors.js';
import { stripControl } from '../render/sanitize.js';
import { PathStream } from './stream.js';
import { StreamProcessor, pendingFromJson, pendingToJson } from './records.js';
import { LiveDetector } from './findings.js';
import type { RuleSet } from '../rules/detections.js';
import { rulesReport } from '../analyses/anomalies/index.js';
import { consume, type LineHandler } from './lines.js';
import type { TrackedFile } from './tracked.js';
import { Delivery, type BatchLimits, type SinkStats } from './delivery.js';
import type { RetryPolicy } from './retry.js';
import { DeadLetter } from './deadletter.js';
import { loadState, lockState, stateJson, writeAtomic } from './checkpoint.js';
import { Checkpointer } from './checkpointer.js';
import { Waker } from './wake.js';
import { buildStatus, statusLine, type FollowStatus, type GapReport } from './status.js';

export interface FollowOptions {
  /** Files to follow (they may not exist yet), each with its cluster label ('' for none). */
  paths: { path: string; cluster: string }[];
  sinks: Sink[];
  statePath?: string;
  statusPath?: string;
  statusIntervalMs: number;
  deadLetterDir: string;
  raw: boolean;
  records: boolean;
  findings: boolean;
  /** The detection rules --findings runs (loadRuleSet); null without --findings. */
  rules: RuleSet | null;
  filter: Predicate;
  startAtEnd: boolean;
  batch: BatchLimits;
  retry: RetryPolicy;
  pollMs: number;
  /** Wake on file-system notification (inotify) as well as every pollMs (default true). */
  notify?: boolean;
  rotateWaitMs: number;
  /** Longest time between two checkpoint writes while batches are acknowledged, ms (see Checkpointer). */
  checkpointIntervalMs: number;
  shutdownTimeoutMs: number;
  maxLineBytes: number;
  collapse: CollapseOptions;
  /** Fewer notes on stderr (gaps and sink failures are always shown). */
  quiet: boolean;
}

export interface FollowIO {
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  now(): number;
}

export interface FollowControl {
  /** Graceful stop: stop reading, deliver what was read, checkpoint. */
  stop: AbortSignal;
  /** Stop waiting for sinks (a second signal); what was not delivered stays after the checkpoint. */
  hardStop?: AbortSignal;
  /** Registers the SIGHUP handler: reopen files and sinks. */
  onReopen?(f: () => void): void;
}

export interface FollowResult {
  status: FollowStatus;
  /** Every sealed batch was delivered before the end (false when the shutdown timeout cut it short). */
  drained: boolean;
}

/** What a checkpoint holds for one sealed batch: positions, the stage-collapse window, last event times. */
interface Snapshot {
  streams: (Omit<StreamState, 'pending'> & { waiting: AuditRecord[] })[];
  lastEvent: [string, number][];
}

/** Shown rejected lines at most (then only counted in the status). */
const SHOWN_REJECTS = 5;

/** Thrown from a line handler to stop consuming at once (shutdown while reading was blocked). */
class StopReading extends Error {}

export async function follow(o: FollowOptions, io: FollowIO, ctl: FollowControl): Promise<FollowResult> {
  const startedAt = io.now();
  const acc: InputAccounting = emptyAccounting();
  const gaps: GapReport[] = [];
  let statusShown = false;
  const tty = io.stderr.isTTY === true && !o.quiet;
  const say = (msg: string): void => {
    if (statusShown) io.stderr.write('\r\x1b[K');
    statusShown = false;
    io.stderr.write(`audit follow: ${stripControl(msg)}\n`);
  };
  const note = (msg: string): void => {
    if (!o.quiet) say(msg);
  };
  let rejects = 0;
  const reportReject = (loc: Loc, reason: string): void => {
    if (++rejects <= SHOWN_REJECTS && !o.quiet) say(`${formatLoc(loc)}: ${reason.slice(0, 300)}${rejects === SHOWN_REJECTS ? ' (further rejected lines are only counted: see the status)' : ''}`);
  };

  const release = o.statePath ? await lockState(o.statePath) : null;
  const hard = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  let waker: Waker | null = null;
  const streams: PathStream[] = [];
  const sinks = o.sinks.map((sink) => ({ sink, deadLetter: new DeadLetter(o.deadLetterDir, sink.name) }));
  try {
    const mode = o.raw ? 'raw' : 'records';
    const saved = o.statePath ? await loadState(o.statePath) : null;
    if (saved && saved.mode !== mode) {
      throw new InputError(`--state: ${o.statePath} was written by audit follow ${saved.mode === 'raw' ? 'with' : 'without'} --raw`, `run with the same choice, or use a new --state file (its positions are for the other kind of output)`);
    }
    const lastDelivered = new Map<string, number>();
    const deliveredAt = new Map<string, { offset: number; line: number }>();

    // ---- checkpoints: the newest snapshot every sink acknowledged ----
    const checkpoints = new Checkpointer<Snapshot>(
      async (snap) => {
        // Sizes as seen now (not only at the seal): a gap report after a deletion then says how much was known to be unread.
        const live = new Map<string, number>();
        for (const st of streams) for (const f of st.files) live.set(`${f.id.dev}:${f.id.ino}`, Math.max(f.size, f.readPos));
        const state: StreamState[] = snap.streams.map(({ waiting, ...s }) => ({
          ...s,
          files: s.files.map((f) => ({ ...f, size: Math.max(f.size, live.get(`${f.dev}:${f.ino}`) ?? 0) })),
          pending: waiting.map(pendingToJson),
        }));
        await writeAtomic(o.statePath!, stateJson(mode, state, io.now()));
      },
      o.checkpointIntervalMs,
      io.now,
      say,
    );

    const delivery: Delivery<Snapshot> = new Delivery<Snapshot>(
      sinks,
      o.batch,
      o.retry,
      hard.signal,
      io.now,
      (snap) => {
        for (const [k, t] of snap.lastEvent) lastDelivered.set(k, t);
        for (const st of snap.streams) for (const f of st.files) deliveredAt.set(`${f.dev}:${f.ino}`, { offset: f.offset, line: f.line });
        if (o.statePath) checkpoints.offer(snap);
      },
      say,
    );
    if (o.findings && !o.rules) throw new Error('follow: findings without a rule set');
    const detector = o.findings && o.rules ? new LiveDetector(o.rules) : null;
    const events = {
      note,
      gap: (msg: string, bytes: number): void => {
        gaps.push({ time: new Date(io.now()).toISOString(), message: msg, bytes });
        say(`GAP: ${msg}`);
      },
    };
    for (const p of o.paths) {
      const proc = new StreamProcessor(p.cluster, { raw: o.raw, records: o.records, findings: o.findings, filter: o.filter, collapse: o.collapse }, acc, (it) => delivery.add(it), detector);
      const s = new PathStream(p.path, proc, events, { rotateWaitMs: o.rotateWaitMs, startAtEnd: o.startAtEnd });
      streams.push(s);
      const prev = saved?.streams.find((x) => x.path === p.path);
      await s.start(prev);
      if (prev && !o.raw) proc.restore(prev.pending.map(pendingFromJson).filter((r): r is AuditRecord => r !== null));
    }

    // Where reading starts (a checkpoint's position, or the end with --start-at-end) counts as delivered.
    for (const s of streams) for (const f of s.files) deliveredAt.set(`${f.id.dev}:${f.id.ino}`, { offset: f.offset, line: f.line });
    const snapshot = (): Snapshot => {
      const lastEvent: [string, number][] = [];
      for (const s of streams) for (const f of s.files) if (Number.isFinite(f.lastEventMs)) lastEvent.push([`${f.id.dev}:${f.id.ino}`, f.lastEventMs]);
      return { streams: streams.map((s) => ({ ...s.state(), cluster: s.processor.cluster, waiting: s.processor.waiting() })), lastEvent };
    };
    // The starting point is a checkpoint too (nothing read yet): a crash before the first batch is
    // acknowledged must not lose the files as they are now, e.g. one rotated before the restart.
    if (o.statePath) {
      checkpoints.offer(snapshot());
      await checkpoints.flush();
    }

    // ---- waking up: file-system notification, the poll timer, signals ----
    waker = new Waker(new Set(o.paths.map((p) => dirname(p.path))), o.pollMs, o.notify !== false, ctl.stop);
    const wake = (): void => waker!.wake();
    const waitWake = (ms: number): Promise<void> => waker!.wait(ms);
    ctl.stop.addEventListener('abort', () => {
      wake();
      delivery.wake();
    });
    ctl.hardStop?.addEventListener('abort', () => hard.abort());
    let reopen = false;
    ctl.onReopen?.(() => {
      reopen = true;
      wake();
    });

    // ---- status ----
    const status = (): FollowStatus =>
      buildStatus({
        now: io.now(),
        startedAt,
        streams,
        lastDeliveredMs: lastDelivered,
        deliveredAt,
        acc,
        waiting: streams.reduce((n, s) => n + s.processor.waiting().length, 0),
        buffered: { batches: delivery.pendingBatches, items: delivery.bufferedItems, bytes: delivery.bufferedBytes },
        sinks: delivery.stats(),
        checkpoint: o.statePath ? { path: o.statePath, written: checkpoints.written } : null,
        gaps,
        rules: detector ? rulesReport(o.rules, detector.stats()) : null,
      });
    let statusWriting = false;
    const showStatus = async (): Promise<void> => {
      const st = status();
      if (tty) {
        io.stderr.write(`\r${statusLine(st, io.stderr.columns ?? 80)}\x1b[K`);
        statusShown = true;
      }
      if (o.statusPath && !statusWriting) {
        statusWriting = true;
        await writeAtomic(o.statusPath, JSON.stringify(st, null, 2) + '\n', false).catch((e: Error) => say(`cannot write --status-file ${o.statusPath}: ${e.message}`));
        statusWriting = false;
      }
    };
    const statusTimer = setInterval(() => void showStatus(), o.statusIntervalMs);
    timers.push(statusTimer);
    void showStatus();

    // ---- reading ----
    const afterLine = async (): Promise<void> => {
      if (!delivery.full) return;
      delivery.seal(snapshot());
      while (delivery.blocked) {
        if (ctl.stop.aborted) throw new StopReading();
        if (io.now() - lastRefresh >= o.pollMs) await refreshAll();
        await Promise.race([delivery.changed(), waitWake(o.pollMs)]);
      }
    };
    const handler = (s: PathStream, f: TrackedFile): LineHandler => ({
      value: (v, loc, _end, text) => {
        s.processor.value(v, loc, text, reportReject);
        f.lastEventMs = s.processor.lastEventMs;
        return afterLine();
      },
      reject: (loc, _end, reason) => {
        s.processor.rejected();
        reportReject(loc, reason);
        return afterLine();
      },
    });
    const readSome = async (): Promise<boolean> => {
      let any = false;
      for (const s of streams) {
        const f = s.next();
        if (!f) continue;
        let chunk: Buffer | null;
        try {
          chunk = await f.read();
        } catch (e) {
          say(`${f.name}: read failed (${(e as Error).message}); trying again at the next look`);
          f.atEof = true;
          continue;
        }
        if (!chunk) continue;
        any = true;
        await consume(f, chunk, o.maxLineBytes, handler(s, f));
        delivery.touch();
        if (ctl.stop.aborted) break;
      }
      return any;
    };
    let lastRefresh = 0;
    const refreshAll = async (): Promise<void> => {
      const now = io.now();
      for (const s of streams) {
        try {
          await s.refresh(now);
        } catch (e) {
          say(`${s.path}: ${(e as Error).message}`);
        }
      }
      lastRefresh = now;
    };
    const finishRotated = async (): Promise<void> => {
      const now = io.now();
      for (const s of streams) {
        for (const f of s.finishable(now)) {
          await consume(f, null, o.maxLineBytes, handler(s, f), true);
          note(`${f.name}: finished (${f.line} lines)${f.rotated && !f.gzip ? ' after rotation' : ''}`);
          await s.retire(f);
          delivery.touch();
        }
      }
    };

    try {
      while (!ctl.stop.aborted) {
        if (reopen) {
          reopen = false;
          for (const k of sinks) {
            await k.sink.reopen?.();
            await k.deadLetter.reopen();
          }
          await refreshAll();
          note('SIGHUP: files and sinks reopened');
        }
        if (delivery.blocked) {
          // Not reading, but still looking: a new file at the path is opened now, so that its
          // descriptor keeps it readable even if rotation deletes it before the sink is back.
          if (io.now() - lastRefresh >= o.pollMs) await refreshAll();
          await Promise.race([delivery.changed(), waitWake(o.pollMs)]);
          continue;
        }
        if (await readSome()) {
          if (delivery.due) delivery.seal(snapshot());
          if (io.now() - lastRefresh >= o.pollMs) {
            await refreshAll();
            // Under a steady load there is always more to read: retire rotated files here too.
            await finishRotated();
          }
          continue;
        }
        await refreshAll();
        if (streams.some((s) => s.next())) continue;
        await finishRotated();
        if (delivery.due) {
          delivery.seal(snapshot());
          continue;
        }
        await waitWake(Math.min(delivery.dueIn, o.pollMs));
      }
    } catch (e) {
      if (!(e instanceof StopReading)) throw e;
    }

    // ---- shutdown: deliver what was read, checkpoint, close ----
    clearInterval(statusTimer);
    if (!o.statePath) for (const s of streams) s.processor.flushWaiting();
    delivery.seal(snapshot());
    let drained = true;
    const deadline = new Promise<'timeout'>((resolve) => timers.push(setTimeout(() => resolve('timeout'), o.shutdownTimeoutMs)));
    const hardP = new Promise<'timeout'>((resolve) => (hard.signal.aborted ? resolve('timeout') : hard.signal.addEventListener('abort', () => resolve('timeout'))));
    while (delivery.pendingBatches > 0) {
      const r = await Promise.race([delivery.changed().then(() => 'changed' as const), deadline, hardP]);
      if (r === 'timeout') {
        drained = false;
        say(`stopping with ${delivery.pendingBatches} batch${delivery.pendingBatches === 1 ? '' : 'es'} (${delivery.bufferedItems} items) not delivered; ${o.statePath ? 'the checkpoint keeps them for the next start' : 'they are lost: without --state nothing remembers where to start again'}`);
        hard.abort();
        break;
      }
    }
    // Not drained: the last checkpoint stays, written again with the sizes seen since.
    if (o.statePath) await checkpoints.flush(!drained);
    const final = status();
    while (statusWriting) await new Promise((r) => setTimeout(r, 5));
    if (o.statusPath) await writeAtomic(o.statusPath, JSON.stringify(final, null, 2) + '\n', false).catch(() => undefined);
    if (statusShown) io.stderr.write('\r\x1b[K');
    if (!o.quiet) {
      const sinkText = final.sinks.map((k: SinkStats) => `${k.name}: ${k.delivered} delivered, ${k.retried} retried, ${k.deadLettered} dead-lettered, ${k.dropped} dropped`).join('; ');
      io.stderr.write(
        `audit follow: stopped. read ${plural(acc.lines, 'line')}: ${plural(acc.events, 'event')} (${plural(acc.requests, 'request')}${acc.duplicates ? `, ${plural(acc.duplicates, 'stage duplicate')}` : ''}), ${acc.rejected} rejected; ${acc.used} handed to the sinks, ${acc.skipped} skipped by filters${final.waiting ? `; ${final.waiting} waiting for their completing stage${o.statePath ? ', kept in the checkpoint' : ''}` : ''}. ${sinkText}${gaps.length ? `. ${gaps.length} GAPS (see above)` : ''}\n`,
      );
    }
    return { status: final, drained };
  } finally {
    for (const t of timers) clearTimeout(t);
    waker?.close();
    for (const s of streams) await s.close().catch(() => undefined);
    for (const k of sinks) {
      await k.sink.close().catch(() => undefined);
      await k.deadLetter.close().catch(() => undefined);
    }
    await release?.();
  }
}
