// `audit view`'s bounded memory: the compact row store (exact values back, its byte accounting, its
// dictionary freed as rows go), the two caps (--max-rows and --max-bytes: the kept rows are the
// newest that fit both, as a brute-force reference computes them; merged states equal one pass),
// the page's data read from the store equal to the data read from the records, the streamed gzip
// equal to the one-shot one, and the truncation notice on stderr, in -o json and on the page.
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { collect, runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { view, DEFAULT_VIEW, capNotice, DEFAULT_MAX_BYTES, ROW_PEAK_BYTES, defaultMaxRows, type ViewReport, type ViewOptions } from '../../src/analyses/view/index.js';
import { RowStore, ROW_BYTES, jsonBytes } from '../../src/analyses/view/store.js';
import { toPayload } from '../../src/analyses/view/payload.js';
import { encodeData, encodeDataStreaming, jsonChunks, renderViewHtml, renderViewHtmlStreaming, loadPageAssets, writeViewHtml } from '../../src/analyses/view/html.js';
import { ColumnBuilder, CommandTableBuilder, pagePayload } from '../../src/analyses/view/builder.js';
import { encodeTable } from '../../src/analyses/view/columns.js';
import { COMMAND_EXTRA_FIELDS } from '../../src/analyses/view/payload.js';
import { RECORD_FIELDS } from '../../src/render/records.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };

function reportOf(records: AuditRecord[], o: Partial<ViewOptions> = {}): ViewReport {
  const s = view.init({ ...DEFAULT_VIEW, ...o });
  for (const r of records) view.add(s, r);
  return view.finish(s, { input: NO_INPUT });
}

/** Data bytes of a set of records, counted from scratch: distinct strings once, raw fields per row, ROW_BYTES per row. */
function bytesOf(records: AuditRecord[]): number {
  const store = new RowStore();
  for (const r of records) store.put(r);
  return store.bytes;
}

/** The newest rows (by time, then log position) that fit both caps, in log order: the brute-force reference. */
function newestThatFit(records: AuditRecord[], maxRows: number, maxBytes: number): AuditRecord[] {
  const byAge = records.map((r, i) => ({ r, i, t: Number.isFinite(r.timeMs) ? r.timeMs : -Infinity })).sort((a, b) => b.t - a.t || b.i - a.i);
  let k = 0;
  while (k < byAge.length && k < maxRows && bytesOf(byAge.slice(0, k + 1).map((x) => x.r)) <= maxBytes) k++;
  return byAge.slice(0, k).sort((a, b) => a.i - b.i).map((x) => x.r);
}

/** The fields the store keeps, as they should come back. */
function kept(r: AuditRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) o[f] = r[f];
  o.responseStartedMs = r.responseStartedMs;
  o.location = { file: r.location.file, line: r.location.line, unit: r.location.unit };
  return o;
}

let sample: AuditRecord[];
/** Records with a distinct 2 KB user agent each: what makes a page large. */
let wide: AuditRecord[];

beforeAll(async () => {
  sample = (await collect(['fixtures/sample'])).records;
  wide = sample.slice(0, 300).map((r, i) => ({ ...r, userAgent: `kubectl/v1.30.0 ${String(i).padStart(6, '0')}${'x'.repeat(2000)}` }));
});

