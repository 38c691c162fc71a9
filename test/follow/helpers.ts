// Helpers for the follow tests: realistic audit lines, an in-process follower with a memory sink,
// a spawned `audit follow`, and waiting on conditions (a deadline only to fail, never a timing).
import { appendFileSync, readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { follow, type FollowOptions, type FollowResult } from '../../src/follow/index.js';
import type { Item, SendOutcome, Sink } from '../../src/follow/types.js';
import { FOLLOW_COLLAPSE } from '../../src/cli/follow.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'kaudit-follow-'));
}

/** The auditID of event number i. */
export const idOf = (i: number): string => `0000${i.toString(16).padStart(4, '0')}-aaaa-4bbb-8ccc-${i.toString().padStart(12, '0')}`;

/** A realistic audit Event (about 700 bytes) for request number i. */
export function auditEvent(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  const t = new Date(Date.UTC(2026, 2, 2, 10, 0, 0) + i * 10).toISOString().replace('Z', '000Z').replace(/\.(\d{3})000Z$/, '.$1000Z');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: idOf(i),
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/team-${i % 7}/pods/web-${i}`,
    verb: 'get',
    user: { username: i % 5 === 0 ? 'system:serviceaccount:ci:deployer' : 'alice@example.com', groups: ['system:authenticated', 'developers'] },
    sourceIPs: ['10.0.3.17'],
    userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819',
    objectRef: { resource: 'pods', namespace: `team-${i % 7}`, name: `web-${i}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by RoleBinding "dev/team" of ClusterRole "view" to Group "developers"' },
    ...over,
  };
}

export function lines(from: number, n: number, over: (i: number) => Record<string, unknown> = () => ({})): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += JSON.stringify(auditEvent(i, over(i))) + '\n';
  return s;
}

export function append(file: string, from: number, n: number, over?: (i: number) => Record<string, unknown>): void {
  appendFileSync(file, lines(from, n, over));
}

export const range = (from: number, n: number): string[] => Array.from({ length: n }, (_, k) => idOf(from + k));

/** Polls `cond` every 20 ms; fails with `what` when it has not held within `ms` (a deadline, not a timing). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A sink that keeps what it gets; `fail` decides per call (throw a SinkError, or return results). */
export class MemorySink implements Sink {
  readonly name: string;
  received: Item[] = [];
  calls = 0;
  gate: Promise<void> | null = null;
  fail: ((items: Item[], call: number) => SendOutcome | null | Promise<SendOutcome | null>) | null = null;
  constructor(name = 'memory://test') {
    this.name = name;
  }
  async send(items: Item[]): Promise<SendOutcome> {
    const call = ++this.calls;
    if (this.gate) await this.gate;
    const out = this.fail ? await this.fail(items, call) : null;
    if (out) {
      out.results.forEach((r, i) => r === 'ok' && this.received.push(items[i]!));
      return out;
    }
    this.received.push(...items);
    return { results: items.map(() => 'ok') };
  }
  ids(): string[] {
    return this.received.map((it) => (JSON.parse(it.json) as { auditID: string }).auditID);
  }
  async close(): Promise<void> {}
}

export interface Running {
  sink: MemorySink;
  stop(): Promise<FollowResult>;
  done: Promise<FollowResult>;
  stderr(): string;
}

/** Runs follow() in this process with fast polling and a memory sink. */
export function startFollow(paths: string[], over: Partial<FollowOptions> = {}, sink = new MemorySink(), tty = false): Running {
  const err = Object.assign(new PassThrough(), { isTTY: tty, columns: 120 });
  let text = '';
  err.on('data', (d: Buffer) => (text += d.toString()));
  const stop = new AbortController();
  const o: FollowOptions = {
    paths: paths.map((path) => ({ path, cluster: '' })),
    sinks: [sink],
    statusIntervalMs: 100,
    deadLetterDir: tmp(),
    raw: false,
    records: true,
    findings: false,
    rules: null,
    filter: () => true,
    startAtEnd: false,
    batch: { maxEvents: 100, maxBytes: 1 << 20, waitMs: 20, maxQueued: 2 },
    retry: { initialMs: 20, maxMs: 200 },
    pollMs: 50,
    rotateWaitMs: 200,
    checkpointIntervalMs: 0,
    shutdownTimeoutMs: 5000,
    maxLineBytes: 64 << 20,
    collapse: FOLLOW_COLLAPSE,
    quiet: false,
    ...over,
  };
  const done = follow(o, { stderr: err, now: () => Date.now() }, { stop: stop.signal });
  return {
    sink,
    done,
    stderr: () => text,
    stop: () => {
      stop.abort();
      return done;
    },
  };
}

/**
 * A first run of `audit follow` with its checkpoint at `state`: writes lines 0..n-1 to `log`,
 * follows until all n are delivered, and stops (the checkpoint then says where a restart begins).
 */
export async function followedOnce(log: string, state: string, n: number): Promise<void> {
  append(log, 0, n);
  const a = startFollow([log], { statePath: state });
  await waitFor(() => a.sink.received.length === n, `first ${n}`);
  await a.stop();
}

export function readJson<T = any>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

export interface Cli {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  exited: Promise<number | null>;
}

/** Starts `node bin/audit.js follow …` (the built dist). */
export function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [join(ROOT, 'bin/audit.js'), 'follow', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, stdout: () => out, exited };
}

/** Counts of each value. */
export function counts(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** Asserts that `got` holds exactly the ids in `want`, each once; returns a readable diff when not. */
export function sameSetOnce(got: string[], want: string[]): string | null {
  const c = counts(got);
  const missing = want.filter((w) => !c.has(w));
  const dup = [...c].filter(([, n]) => n > 1).map(([k]) => k);
  const wantSet = new Set(want);
  const extra = [...c.keys()].filter((k) => !wantSet.has(k));
  if (!missing.length && !dup.length && !extra.length) return null;
  return `missing ${missing.length} (${missing.slice(0, 3).join(', ')}), duplicated ${dup.length} (${dup.slice(0, 3).join(', ')}), unexpected ${extra.length}`;
}
