// The bulk line scanner (asm/linescan.ts, WebAssembly; src/ingest/linescan.ts) against the
// JavaScript path it stands in for: readLines' handle() and compilePrefilter
// (src/filter/prefilter.ts). A line the scanner skips must be one that path pre-filters; the reader
// with the scanner must hand the sink exactly the same calls (values, rejections with their line
// numbers and reasons, pre-filtered lines) as the reader without it, however the input is cut into
// chunks. Lines are generated around the edges of the scanner's tests: needles at the line's ends
// and across the newline, CRLF, leading blanks, NUL bytes, blank lines, over-long lines, escapes
// (relevant and not), backslashes in the canonical values, other key orders and wrappers.
import { describe, it, expect } from 'vitest';
import { compilePrefilter, prefilterText, type Prefilter } from '../../src/filter/prefilter.js';
import { LineScanner, available } from '../../src/ingest/linescan.js';
import { readLines, type IngestSink } from '../../src/ingest/reader.js';
import { Rng } from '../../src/gen/rng.js';

const HEAD = '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"';

function event(rng: Rng, verb: string, user: string): string {
  const id = `${rng.int(0, 1e9).toString(16)}-0000-4000-8000-000000000000`;
  const ns = rng.pick(['default', 'kube-system', 'prod']);
  const uri = `/api/v1/namespaces/${ns}/pods${rng.chance(0.3) ? '?labelSelector=a\\u0026b' : ''}`;
  return `${HEAD}${id}","stage":"ResponseComplete","requestURI":"${uri}","verb":"${verb}","user":{"username":"${user}","groups":["system:authenticated"]},"objectRef":{"resource":"pods","namespace":"${ns}","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"annotations":{"authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \\"x\\""}}`;
}

/** One line of the hostile mix (without its newline). */
function line(rng: Rng): string {
  const verb = rng.pick(['get', 'list', 'delete', 'deletecollection', 'watch']);
  const user = rng.pick(['alice', 'bob', 'system:node:n1', 'al\\u0069ce', 'x\\u0026y']);
  const e = event(rng, verb, user);
  switch (rng.int(0, 17)) {
    case 0:
      return '';
    case 1:
      return `  \t${e}`;
    case 2:
      return `${e}\r`;
    case 3:
      return `\u0000\u0000${e}`;
    case 4:
      return e.replace('"stage":"ResponseComplete"', '"stage":"Response\\u0043omplete"');
    case 5:
      return e.replace('"level":"Metadata"', '"level":"Meta\\"data"');
    case 6:
      return `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[${e},${e}]}`;
    case 7:
      return `[${e}]`;
    case 8:
      return e.replace('{"kind":"Event",', '{"apiVersion":"audit.k8s.io/v1","kind":"Event",').replace(',"apiVersion":"audit.k8s.io/v1","level"', ',"level"');
    case 9:
      return `${e}{"items":[${e}]}`;
    case 10:
      return e.slice(0, rng.int(1, e.length)); // truncated: not JSON
    case 11:
      return 'delete'; // a needle alone
    case 12:
      return `${e.slice(0, -1)},"x":"${'y'.repeat(rng.int(100, 400))}"}`; // long (over maxLine in some runs)
    case 13:
      return e.replace('"verb":"', '"verb":"\\u0064');
    default:
      return e;
  }
}

interface Call {
  kind: string;
  line: number;
  item?: number;
  detail: string;
}

function sink(calls: Call[]): IngestSink {
  return {
    value(v, loc) {
      calls.push({ kind: 'value', line: loc.line, item: loc.item, detail: JSON.stringify(v).slice(0, 80) });
    },
    reject(loc, reason) {
      calls.push({ kind: 'reject', line: loc.line, item: loc.item, detail: reason });
    },
    prefiltered() {
      calls.push({ kind: 'prefiltered', line: -1, detail: '' });
    },
  };
}

async function* chunked(b: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of cuts) {
    if (c <= at) continue;
    yield b.subarray(at, Math.min(c, b.length));
    at = c;
  }
  if (at < b.length) yield b.subarray(at);
}

