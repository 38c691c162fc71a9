// `audit view` without a browser: the reducer (cap, merge, commands), the column encoding, the
// page's filter engine against a brute-force reference, the URL fragment, the exports against the
// command line's bytes, and the HTML shell (policy, determinism, no data in the markup).
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { collect, runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { view, DEFAULT_VIEW, rowFlags, byPerson, FLAG, type ViewReport } from '../../src/analyses/view/index.js';
import { encodeTable, decodeTable, rowAt } from '../../src/analyses/view/columns.js';
import { toPayload, fromPayload, type ViewData } from '../../src/analyses/view/payload.js';
import { renderViewHtml, loadPageAssets, pagePolicy } from '../../src/analyses/view/html.js';
import { callsDataset, commandsDataset, makeBins, type Dataset } from '../../src/view-page/model.js';
import { run, textMatch, terms, type Filters } from '../../src/view-page/engine.js';
import { toFragment, fromFragment, DEFAULT_STATE, type PageState } from '../../src/view-page/state.js';
import { exportRows } from '../../src/view-page/exporter.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };

function reportOf(records: AuditRecord[], maxRows = 500_000): ViewReport {
  const s = view.init({ ...DEFAULT_VIEW, maxRows });
  for (const r of records) view.add(s, r);
  return view.finish(s, { input: NO_INPUT });
}

let sample: AuditRecord[];
let sampleReport: ViewReport;
let data: ViewData;

beforeAll(async () => {
  sample = (await collect(['fixtures/sample'])).records;
  sampleReport = reportOf(sample);
  // Through JSON, as the page gets it.
  data = fromPayload(JSON.parse(JSON.stringify(toPayload(sampleReport))));
});

describe('the view reducer', () => {
  it('carries where each request was read, for the detail pane', () => {
    for (const i of [0, 1, 100, sample.length - 1]) {
      const loc = rowAt(data.locations, i);
      expect(loc).toEqual({ file: sample[i]!.location.file, line: sample[i]!.location.line, unit: sample[i]!.location.unit });
      expect(loc.line).toBeGreaterThan(0);
    }
  });

  it('keeps every request in log order when under the cap', () => {
    expect(sampleReport.records.map((r) => r.auditID)).toEqual(sample.map((r) => r.auditID));
    expect(sampleReport.summary).toMatchObject({ calls: sample.length, matched: sample.length, leftOut: 0 });
  });

  it('keeps the newest maxRows requests (ties: the later in the log), still in log order', () => {
    const keep = 1000;
    const rep = reportOf(sample, keep);
    const newest = sample
      .map((r, i) => ({ r, i }))
      .sort((a, b) => (Number.isFinite(b.r.timeMs) ? b.r.timeMs : -Infinity) - (Number.isFinite(a.r.timeMs) ? a.r.timeMs : -Infinity) || b.i - a.i)
      .slice(0, keep)
      .sort((a, b) => a.i - b.i)
      .map((x) => x.r.auditID);
    expect(rep.records.map((r) => r.auditID)).toEqual(newest);
    expect(rep.summary).toMatchObject({ calls: keep, matched: sample.length, leftOut: sample.length - keep, maxRows: keep });
    // The commands are folded from the kept rows only.
    const kept = new Set(newest);
    for (const c of rep.commands) for (const id of c.auditIDs) expect(kept.has(id)).toBe(true);
  });

  it('drops requests without a time first', () => {
    const recs = [event({ auditID: 'no-time', requestReceivedTimestamp: undefined, stageTimestamp: undefined }), event({ auditID: 'a' }), event({ auditID: 'b', requestReceivedTimestamp: '2026-03-02T09:00:00Z' })];
    return collect([join(writeFiles(tmpDir(), { 'x.log': jsonl(recs) }), 'x.log')]).then(({ records }) => {
      expect(records.find((r) => r.auditID === 'no-time')!.timeMs).toBeNaN();
      expect(reportOf(records, 2).records.map((r) => r.auditID)).toEqual(['a', 'b']);
    });
  });

  it('merge(fold(a), fold(b)) equals fold(a ++ b), whatever the cut and the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 500 }), (cut, cap) => {
        const part = sample.slice(0, 400);
        const one = view.init({ ...DEFAULT_VIEW, maxRows: cap });
        for (const r of part) view.add(one, r);
        const a = view.init({ ...DEFAULT_VIEW, maxRows: cap });
        const b = view.init({ ...DEFAULT_VIEW, maxRows: cap });
        for (const r of part.slice(0, cut)) view.add(a, r);
        for (const r of part.slice(cut)) view.add(b, r);
        expect(JSON.stringify(view.finish(view.merge(a, b), { input: NO_INPUT }))).toBe(JSON.stringify(view.finish(one, { input: NO_INPUT })));
      }),
      { numRuns: 40, seed: 20 },
    );
  });

  it('lists the commands audit commands -o json lists, and each call points at its row', async () => {
    const cli = JSON.parse((await runCli(['commands', 'fixtures/sample', '-o', 'json', '-q'])).stdout) as { commands: Record<string, unknown>[] };
    const mine = sampleReport.commands.map(({ startMs: _s, rows: _r, flags: _f, ...rest }) => rest);
    expect(mine).toEqual(cli.commands);
    for (const c of sampleReport.commands) {
      expect(c.rows.map((i) => sampleReport.records[i]!.auditID)).toEqual(c.auditIDs);
      expect(c.rows.every((i) => sampleReport.records[i]!.subject === c.user)).toBe(true);
    }
  });

  it.each([
    ['day1 then day2', ['day1.jsonl', 'day2.jsonl']],
    ['day2 then day1 (a file given before an older one)', ['day2.jsonl', 'day1.jsonl']],
  ])('folds in the time order audit commands folds in: %s', async (_name, files) => {
    const dir = join('..', 'shared', 'cases', 'commands-input-order');
    if (!existsSync(dir)) return;
    const args = files.map((f) => join(dir, f));
    const cli = JSON.parse((await runCli(['commands', ...args, '-o', 'json', '-q'])).stdout) as { commands: Record<string, unknown>[] };
    const rep = JSON.parse((await runCli(['view', ...args, '-o', 'json', '-q'])).stdout) as ViewReport;
    expect(rep.commands.map(({ startMs: _s, rows: _r, flags: _f, ...rest }) => rest)).toEqual(cli.commands);
    expect(cli.commands.length).toBeGreaterThan(0);
  });

  it('folds requests without an auditID, and repeated auditIDs, to the right rows', () => {
    const base = { user: { username: 'alice', groups: ['system:authenticated'] } };
    const evs = [
      event({ ...base, auditID: '', requestReceivedTimestamp: '2026-03-02T10:00:00.000Z', stageTimestamp: '2026-03-02T10:00:00.010Z' }),
      event({ ...base, auditID: '', requestReceivedTimestamp: '2026-03-02T10:00:00.020Z', stageTimestamp: '2026-03-02T10:00:00.030Z' }),
      event({ ...base, auditID: 'dup', requestReceivedTimestamp: '2026-03-02T11:00:00.000Z', stageTimestamp: '2026-03-02T11:00:00.010Z' }),
    ];
    return collect([join(writeFiles(tmpDir(), { 'x.log': jsonl(evs) }), 'x.log')]).then(({ records }) => {
      const recs = [...records, { ...records[2]!, timeMs: records[2]!.timeMs + 60_000, time: '2026-03-02T11:01:00Z' }];
      const rep = reportOf(recs);
      expect(rep.commands.flatMap((c) => c.rows).sort()).toEqual([0, 1, 2, 3]);
      expect(rep.commands.flatMap((c) => c.auditIDs)).toEqual(['', '', 'dup', 'dup']);
    });
  });

  it.each([
    ['denied', { decision: 'forbid', code: 403 }, FLAG.denied],
    ['failed', { decision: 'allow', code: 500 }, FLAG.failed],
    ['a write', { verb: 'patch' }, FLAG.write],
    ['exec is a write (create on pods/exec)', { verb: 'create', subresource: 'exec' }, FLAG.write],
    ['a person', { subjectKind: 'User' }, FLAG.human],
    ['a person impersonating a service account', { subjectKind: 'ServiceAccount', impersonator: 'alice@example.com' }, FLAG.human],
  ] as const)('flags a request that is %s', (_name, over, bit) => {
    const r = { ...sample[0]!, subject: 'system:node:n1', subjectKind: 'Node', impersonator: '', verb: 'get', subresource: '', code: 200, decision: 'allow', ...over } as AuditRecord;
    expect(rowFlags(r) & bit).toBe(bit);
  });

  it('does not count a node, a controller or a service account impersonated by a system user as a person', () => {
    const r = sample.find((x) => x.subjectKind === 'Node')!;
    expect(byPerson(r)).toBe(false);
    expect(byPerson({ ...r, subjectKind: 'ServiceAccount', impersonator: 'system:kube-controller-manager' })).toBe(false);
  });
});