describe('the row store', () => {
  it('gives back every kept field exactly, NaN times, null durations and shared groups included', () => {
    const odd = { ...sample[0]!, timeMs: NaN, time: '', durationMs: null, responseStartedMs: 12.5, auditIDReused: true, groups: ['a', '</script>', '\u2028'], userAgent: '=cmd|"/c calc"!A1' };
    const recs = [...sample.slice(0, 500), odd];
    const store = new RowStore();
    const slots = recs.map((r) => store.put(r));
    const read = store.records();
    slots.forEach((s, i) => expect(read(s)).toEqual(kept(recs[i]!)));
    expect(Object.keys(read(slots[0]!))).toEqual([...RECORD_FIELDS, 'responseStartedMs', 'location']);
  });

  it('counts each distinct string once, and frees it with its last row', () => {
    const store = new RowStore();
    const a = store.put(wide[0]!);
    const one = store.bytes;
    const ua = jsonBytes(wide[0]!.userAgent);
    expect(one).toBeGreaterThan(ua + ROW_BYTES);
    // The same record again: only its raw fields (time, auditID, requestURI) and ROW_BYTES are new.
    const b = store.put(wide[0]!);
    expect(store.bytes - one).toBe(jsonBytes(wide[0]!.time) + jsonBytes(wide[0]!.auditID) + jsonBytes(wide[0]!.requestURI) + ROW_BYTES);
    store.drop(a);
    expect(store.bytes).toBe(one);
    const distinct = store.distinct;
    store.drop(b);
    expect(store.bytes).toBe(0);
    expect(store.distinct).toBe(0);
    expect(distinct).toBeGreaterThan(0);
  });

  it('holds no more distinct strings than its rows need, however many rows passed through', () => {
    const s = view.init({ ...DEFAULT_VIEW, maxRows: 10 });
    for (const r of wide) view.add(s, r);
    expect(s.store.rows).toBe(10);
    // 10 distinct user agents, not 300; the other fields repeat.
    expect(s.store.distinct).toBeLessThan(10 * 30);
    expect(s.store.bytes).toBe(bytesOf(view.finish(s, { input: NO_INPUT }).records));
  });
});

describe('the caps', () => {
  it('keep, under --max-bytes, the newest requests whose data fits, and say so', () => {
    const maxBytes = 100_000;
    const rep = reportOf(wide, { maxBytes });
    const want = newestThatFit(wide, Infinity, maxBytes);
    expect(want.length).toBeGreaterThan(10);
    expect(want.length).toBeLessThan(wide.length);
    expect(rep.records.map((r) => r.auditID)).toEqual(want.map((r) => r.auditID));
    expect(rep.summary).toMatchObject({ calls: want.length, matched: wide.length, leftOut: wide.length - want.length, maxBytes, cappedBy: 'max-bytes', bytes: bytesOf(want) });
    expect(rep.summary.bytes).toBeLessThanOrEqual(maxBytes);
    // The newest left-out request is older than (or as old as) every kept one.
    const out = wide.filter((r) => !want.includes(r));
    const newestOut = out.reduce((a, b) => (b.timeMs >= a.timeMs ? b : a));
    expect(rep.summary.leftOutUntil).toBe(newestOut.time);
    expect(Math.min(...rep.records.map((r) => r.timeMs))).toBeGreaterThanOrEqual(newestOut.timeMs);
  });

  it('keep the newest requests that fit both caps, whichever binds first (brute-force reference)', () => {
    const part = [...wide.slice(0, 60), ...sample.slice(0, 60)];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 130 }), fc.integer({ min: 50, max: 200_000 }), (maxRows, maxBytes) => {
        const rep = reportOf(part, { maxRows, maxBytes });
        const want = newestThatFit(part, maxRows, maxBytes);
        expect(rep.records.map((r) => r.auditID)).toEqual(want.map((r) => r.auditID));
        expect(rep.summary.cappedBy).toBe(want.length === part.length ? '' : want.length === maxRows ? 'max-rows' : 'max-bytes');
      }),
      { numRuns: 25, seed: 7 },
    );
  });

  it('merge(fold(a), fold(b)) equals fold(a ++ b) under both caps', () => {
    const part = [...wide.slice(0, 80), ...sample.slice(0, 120)];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: part.length }), fc.integer({ min: 1, max: 250 }), fc.integer({ min: 1000, max: 150_000 }), (cut, maxRows, maxBytes) => {
        const o = { ...DEFAULT_VIEW, maxRows, maxBytes };
        const one = view.init(o);
        for (const r of part) view.add(one, r);
        const a = view.init(o);
        const b = view.init(o);
        for (const r of part.slice(0, cut)) view.add(a, r);
        for (const r of part.slice(cut)) view.add(b, r);
        expect(JSON.stringify(view.finish(view.merge(a, b), { input: NO_INPUT }))).toBe(JSON.stringify(view.finish(one, { input: NO_INPUT })));
      }),
      { numRuns: 30, seed: 21 },
    );
  });

  it('default to 500,000 rows and 128 MB of data', () => {
    expect(DEFAULT_VIEW.maxRows).toBe(500_000);
    expect(DEFAULT_MAX_BYTES).toBe(128_000_000);
    expect(() => view.init({ ...DEFAULT_VIEW, maxBytes: 0 })).toThrow(/maxBytes/);
  });

  it('on the command line, default to the rows that fit the memory budget: one per ROW_PEAK_BYTES, 1000 to 500,000', () => {
    expect(ROW_PEAK_BYTES).toBe(2048);
    expect(defaultMaxRows(256 * 2 ** 20)).toBe(131_072);
    expect(defaultMaxRows(977 * 2 ** 20)).toBe(500_000);
    expect(defaultMaxRows(976 * 2 ** 20)).toBe(499_712);
    expect(defaultMaxRows(2000 * 1024)).toBe(1000);
    expect(defaultMaxRows(8 * 1024)).toBe(1000);
    expect(defaultMaxRows(Infinity)).toBe(500_000);
  });
});

