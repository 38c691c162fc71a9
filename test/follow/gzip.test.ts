// GzipReader (src/follow/gzip.ts) against zlib itself: for a gzip file cut short or corrupted, the
// reader must give exactly what zlib decompresses when told the input may be truncated
// (gunzipSync with finishFlush Z_SYNC_FLUSH, the Node.js documentation's way to read a truncated
// input), report the damage instead of throwing, and leave no unhandled 'error' event behind
// (vitest fails the run on one). A whole file gives its content and no damage.
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { GzipReader, gunzipHead } from '../../src/follow/gzip.js';
import { lines, tmp } from './helpers.js';

async function readAll(path: string): Promise<{ data: Buffer; r: GzipReader }> {
  const r = await GzipReader.open(path);
  const chunks: Buffer[] = [];
  for (let c = await r.next(); c; c = await r.next()) chunks.push(c);
  return { data: Buffer.concat(chunks), r };
}

const reference = (gz: Buffer): Buffer => {
  try {
    return gunzipSync(gz, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
};

describe('GzipReader: damaged gzip files never throw, and give all that decompresses', () => {
  const dir = tmp();
  // Incompressible padding makes the deflate blocks small, so a cut falls after some whole blocks.
  const text = Buffer.from(lines(0, 120, (i) => ({ annotations: { pad: randomBytes(2000).toString('base64'), i: String(i) } })));
  const gz = gzipSync(text);

  it('a whole file: its content, no damage', async () => {
    const p = join(dir, 'whole.gz');
    writeFileSync(p, gz);
    const { data, r } = await readAll(p);
    expect(data.equals(text)).toBe(true);
    expect(r.damage).toBeNull();
  });

  it('two members (cat a.gz b.gz): both, as gunzip reads them', async () => {
    const p = join(dir, 'two.gz');
    writeFileSync(p, Buffer.concat([gzipSync('a\n'), gzipSync('b\n')]));
    const { data, r } = await readAll(p);
    expect(data.toString()).toBe('a\nb\n');
    expect(r.damage).toBeNull();
  });

  for (const frac of [0, 0.0001, 0.05, 0.3, 0.6, 0.95, 0.9999]) {
    it(`cut short at ${frac * 100}% of its compressed bytes: what zlib decompresses, then damage "unexpected end of file"`, async () => {
      const cut = gz.subarray(0, Math.floor(gz.length * frac));
      const p = join(dir, `cut-${frac}.gz`);
      writeFileSync(p, cut);
      const { data, r } = await readAll(p);
      const ref = reference(cut);
      expect(data.equals(ref)).toBe(true);
      expect(r.damage).not.toBeNull();
      expect(r.damage!.decompressed).toBe(ref.length);
      expect(r.damage!.compressed).toBe(cut.length);
      if (cut.length > 10) expect(r.damage!.code).toBe('Z_BUF_ERROR');
      // After the end, the reader stays at its end.
      expect(await r.next()).toBeNull();
    });
  }

  // Bytes changed inside a stored (uncompressed) deflate block come out changed, and only the CRC-32
  // in the trailer notices (RFC 1952 §2.3.1): lines they hit are then rejected as not JSON, counted.
  it('corrupted in the middle: what comes before the damage, then damage (a data error or the CRC check)', async () => {
    const bad = Buffer.from(gz);
    for (let i = Math.floor(bad.length / 2); i < Math.floor(bad.length / 2) + 64; i++) bad[i] = 0xff;
    const p = join(dir, 'corrupt.gz');
    writeFileSync(p, bad);
    const { data, r } = await readAll(p);
    expect(r.damage).not.toBeNull();
    expect(data.length).toBeLessThanOrEqual(text.length);
    const before = Math.floor(text.length / 4);
    expect(data.subarray(0, before).equals(text.subarray(0, before))).toBe(true);
  });

  it('not gzip at all: damage, nothing read', async () => {
    const p = join(dir, 'plain.gz');
    writeFileSync(p, 'this is not gzip\n');
    const { data, r } = await readAll(p);
    expect(data.length).toBe(0);
    expect(r.damage?.reason).toMatch(/header/);
  });

  it('gunzipHead: the first bytes of a cut file, without throwing', async () => {
    const cut = gz.subarray(0, Math.floor(gz.length * 0.3));
    const p = join(dir, 'head.gz');
    writeFileSync(p, cut);
    expect((await gunzipHead(p, 1024)).equals(text.subarray(0, 1024))).toBe(true);
    writeFileSync(p, gz.subarray(0, 10));
    expect((await gunzipHead(p, 1024)).length).toBe(0);
  });
});