describe('column encoding', () => {
  const value = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.constantFrom('', 'a', 'b', '=cmd', '\u0000', '\ud800'),
    fc.double(),
    fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, null, undefined, true, false),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  it('gives back every value exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(value, fc.constantFrom('x', 'y'), fc.integer()), { maxLength: 40 }), fc.boolean(), (rows, sameType) => {
        const objs = rows.map(([v, s, n]) => ({ v: sameType ? s : v, s, n }));
        const t = decodeTable(JSON.parse(JSON.stringify(encodeTable(objs, ['v', 's', 'n']))));
        objs.forEach((o, i) => {
          const back = rowAt(t, i);
          if (o.v === undefined) expect('v' in back).toBe(false);
          // -0 comes back as 0, as JSON (and so every output of the command line) writes it.
          else expect(Object.is(back.v, Object.is(o.v, -0) ? 0 : o.v) || (typeof o.v === 'object' && JSON.stringify(back.v) === JSON.stringify(o.v))).toBe(true);
          expect(back.s).toBe(o.s);
          expect(back.n).toBe(o.n);
        });
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

/** The reference: every filter written out plainly, per row. */
function naive(ds: Dataset, f: Filters, skipFacet = -1, skipTime = false): number[] {
  const ts = terms(f.q);
  const out: number[] = [];
  for (let i = 0; i < ds.n; i++) {
    let ok = true;
    ds.facets.forEach((fc, k) => {
      const want = f.facets[fc.id];
      if (k !== skipFacet && want?.length && !want.includes(fc.values[fc.codes[i]!]!)) ok = false;
    });
    if ((ds.flags[i]! & f.require) !== f.require) ok = false;
    if (ts.length && !ts.every((t) => ds.text.some((c) => c.dict[c.codes[i]!]!.toLowerCase().includes(t)))) ok = false;
    const t = ds.time[i]!;
    if (!skipTime && (f.from !== null || f.to !== null) && !(t >= (f.from ?? -Infinity) && t < (f.to ?? Infinity))) ok = false;
    if (ok) out.push(i);
  }
  return out;
}

describe('the page filter engine', () => {
  it('selects, counts facets and bins exactly as the brute-force reference', () => {
    const calls = callsDataset(data);
    const commands = commandsDataset(data);
    const pick = (ds: Dataset, k: number) => { const vals = ds.facets[k]!.values.slice(0, 12); return fc.subarray(vals, { maxLength: Math.min(3, vals.length) }); };
    const filters = (ds: Dataset) =>
      fc.record({
        facets: fc.tuple(...ds.facets.map((_f, k) => fc.option(pick(ds, k), { nil: undefined }))).map((vals) => Object.fromEntries(ds.facets.map((f, k) => [f.id, vals[k]]).filter(([, v]) => v !== undefined)) as Record<string, string[]>),
        q: fc.constantFrom('', 'kube', 'pods get', 'ALICE', 'nothing-matches-this', '403'),
        from: fc.option(fc.integer({ min: Date.parse('2026-03-02T00:00:00Z'), max: Date.parse('2026-03-04T00:00:00Z') }), { nil: null }),
        to: fc.option(fc.integer({ min: Date.parse('2026-03-02T12:00:00Z'), max: Date.parse('2026-03-04T00:00:00Z') }), { nil: null }),
        require: fc.constantFrom(0, FLAG.denied, FLAG.write, FLAG.human, FLAG.write | FLAG.human),
      });
    for (const ds of [calls, commands]) {
      fc.assert(
        fc.property(filters(ds), (f) => {
          const r = run(ds, f, textMatch(ds, f.q));
          const want = naive(ds, f);
          expect([...r.rows].sort((a, b) => a - b)).toEqual(want);
          // Oldest first.
          for (let k = 1; k < r.rows.length; k++) expect(ds.time[r.rows[k]!]! >= ds.time[r.rows[k - 1]!]!).toBe(true);
          ds.facets.forEach((fc2, k) => {
            const base = naive(ds, f, k);
            const counts = new Int32Array(fc2.values.length);
            for (const i of base) counts[fc2.codes[i]!]!++;
            expect([...r.counts[k]!]).toEqual([...counts]);
          });
          const hist = new Int32Array(ds.bins.count);
          for (const i of naive(ds, f, -1, true)) if (ds.bins.of[i]! >= 0) hist[ds.bins.of[i]!]!++;
          expect([...r.hist]).toEqual([...hist]);
        }),
        { numRuns: 60, seed: 3 },
      );
    }
  });

  it('bins time with a round width, at most 120 bins', () => {
    const t = Float64Array.from([Date.parse('2026-03-02T00:00:10Z'), Date.parse('2026-03-03T23:59:00Z'), NaN]);
    const b = makeBins(t);
    expect(b.step).toBe(30 * 60_000);
    expect(b.count).toBeLessThanOrEqual(120);
    expect([...b.of]).toEqual([0, 95, -1]);
  });
});

describe('the URL fragment', () => {
  it('round-trips every part of the state', () => {
    const s: PageState = {
      view: 'calls',
      filters: { facets: { user: ['alice@example.com', 'a&b=c#d'], ns: [''] }, q: 'get secrets', from: Date.parse('2026-03-02T10:00:00Z'), to: Date.parse('2026-03-02T11:00:00Z'), require: FLAG.denied | FLAG.human },
      local: true,
      asc: true,
      sel: 'r42',
    };
    const frag = toFragment(s, ['user', 'ns']);
    expect(frag).toBe('view=calls&user=alice%40example.com&user=a%26b%3Dc%23d&ns=&q=get+secrets&from=2026-03-02T10%3A00%3A00.000Z&to=2026-03-02T11%3A00%3A00.000Z&only=denied%2Chumans&tz=local&sort=asc&sel=r42');
    expect(fromFragment(`#${frag}`)).toEqual(s);
  });

  it('falls back to the defaults on anything malformed', () => {
    expect(fromFragment('#view=nope&from=yesterday&sel=<x>&only=everything')).toEqual(DEFAULT_STATE);
  });
});

describe('the exports', () => {
  it('write, for all rows, the bytes of audit export -o csv and -o jsonl', async () => {
    const all = new Uint8Array(data.records.n).fill(1);
    for (const format of ['csv', 'jsonl'] as const) {
      const cli = await runCli(['export', '--order-window', '0', 'fixtures/sample', '-o', format, '-q']);
      expect(exportRows(data, 'calls', format, all).join('')).toBe(cli.stdout);
    }
  });

  it('write, for all commands, the bytes of audit commands -o csv, and the objects of -o json', async () => {
    const all = new Uint8Array(data.commands.n).fill(1);
    expect(exportRows(data, 'commands', 'csv', all).join('')).toBe((await runCli(['commands', 'fixtures/sample', '-o', 'csv', '-q'])).stdout);
    const json = JSON.parse((await runCli(['commands', 'fixtures/sample', '-o', 'json', '-q'])).stdout) as { commands: unknown[] };
    expect(exportRows(data, 'commands', 'jsonl', all).map((l) => JSON.parse(l) as unknown)).toEqual(json.commands);
  });

  it('write only the rows of the mask, in log order', () => {
    const mask = new Uint8Array(data.records.n);
    mask[3] = mask[1] = 1;
    const lines = exportRows(data, 'calls', 'jsonl', mask).join('').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { auditID: string }).auditID)).toEqual([sample[1]!.auditID, sample[3]!.auditID]);
  });
});

