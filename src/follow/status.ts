// What an operator (or a probe) reads while kaudit follows: the --status-file JSON and a one-line
// status on a terminal's stderr.
import type { InputAccounting } from '../types.js';
import type { SinkStats } from './delivery.js';
import type { PathStream } from './stream.js';
import { stripControl } from '../render/sanitize.js';
import type { RulesReport } from '../analyses/anomalies/index.js';

export interface GapReport {
  time: string;
  message: string;
  bytes: number;
}

export interface FollowStatus {
  kind: 'kaudit.follow.status';
  version: 1;
  time: string;
  startedAt: string;
  pid: number;
  files: {
    path: string;
    name: string;
    dev: string;
    ino: string;
    /** Delivered: every line before this byte is acknowledged by every sink (or filtered out, or waiting for its completing stage). */
    offset: number;
    line: number;
    /** Read: lines before this byte are handed on, some perhaps still buffered for the sinks (`buffered`). */
    readOffset: number;
    size: number;
    /** Bytes written but not yet delivered: `size - offset`. */
    lagBytes: number;
    /** How far, in the log's own time, the delivered position trails the newest byte: the file's last write minus the completion time of the last delivered event; 0 when caught up. */
    lagSeconds: number;
    rotated: boolean;
    gzip: boolean;
  }[];
  input: Omit<InputAccounting, 'files'> & { truncations: number; gaps: number; gapBytes: number };
  /** The stage-collapse window: requests waiting for their completing stage. */
  waiting: number;
  buffered: { batches: number; items: number; bytes: number };
  sinks: SinkStats[];
  checkpoint: { path: string; written: string | null } | null;
  gaps: GapReport[];
  /** With --findings: how many rules run, and which could not judge some requests (body not logged) or dropped state keys. */
  rules: RulesReport | null;
  memory: { rss: number; heapUsed: number };
}

/** What buildStatus reads; the fields the status copies as they are share FollowStatus's types. */
export interface StatusInput extends Pick<FollowStatus, 'waiting' | 'buffered' | 'sinks' | 'checkpoint' | 'gaps' | 'rules'> {
  now: number;
  startedAt: number;
  streams: PathStream[];
  /** Per file name: completion time (ms) of the last event delivered from it. */
  lastDeliveredMs: Map<string, number>;
  /** Per file (`dev:ino`): the position of the newest snapshot every sink acknowledged (or where reading started). */
  deliveredAt: Map<string, { offset: number; line: number }>;
  acc: InputAccounting;
}

export function buildStatus(s: StatusInput): FollowStatus {
  const files: FollowStatus['files'] = [];
  for (const st of s.streams) {
    for (const f of st.files) {
      const key = `${f.id.dev}:${f.id.ino}`;
      // Nothing buffered for the sinks: what was read is delivered (or filtered out). Otherwise the
      // newest acknowledged position; a file first seen since (after a rotation) from its start.
      const d = s.buffered.items === 0 ? { offset: f.offset, line: f.line } : (s.deliveredAt.get(key) ?? { offset: 0, line: 0 });
      const offset = Math.min(d.offset, f.offset);
      const line = Math.min(d.line, f.line);
      const lag = Math.max(0, f.size - offset);
      const last = s.lastDeliveredMs.get(key);
      const lagSeconds = lag === 0 ? 0 : last !== undefined ? Math.max(0, (f.mtimeMs - last) / 1000) : Math.max(0, (s.now - f.mtimeMs) / 1000);
      files.push({ path: st.path, name: f.name, dev: f.id.dev, ino: f.id.ino, offset, line, readOffset: f.offset, size: f.size, lagBytes: lag, lagSeconds: Math.round(lagSeconds * 1000) / 1000, rotated: f.rotated, gzip: f.gzip });
    }
  }
  const { files: _files, ...acc } = s.acc;
  void _files;
  const truncations = s.streams.reduce((n, st) => n + st.truncations, 0);
  const mem = process.memoryUsage();
  return {
    kind: 'kaudit.follow.status',
    version: 1,
    time: new Date(s.now).toISOString(),
    startedAt: new Date(s.startedAt).toISOString(),
    pid: process.pid,
    files,
    input: { ...acc, truncations, gaps: s.gaps.length, gapBytes: s.gaps.reduce((n, g) => n + g.bytes, 0) },
    waiting: s.waiting,
    buffered: s.buffered,
    sinks: s.sinks,
    checkpoint: s.checkpoint,
    gaps: s.gaps.slice(-20),
    rules: s.rules,
    memory: { rss: mem.rss, heapUsed: mem.heapUsed },
  };
}

function bytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** The terminal line: files, delivered, lag, and each sink's state. */
export function statusLine(st: FollowStatus, width: number): string {
  const lagB = st.files.reduce((n, f) => n + f.lagBytes, 0);
  const lagS = st.files.reduce((n, f) => Math.max(n, f.lagSeconds), 0);
  const sinks = st.sinks.map((k) => `${k.name} ${k.retryingSince ? 'RETRYING' : 'ok'} ${k.delivered}${k.deadLettered ? ` (${k.deadLettered} dead-lettered)` : ''}`).join(', ');
  const line = `follow: ${st.files.length} file${st.files.length === 1 ? '' : 's'}, ${st.input.requests} requests, lag ${bytes(lagB)} / ${lagS.toFixed(1)} s | ${sinks}${st.input.gaps ? ` | ${st.input.gaps} GAPS` : ''}`;
  return stripControl(line).slice(0, Math.max(20, width - 1));
}
