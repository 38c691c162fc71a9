// The line splitter of `audit follow` (src/follow/lines.ts): a line that arrives in many reads is
// held in pieces, so a line of n bytes costs O(n), not a copy and a search of everything held per
// read (a 30 MB line written in 1 MB pieces took about 24 s before; found by the follow red team).
import { describe, it, expect, vi, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrackedFile } from '../../src/follow/tracked.js';
import { consume, type LineHandler } from '../../src/follow/lines.js';
import { tmpDir } from '../helpers.js';

interface Got {
  values: unknown[];
  rejects: string[];
}

async function feed(text: string, chunk: number, maxLineBytes: number): Promise<Got> {
  const path = join(tmpDir(), 'audit.log');
  writeFileSync(path, '');
  const f = await TrackedFile.plain(path);
  const got: Got = { values: [], rejects: [] };
  const h: LineHandler = {
    value: (v) => void got.values.push(v),
    reject: (loc, _end, reason) => void got.rejects.push(`${loc.line}: ${reason}`),
  };
  const all = Buffer.from(text);
  try {
    for (let i = 0; i < all.length; i += chunk) {
      const piece = all.subarray(i, Math.min(all.length, i + chunk));
      f.readPos += piece.length;
      await consume(f, piece, maxLineBytes, h);
    }
  } finally {
    // An open FileHandle left to the garbage collector is DEP0137's warning in every CI log.
    await f.close();
  }
  return got;
}

afterEach(() => vi.restoreAllMocks());

describe('audit follow: lines that arrive in many reads', () => {
  const big = JSON.stringify({ kind: 'Event', pad: 'x'.repeat(2_000_000) });
  const text = `${big}\n{"a":1}\n${big}\n`;

  it('give the same values whatever the read size', async () => {
    const whole = await feed(text, text.length, 64 << 20);
    expect(whole.values.length).toBe(3);
    for (const size of [1, 7, 1024, 65536]) {
      if (size < 1024) {
        const small = `${JSON.stringify({ a: 'é'.repeat(50) })}\n{"b":2}\n`;
        expect(await feed(small, size, 1 << 20)).toEqual(await feed(small, small.length, 1 << 20));
        continue;
      }
      expect(await feed(text, size, 64 << 20)).toEqual(whole);
    }
  });

  it('copy each byte of a long line a bounded number of times (linear, not quadratic)', async () => {
    const concat = vi.spyOn(Buffer, 'concat');
    const from = vi.spyOn(Buffer, 'from');
    await feed(text, 1024, 64 << 20);
    const copied = [...concat.mock.results, ...from.mock.results].reduce((n, r) => n + ((r.value as Buffer | undefined)?.length ?? 0), 0);
    // Held once when read, joined once when its newline comes (the test's own Buffer.from of the text: once more).
    expect(copied).toBeLessThan(4 * Buffer.byteLength(text));
  });

  it('a line longer than --max-line-bytes across many reads is one reject, and the next line is read', async () => {
    const got = await feed(`${big}\n{"a":1}\n`, 4096, 1 << 20);
    expect(got.rejects).toEqual([`1: line longer than ${1 << 20} bytes (--max-line-bytes)`]);
    expect(got.values).toEqual([{ a: 1 }]);
  });
});