describe('the HTML page', () => {
  const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
  let html: string;
  beforeAll(() => {
    const recs = sample.slice(0, 50).map((r, i) => (i === 7 ? { ...r, subject: hostile, userAgent: `<!--${hostile}` } : r));
    html = renderViewHtml(reportOf(recs));
  });

  it('allows only its own script and style, by hash, and nothing from the network', () => {
    const a = loadPageAssets();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(csp).toBe(pagePolicy(a));
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe');
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
  });

  it('holds audit data only in the encoded data block', () => {
    expect(html).not.toContain('onerror');
    expect(html).not.toContain('alert(');
    const b64 = /<script type="application\/octet-stream" id="kaudit-data"[^>]*>([A-Za-z0-9+/=]*)<\/script>/.exec(html)![1]!;
    const payload = JSON.parse(gunzipSync(Buffer.from(b64, 'base64')).toString('utf8')) as ReturnType<typeof toPayload>;
    const users = fromPayload(payload).records.col['subject']!.dict;
    expect(users).toContain(hostile);
  });

  it('is the same bytes for the same report', () => {
    const recs = sample.slice(0, 50);
    expect(renderViewHtml(reportOf(recs))).toBe(renderViewHtml(reportOf(recs)));
  });

  it('keeps the page script under its 150 KB budget', () => {
    expect(Buffer.byteLength(loadPageAssets().script)).toBeLessThan(150 * 1024);
  });
});