describe('the notice', () => {
  const base: ViewReport['summary'] = { calls: 100, commands: 40, matched: 5888, leftOut: 5788, maxRows: 100, maxBytes: 128_000_000, bytes: 51_234, cappedBy: 'max-rows', leftOutUntil: '2026-03-02T10:00:00Z', first: '', last: '', denied: 0, failed: 0 };
  it.each([
    [
      'max-rows',
      base,
      'This page holds the newest 100 of the 5,888 requests that matched: 5,788 older ones were left out (--max-rows 100; the newest left out is from 2026-03-02T10:00:00Z). To see them, raise --max-rows or narrow the run with the command-line filters (--since, --until, --user, --namespace…).',
    ],
    [
      'max-bytes',
      { ...base, calls: 2000, leftOut: 3888, maxRows: 500_000, maxBytes: 1_000_000, bytes: 999_870, cappedBy: 'max-bytes' as const, leftOutUntil: '' },
      'This page holds the newest 2,000 of the 5,888 requests that matched: 3,888 older ones were left out (--max-bytes 1,000,000: the page holds 999,870 bytes of data). To see them, raise --max-bytes or narrow the run with the command-line filters (--since, --until, --user, --namespace…).',
    ],
    [
      'max-rows, the default of --memory',
      { ...base, calls: 131_072, leftOut: 5_868_928, matched: 6_000_000, maxRows: 131_072, maxRowsBudget: 256 * 2 ** 20 },
      'This page holds the newest 131,072 of the 6,000,000 requests that matched: 5,868,928 older ones were left out (--max-rows 131,072, the default for --memory 256M; the newest left out is from 2026-03-02T10:00:00Z). To see them, raise --max-rows (or --memory, which sets its default: a row for every 2 KB, up to 500,000) or narrow the run with the command-line filters (--since, --until, --user, --namespace…).',
    ],
    ['nothing left out', { ...base, leftOut: 0, calls: 5888, cappedBy: '' as const }, ''],
  ])('names the numbers and the flag: %s', (_name, s, text) => {
    expect(capNotice(s)).toBe(text);
  });
});