async function read(b: Buffer, cuts: number[], pre: Prefilter, scanner: LineScanner | null, maxLine: number): Promise<Call[]> {
  const calls: Call[] = [];
  await readLines(chunked(b, cuts), 'f.log', sink(calls), maxLine, undefined, pre, undefined, scanner);
  return calls;
}

describe('line scanner (WebAssembly SIMD) against the JavaScript pre-filter', () => {
  it('is built and loads (npm run build compiles asm/linescan.ts)', () => {
    expect(available()).toBe(true);
  });

  it('skips only lines the pre-filter skips, on generated hostile lines', async () => {
    const rng = new Rng(19);
    for (const f of [{ verb: ['delete'] }, { user: ['alice'], verb: ['get'] }, { verb: ['delete', 'deletecollection'] }, { user: ['system:node:*'] }]) {
      const pre = compilePrefilter(f)!;
      const scanner = LineScanner.create(pre.needles)!;
      expect(scanner).not.toBeNull();
      const lines = Array.from({ length: 1200 }, () => line(rng));
      const b = Buffer.from(lines.join('\n') + '\n', 'utf8');
      expect(scanner.load(b)).toBe(true);
      let pos = 0;
      let skipped = 0;
      const reported = new Set<number>();
      for (;;) {
        const r = scanner.scan(pos, b.length, 600);
        for (let i = 0; i < r.n; i++) {
          skipped += scanner.skippedBefore(i);
          reported.add(scanner.start(i));
        }
        skipped += r.trailing;
        pos = r.stop;
        if (!r.more) break;
      }
      expect(pos).toBe(b.length);
      let start = 0;
      let mustReport = 0;
      for (const l of lines) {
        const raw = b.subarray(start, start + Buffer.byteLength(l));
        if (!reported.has(start)) {
          // Skipped by the scanner: not blank, no NUL, short enough, and the pre-filter skips it.
          const t = raw.toString('utf8').replace(/\r$/, '').replace(/^[ \t\r]+/, '');
          expect(t.length > 0 && t.charCodeAt(0) !== 0 && Buffer.byteLength(t) <= 600, JSON.stringify(l)).toBe(true);
          expect(prefilterText(pre, t), `${JSON.stringify(f)} ${l}`).toBe(false);
        } else mustReport++;
        start += raw.length + 1;
      }
      expect(skipped + mustReport).toBe(lines.length);
      expect(skipped).toBeGreaterThan(100); // it does skip
    }
  });

  it('readLines gives the same calls with and without it, however the input is cut', async () => {
    const rng = new Rng(2026);
    let used = 0;
    for (let round = 0; round < 40; round++) {
      const f = rng.pick([{ verb: ['delete'] }, { user: ['alice'] }, { verb: ['list', 'watch'], user: ['bob'] }]);
      const pre = compilePrefilter(f)!;
      const lines = Array.from({ length: rng.int(1, 400) }, () => line(rng));
      const text = lines.join(rng.chance(0.5) ? '\n' : '\r\n') + (rng.chance(0.7) ? '\n' : '');
      const b = Buffer.from(text, 'utf8');
      const cuts: number[] = [];
      for (let at = 0; at < b.length; ) {
        at += rng.chance(0.2) ? rng.int(1, 8) : rng.int(1, 20000);
        cuts.push(at);
      }
      const maxLine = rng.pick([200, 450, 1 << 20]);
      const want = await read(b, cuts, pre, null, maxLine);
      const scanner = LineScanner.create(pre.needles)!;
      const scan = scanner.scan.bind(scanner);
      scanner.scan = (pos, end, max) => {
        const r = scan(pos, end, max);
        used += r.n + r.trailing;
        return r;
      };
      const got = await read(b, cuts, pre, scanner, maxLine);
      expect(got).toEqual(want);
    }
    expect(used).toBeGreaterThan(1000); // the scanner did see the lines
  });

  it('declines what it cannot do: no needles, too many', () => {
    expect(LineScanner.create(undefined)).toBeNull();
    expect(LineScanner.create([])).toBeNull();
    expect(LineScanner.create(Array.from({ length: 17 }, (_, i) => `n${i}xx`))).toBeNull();
  });
});