describe('audit view on the command line', () => {
  it.each([
    [['--max-rows', '0'], /--max-rows: "0" is not a positive whole number/],
    [['--gap', 'soon'], /--gap/],
    [['--out', '/nonexistent-folder/trail.html'], /--out: cannot write \/nonexistent-folder\/trail\.html: the folder \/nonexistent-folder does not exist/],
    [['--out', 'fixtures/mini/mini.jsonl'], /--out: .*mini\.jsonl is the input/],
  ])('refuses %j with a usage error', async (args, msg) => {
    const r = await runCli(['view', 'fixtures/mini', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it('writes the page to --out, and -o json writes the report behind it', async () => {
    const dir = tmpDir();
    const r = await runCli(['view', 'fixtures/mini', '--out', join(dir, 'v.html')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^view: \d+ API calls, \d+ commands; written to .*v\.html/m);
    const j = await runCli(['view', 'fixtures/mini', '-o', 'json', '-q', '--max-rows', '3']);
    const rep = JSON.parse(j.stdout) as ViewReport;
    expect(rep.kind).toBe('kaudit.view');
    expect(rep.records).toHaveLength(3);
    expect(rep.summary.leftOut).toBe(rep.summary.matched - 3);
    expect(rep.command).toEqual(['audit', 'view', 'fixtures/mini', '-o', 'json', '-q', '--max-rows', '3']);
  });
});