describe('the page data', () => {
  it('is the same read from the store as from the records', () => {
    const rep = reportOf(sample, { maxRows: 2000 });
    expect(rep.columns).toBeTypeOf('function');
    const fromStore = JSON.stringify(toPayload(rep));
    const fromRecords = JSON.stringify(toPayload({ ...rep, records: rep.records }));
    expect(Object.keys({ ...rep })).not.toContain('columns');
    expect(fromStore).toBe(fromRecords);
  });

  it('is JSON.stringify in pieces, and the streamed gzip is the one-shot gzip', async () => {
    const rep = reportOf(sample);
    const p = toPayload(rep);
    const pieces = [...jsonChunks(p, 512)];
    expect(pieces.length).toBeGreaterThan(20);
    expect(Math.max(...pieces.map((x) => x.length))).toBeLessThan(JSON.stringify(p).length / 4);
    expect(pieces.join('')).toBe(JSON.stringify(p));
    expect([...jsonChunks({ a: undefined, b: [1, undefined, NaN], c: null, d: 'x' }, 1)].join('')).toBe(JSON.stringify({ a: undefined, b: [1, undefined, NaN], c: null, d: 'x' }));
    expect(await encodeDataStreaming(rep)).toBe(encodeData(rep));
    const assets = loadPageAssets();
    expect(await renderViewHtmlStreaming(rep, assets)).toBe(renderViewHtml(rep, assets));
  });
});

// Issue 15: the page's payload is encoded from the reducer's store and fold without making rows or
// commands as objects (builder.ts), and written in pieces; the bytes must be those of the plain path.
describe('the page data without objects per row (builder.ts)', () => {
  it('pagePayload is toPayload of the same report with its records and commands as objects, the same JSON', () => {
    for (const o of [{}, { maxRows: 700 }, { maxRows: 1 }]) {
      const rep = reportOf(sample, o);
      expect(rep.commandTable).toBeDefined();
      expect(Object.keys({ ...rep })).not.toContain('commandTable');
      // The spread reads the lazy records and commands (folded again): the plain path.
      const plain = JSON.stringify(toPayload({ ...rep }));
      expect(JSON.stringify(pagePayload(rep))).toBe(plain);
      expect([...jsonChunks(pagePayload(rep), 512)].join('')).toBe(plain);
      expect(rep.summary.commands).toBe(rep.commands.length);
    }
  });

  it('writeViewHtml writes renderViewHtml\'s bytes, in pieces', async () => {
    const rep = reportOf(sample);
    const assets = loadPageAssets();
    const pieces: string[] = [];
    const bytes = await writeViewHtml(rep, assets, (t) => void pieces.push(t));
    const whole = renderViewHtml({ ...rep }, assets);
    expect(pieces.join('')).toBe(whole);
    expect(bytes).toBe(Buffer.byteLength(whole));
    expect(pieces.length).toBeGreaterThan(2);
  });

  it('ColumnBuilder encodes any values as encodeColumn does (dictionary, raw, numbers, JSON; around the 4,096-value sample)', () => {
    const value = fc.oneof(
      fc.constantFrom('a', 'b', 'c', '', 'ü', '"'),
      fc.string(),
      fc.integer(),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, 1.5, null, undefined, true),
      fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
    );
    const column = fc.oneof(
      fc.array(value, { maxLength: 40 }),
      fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 4090, maxLength: 4200 }),
      fc.array(fc.oneof(fc.constantFrom('a', 'b'), fc.string({ minLength: 8 })), { minLength: 4090, maxLength: 9000 }),
      fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 5000 }),
      fc.tuple(fc.array(fc.constantFrom('a', 'b'), { minLength: 4100, maxLength: 4200 }), value).map(([a, v]) => [...a, v]),
      // About half of the first 4,096 distinct: the sample's verdict flips at 2,048.
      fc.tuple(fc.integer({ min: 1990, max: 2100 }), fc.integer({ min: 4097, max: 4600 })).map(([k, n]) => Array.from({ length: n }, (_, i) => (i < k ? `u${i}` : 'a'))),
    );
    fc.assert(
      fc.property(column, (values) => {
        const b = new ColumnBuilder();
        for (const v of values) b.push(v);
        const want = encodeTable(values.map((v) => ({ f: v })), ['f']).cols[0];
        expect(JSON.stringify(b.finish())).toBe(JSON.stringify(want));
      }),
      { numRuns: 150 },
    );
  });

  it('CommandTableBuilder: fields in first-seen order, absent ones backfilled, auditIDs as rows until one command\'s are not', () => {
    const ids = ['i0', 'i1', 'i2', 'i3'];
    const commands = [
      { user: 'a', auditIDs: ['i0'], n: 1, rows: [0], flags: 1 },
      { user: 'b', auditIDs: ['i1', 'i2'], late: true, n: 2, rows: [1, 2], flags: 2 },
      { user: 'a', auditIDs: ['other'], n: null, rows: [3], flags: 0 },
    ];
    const build = (cs: typeof commands) => {
      const t = new CommandTableBuilder(COMMAND_EXTRA_FIELDS, (row) => ids[row]!);
      for (const c of cs) t.add(c as never);
      return JSON.stringify(t.finish());
    };
    const plain = (cs: typeof commands, fromRows: boolean) => {
      const fields: string[] = [];
      for (const c of cs) for (const k of Object.keys(c)) if (!COMMAND_EXTRA_FIELDS.includes(k) && !fields.includes(k)) fields.push(k);
      const table = encodeTable(cs, fromRows ? fields.filter((f) => f !== 'auditIDs') : fields);
      if (fromRows) {
        table.fields.splice(fields.indexOf('auditIDs'), 0, 'auditIDs');
        table.cols.splice(fields.indexOf('auditIDs'), 0, { k: 'rows' });
      }
      return JSON.stringify({ table, flags: cs.map((c) => c.flags), rows: cs.flatMap((c) => c.rows), calls: cs.map((c) => c.rows.length) });
    };
    expect(build(commands.slice(0, 2))).toBe(plain(commands.slice(0, 2), true));
    expect(build(commands)).toBe(plain(commands, false));
  });
});

