// Timelines with outliers (issue 15): one event dated 1970, year 1 or 9999 next to this week's
// leaves the timeline on this week, reports the outlier apart, and keeps the bucket count capped.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { timeline, timelineReport, MAX_BUCKETS, MAX_STATE_BUCKETS, AUTO_BUCKETS, type TimelineState } from '../../src/analyses/investigate/timeline.js';
import { emptyAccounting } from '../../src/pipeline.js';
import type { AuditRecord } from '../../src/types.js';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';

const rec = (time: string, denied = false): AuditRecord => ({ time, timeMs: Date.parse(time), decision: denied ? 'forbid' : 'allow' }) as AuditRecord;

function run(times: string[], bucket: 'hour' | 'day' | 'auto' = 'hour'): ReturnType<typeof timelineReport> {
  const s = timeline.init({ bucket });
  for (const t of times) timeline.add(s, rec(t));
  return timeline.finish(s, { input: emptyAccounting() });
}

const week = Array.from({ length: 7 * 24 }, (_, h) => new Date(Date.parse('2026-03-02T00:30:00Z') + h * 3_600_000).toISOString());

describe('timeline', () => {
  it.each(['1970-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:00:00Z'])('an event dated %s is an outlier, not half a million empty buckets', (odd) => {
    const rep = run([...week, odd]);
    expect(rep.bucket).toBe('hour');
    expect(rep.buckets.length).toBe(7 * 24);
    expect(rep.buckets[0]!.start).toBe('2026-03-02T00:00:00.000Z');
    expect(rep.buckets.reduce((n, b) => n + b.count, 0)).toBe(week.length);
    expect(rep.outliers.requests).toBe(1);
    expect(rep.outliers.buckets).toEqual([{ start: new Date(Math.floor(Date.parse(odd) / 3_600_000) * 3_600_000).toISOString(), count: 1, denied: 0 }]);
    expect(rep.outliers.window).not.toBeNull();
  });

  it('keeps legitimate tails: a quiet week before a busy one is no outlier', () => {
    const quiet = ['2026-02-23T10:00:00Z', '2026-02-25T10:00:00Z'];
    const rep = run([...quiet, ...week], 'day');
    expect(rep.outliers.requests).toBe(0);
    expect(rep.buckets[0]!.start).toBe('2026-02-23T00:00:00.000Z');
    expect(rep.buckets.length).toBe(14);
  });

  it('widens the bucket beyond MAX_BUCKETS and says so', () => {
    // Two years, evenly: no outliers, but 17,520 hours.
    const times = Array.from({ length: 1000 }, (_, i) => new Date(Date.parse('2024-01-01T00:00:00Z') + i * 63_072_000).toISOString());
    const rep = run(times, 'hour');
    expect(rep.outliers.requests).toBe(0);
    expect(rep.buckets.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(rep.bucket).toBe('day');
    expect(rep.widened).toMatch(/^\d+ hours would be more than 2000 buckets; counted per day$/);
    expect(rep.buckets.reduce((n, b) => n + b.count, 0)).toBe(1000);
    // Ten years: weeks, which start on Monday.
    const decade = run(Array.from({ length: 1000 }, (_, i) => new Date(Date.parse('2014-01-01T00:00:00Z') + i * 315_360_000).toISOString()), 'day');
    expect(decade.bucket).toBe('week');
    expect(new Date(decade.buckets[0]!.start).getUTCDay()).toBe(1);
    expect(decade.buckets.reduce((n, b) => n + b.count, 0)).toBe(1000);
  });

  it('auto picks a bucket that fits the span', () => {
    expect(run(week.slice(0, 10), 'auto').bucket).toBe('hour');
    const rep = run(week, 'auto');
    expect(rep.bucket).toBe('day');
    expect(rep.buckets.length).toBeLessThanOrEqual(AUTO_BUCKETS);
    expect(rep.widened).toBe('');
  });

  it('holds a bounded number of buckets whatever the times, and merges to the one-pass answer', () => {
    // One request per hour over 30 years: more distinct hours than a state keeps.
    const times: string[] = [];
    for (let i = 0; i < 30 * 365 * 24; i += 7) times.push(new Date(Date.parse('1990-01-01T00:00:00Z') + i * 3_600_000).toISOString());
    const s = timeline.init({ bucket: 'hour' });
    for (const t of times) timeline.add(s, rec(t));
    expect(s.counts.size).toBeLessThanOrEqual(MAX_STATE_BUCKETS);
    expect(s.level).toBeGreaterThan(0);
    const one = timelineReport(s, emptyAccounting());
    const a: TimelineState = timeline.init({ bucket: 'hour' });
    const b: TimelineState = timeline.init({ bucket: 'hour' });
    times.forEach((t, i) => timeline.add(i % 3 === 0 ? a : b, rec(t)));
    const merged = timelineReport(timeline.merge(a, b), emptyAccounting());
    expect(merged).toEqual(one);
    expect(one.buckets.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(one.buckets.reduce((n, x) => n + x.count, 0) + one.outliers.requests).toBe(times.length);
  });

  it('investigate --timeline hour with a 1970 event: a small report, the outlier listed apart', async () => {
    const dir = tmpDir();
    const events = week.map((t, i) => event({ auditID: `w-${i}`, requestReceivedTimestamp: t, stageTimestamp: t }));
    events.push(event({ auditID: 'old', requestReceivedTimestamp: '1970-01-01T00:00:00.000000Z', stageTimestamp: '1970-01-01T00:00:00.000000Z' }));
    writeFiles(dir, { 'audit.log': jsonl(events) });
    const json = await runCli(['investigate', join(dir, 'audit.log'), '--timeline', 'hour', '-o', 'json', '-q']);
    expect(json.code).toBe(0);
    expect(json.stdout.length).toBeLessThan(100_000);
    const rep = JSON.parse(json.stdout);
    expect(rep.outliers).toMatchObject({ requests: 1, buckets: [{ start: '1970-01-01T00:00:00.000Z', count: 1 }] });
    const table = await runCli(['investigate', join(dir, 'audit.log'), '--timeline', 'hour', '-q']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Outliers \(left off the timeline\)/);
    expect(table.stdout).toMatch(/1970-01-01T00:00:00.000Z +│ +1 │/);
    const csv = await runCli(['investigate', join(dir, 'audit.log'), '--timeline', 'hour', '-o', 'csv']);
    expect(csv.stderr).toMatch(/1 request dated far outside the rest/);
    expect(csv.stdout.trim().split('\n').length).toBe(1 + 7 * 24);
  });
});
