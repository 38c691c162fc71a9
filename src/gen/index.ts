// Deterministic, realistic cluster audit log: the sample fixture, test inputs and benchmark data.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { Rng } from './rng.js';
import { ACTORS, type HourCtx } from './actors.js';
import { toEvents, type Req, type StagedEvent } from './events.js';
import { INCIDENTS, incidentsFor } from './incidents.js';
import { writeFile } from 'node:fs/promises';
import { assignLevel, type LevelShares } from './bodies.js';

export interface GenOptions {
  out: string;
  days: number;
  seed: number;
  /** Multiplier for machine traffic (leases, kubelets, controllers, scrapes). 1 ≈ 110k events/day. */
  scale: number;
  /** First day, midnight UTC. */
  start: string;
  /** gzip: older days rotated as audit-<time>.log.gz; plain: rotated but not compressed; none: one audit.log. */
  rotate: 'gzip' | 'plain' | 'none';
  /** Stop after an hour once this many bytes are written (0: no limit). */
  maxBytes: number;
  /** Script the incidents of src/gen/incidents.ts into the last day. */
  incidents: boolean;
  /** Where to write the incidents manifest (auditIDs and expected rules), if anywhere. */
  manifest?: string;
  /**
   * Shares of the get/create/update/patch/delete requests logged at the Request and RequestResponse
   * levels, with realistic bodies (src/gen/bodies.ts); absent: Metadata, except what actors log
   * with a body. Drawn from a generator of their own, so the requests are the same either way.
   */
  levels?: LevelShares;
}

export const DEFAULT_GEN: GenOptions = { out: 'out', days: 1, seed: 1, scale: 1, start: '2026-03-02T00:00:00Z', rotate: 'gzip', maxBytes: 0, incidents: false };

export interface GenResult {
  files: string[];
  events: number;
  bytes: number;
}

class Segment {
  private pending: string[] = [];
  private size = 0;
  constructor(
    private readonly sink: NodeJS.WritableStream,
    private readonly file: NodeJS.WritableStream,
  ) {}
  async write(line: string): Promise<void> {
    this.pending.push(line);
    this.size += line.length;
    if (this.size > 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const ok = this.sink.write(this.pending.join(''));
    this.pending = [];
    this.size = 0;
    if (!ok) await once(this.sink, 'drain');
  }
  async close(): Promise<void> {
    await this.flush();
    this.sink.end();
    await once(this.file, 'close');
  }
}

function rotatedName(endMs: number, gzip: boolean): string {
  return `audit-${new Date(endMs).toISOString().replace(/:/g, '-').replace('Z', '')}.log${gzip ? '.gz' : ''}`;
}

export async function generate(o: GenOptions): Promise<GenResult> {
  await mkdir(o.out, { recursive: true });
  const rng = new Rng(o.seed);
  const levelRng = new Rng(o.seed ^ 0x1e7e15);
  const start = Date.parse(o.start);
  const files: string[] = [];
  let events = 0;
  let bytes = 0;
  let carry: StagedEvent[] = [];
  const tagged: Record<string, string[]> = {};
  let seg: Segment | null = null;
  let segPath = '';

  const open = (path: string, gzip: boolean): Segment => {
    const file = createWriteStream(path);
    if (!gzip) return new Segment(file, file);
    const z = createGzip({ level: 6 });
    z.pipe(file);
    return new Segment(z, file);
  };

  const hours = o.days * 24;
  let lastHour = hours;
  for (let h = 0; h < hours; h++) {
    const t0 = start + h * 3_600_000;
    const day = Math.floor(h / 24);
    const isLastDay = day === o.days - 1 || (o.maxBytes > 0 && false);
    if (h % 24 === 0 && o.rotate !== 'none') {
      if (seg) await seg.close();
      segPath = isLastDay ? join(o.out, 'audit.log') : join(o.out, '.segment');
      seg = open(segPath, !isLastDay && o.rotate === 'gzip');
    } else if (!seg) {
      segPath = join(o.out, 'audit.log');
      seg = open(segPath, false);
    }
    const reqs: Req[] = [];
    const d = new Date(t0);
    const ctx: HourCtx = { rng, t0, hourOfDay: d.getUTCHours(), weekday: d.getUTCDay(), scale: o.scale, emit: (r) => reqs.push(r) };
    for (const actor of ACTORS) actor(ctx);
    if (o.incidents && isLastDay) incidentsFor(ctx);
    const staged = carry;
    if (o.levels) for (const r of reqs) assignLevel(r, o.levels, levelRng);
    for (const r of reqs) for (const e of toEvents(r, rng)) staged.push(e);
    staged.sort((a, b) => a.at - b.at);
    const end = t0 + 3_600_000;
    carry = [];
    const finalHour = h === hours - 1;
    for (const e of staged) {
      if (e.at >= end && !finalHour) carry.push(e);
      else {
        if (e.tag) {
          const ids = (tagged[e.tag] ??= []);
          if (!ids.includes(e.auditID)) ids.push(e.auditID);
        }
        await seg!.write(e.json + '\n');
        events++;
        bytes += e.json.length + 1;
      }
    }
    if (o.rotate !== 'none' && (h % 24 === 23 || finalHour) && !isLastDay) {
      await seg!.close();
      seg = null;
      const name = rotatedName(end - 1, o.rotate === 'gzip');
      const { rename } = await import('node:fs/promises');
      await rename(segPath, join(o.out, name));
      files.push(join(o.out, name));
    }
    if (o.maxBytes > 0 && bytes >= o.maxBytes) {
      lastHour = h;
      break;
    }
  }
  if (seg) {
    await seg.close();
    files.push(segPath);
  }
  void lastHour;
  if (o.manifest) {
    const incidents = INCIDENTS.map((i) => ({ name: i.name, description: i.description, subject: i.subject, expect: i.expect, auditIDs: tagged[i.name] ?? [] }));
    await writeFile(o.manifest, JSON.stringify({ seed: o.seed, incidents }, null, 2) + '\n');
  }
  return { files, events, bytes };
}