describe('audit view --max-bytes on the command line', () => {
  let log: string;
  beforeAll(() => {
    const evs = Array.from({ length: 40 }, (_, i) =>
      event({
        auditID: `w${i}`,
        userAgent: `kubectl/v1.30.0 ${i} ${'y'.repeat(3000)}`,
        requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 2, 10, 0, i)).toISOString(),
        stageTimestamp: new Date(Date.UTC(2026, 2, 2, 10, 0, i, 5)).toISOString(),
      }),
    );
    log = join(writeFiles(tmpDir(), { 'wide.log': jsonl(evs) }), 'wide.log');
  });

  it('keeps the newest requests that fit, and says how many it left out on stderr and in -o json', async () => {
    const j = await runCli(['view', log, '-o', 'json', '--max-bytes', '20kB']);
    expect(j.code).toBe(0);
    const rep = JSON.parse(j.stdout) as ViewReport;
    expect(rep.summary).toMatchObject({ matched: 40, maxBytes: 20_000, cappedBy: 'max-bytes' });
    expect(rep.summary.calls).toBeGreaterThan(2);
    expect(rep.summary.calls).toBeLessThan(7);
    expect(rep.summary.bytes).toBeLessThanOrEqual(20_000);
    expect(rep.records.map((r) => r.auditID)).toEqual(Array.from({ length: rep.summary.calls }, (_, i) => `w${40 - rep.summary.calls + i}`));
    expect(j.stderr).toContain(`view: warning: ${capNotice(rep.summary)}`);
    expect(j.stderr).toMatch(new RegExp(`newest ${rep.summary.calls} of the 40 requests that matched: ${40 - rep.summary.calls} older ones were left out \\(--max-bytes 20,000: the page holds [\\d,]+ bytes of data; the newest left out is from 2026-03-02T10:00:${String(39 - rep.summary.calls).padStart(2, '0')}`));
  });

  it('says nothing of caps when nothing was left out, and nothing at all under --quiet', async () => {
    const all = await runCli(['view', log, '-o', 'json']);
    expect((JSON.parse(all.stdout) as ViewReport).summary).toMatchObject({ calls: 40, leftOut: 0, cappedBy: '', leftOutUntil: '' });
    expect(all.stderr).not.toMatch(/left out/);
    const quiet = await runCli(['view', log, '-o', 'json', '-q', '--max-rows', '3']);
    expect(quiet.stderr).toBe('');
  });

  it('without --max-rows keeps the rows --memory allows (defaultMaxRows), and the page, -o json and stderr say so', async () => {
    const evs = Array.from({ length: 1200 }, (_, i) =>
      event({ auditID: `m${i}`, requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 2, 10, 0, 0, i)).toISOString(), stageTimestamp: new Date(Date.UTC(2026, 2, 2, 10, 0, 0, i)).toISOString() }),
    );
    const many = join(writeFiles(tmpDir(), { 'many.log': jsonl(evs) }), 'many.log');
    // 2000 KiB / 2048 bytes a row = 1000 rows.
    const j = await runCli(['view', many, '-o', 'json', '--memory', '2000k']);
    expect(j.code).toBe(0);
    const rep = JSON.parse(j.stdout) as ViewReport;
    expect(rep.summary).toMatchObject({ matched: 1200, calls: 1000, leftOut: 200, maxRows: 1000, maxRowsBudget: 2000 * 1024, cappedBy: 'max-rows' });
    expect(rep.records[0]!.auditID).toBe('m200');
    expect(j.stderr).toContain('view: warning: This page holds the newest 1,000 of the 1,200 requests that matched: 200 older ones were left out (--max-rows 1,000, the default for --memory 2000k;');
    expect(j.stderr).toContain('raise --max-rows (or --memory, which sets its default');
    // The page shows the same notice (app.ts renders capNotice of the summary it embeds).
    const page = await runCli(['view', many, '--memory', '2000k', '-q']);
    const data = /id="kaudit-data"[^>]*>([^<]*)</.exec(page.stdout)![1]!;
    const payload = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as { summary: ViewReport['summary'] };
    expect(payload.summary).toEqual(rep.summary);
    // --max-rows given: no budget in the summary, and the notice names --max-rows only.
    const given = await runCli(['view', many, '-o', 'json', '--max-rows', '1100']);
    const s = (JSON.parse(given.stdout) as ViewReport).summary;
    expect(s).toMatchObject({ calls: 1100, leftOut: 100, maxRows: 1100 });
    expect(s.maxRowsBudget).toBeUndefined();
    expect(given.stderr).toContain('(--max-rows 1,100; the newest left out is from');
    // The default budget (192M) keeps all 1200.
    const all = JSON.parse((await runCli(['view', many, '-o', 'json', '-q'])).stdout) as ViewReport;
    expect(all.summary).toMatchObject({ calls: 1200, leftOut: 0, maxRows: 98_304, maxRowsBudget: 192 * 2 ** 20 });
  }, 60_000);

  it.each([
    [['--max-bytes', 'lots'], /--max-bytes: "lots" is not a size/],
    [['--max-bytes', '0'], /--max-bytes: "0" is not a size/],
  ])('refuses %j with a usage error', async (args, msg) => {
    const r = await runCli(['view', log, '-o', 'json', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

describe('jsonBytes', () => {
  it('is the UTF-8 size of JSON.stringify, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '"\\', '\b\f\n\r\t\u0000\u001f\u007f', '\ud800', '\udc00x', '😀', '\u2028\u2029', '€é')), (s) => {
        expect(jsonBytes(s)).toBe(Buffer.byteLength(JSON.stringify(s), 'utf8'));
      }),
      { numRuns: 500, seed: 3 },
    );
  });
});
