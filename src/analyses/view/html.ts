// The `audit view` page as one self-contained HTML file: the page's script and style (built from
// src/view-page by `npm run build`) inlined and allowed by their SHA-256 in a Content-Security-Policy
// that forbids everything else (no network, no other script or style, no frames, no forms), and the
// report column-wise, gzipped and base64-encoded in a data block that no browser runs. The markup
// holds no audit data at all: the page renders it as text. Deterministic: the same report gives the
// same bytes.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync, createGzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { ViewReport } from './index.js';
import { JsonList, pagePayload } from './builder.js';

export interface PageAssets {
  script: string;
  style: string;
}

/** The built page (dist/view-page), found from this module in src/ and in dist/ alike. */
export function loadPageAssets(): PageAssets {
  const dir = new URL('../../../dist/view-page/', import.meta.url);
  try {
    return { script: readFileSync(new URL('page.js', dir), 'utf8'), style: readFileSync(new URL('page.css', dir), 'utf8') };
  } catch (e) {
    throw new Error(`the view page is not built (${fileURLToPath(dir)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}); run npm run build`);
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

/** The Content-Security-Policy of the page: only the inlined script and style, nothing from anywhere. */
export function pagePolicy(a: PageAssets): string {
  return `default-src 'none'; script-src 'sha256-${sha256(a.script)}'; style-src 'sha256-${sha256(a.style)}'; base-uri 'none'; form-action 'none'`;
}

/** gzip level of the data: level 4 is within 5% of level 6's size in half its time. */
const LEVEL = 4;

/** The embedded data: the payload as JSON, gzipped, base64. */
export function encodeData(r: ViewReport): string {
  return gzipSync(Buffer.from(JSON.stringify(pagePayload(r)), 'utf8'), { level: LEVEL }).toString('base64');
}

/**
 * JSON.stringify(v) in pieces of at most about `slice` array elements of strings or numbers each (joined, they are its
 * exact text), so that a large payload never exists as one string. Follows JSON.stringify on what
 * the payload holds: plain objects (undefined members left out), arrays (undefined as null),
 * strings, numbers (non-finite as null), booleans and null.
 */
export function* jsonChunks(v: unknown, slice = 4096): Generator<string> {
  if (v instanceof JsonList) {
    // Elements made as they are written (src/analyses/view/builder.ts): never all at once.
    if (v.length === 0) return yield '[]';
    yield '[';
    if (v.nested) {
      for (let i = 0; i < v.length; i++) {
        if (i > 0) yield ',';
        const x: unknown = v.at(i);
        if (x === undefined || typeof x === 'function') yield 'null';
        else yield* jsonChunks(x, slice);
      }
    } else {
      for (let i = 0; i < v.length; i += slice) {
        const part = new Array<unknown>(Math.min(slice, v.length - i));
        for (let j = 0; j < part.length; j++) part[j] = v.at(i + j);
        yield (i > 0 ? ',' : '') + JSON.stringify(part).slice(1, -1);
      }
    }
    return yield ']';
  }
  if (Array.isArray(v)) {
    if (v.some((x) => x !== null && typeof x === 'object')) {
      // Arrays of tables or columns: each element in pieces of its own.
      yield '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) yield ',';
        if (v[i] === undefined || typeof v[i] === 'function') yield 'null';
        else yield* jsonChunks(v[i], slice);
      }
      return yield ']';
    }
    if (v.length <= slice) return yield JSON.stringify(v);
    yield '[';
    for (let i = 0; i < v.length; i += slice) yield (i > 0 ? ',' : '') + JSON.stringify(v.slice(i, i + slice)).slice(1, -1);
    return yield ']';
  }
  if (v === null || typeof v !== 'object') return yield JSON.stringify(v) ?? 'null';
  yield '{';
  let first = true;
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || typeof x === 'function') continue;
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* jsonChunks(x, slice);
  }
  yield '}';
}

/**
 * encodeData without ever holding the whole JSON text (nor its bytes): the payload's JSON, piece by
 * piece, through a gzip stream. The same bytes as encodeData (deflate's output does not depend on
 * how its input is cut when nothing flushes).
 */
export async function encodeDataStreaming(r: ViewReport): Promise<string> {
  const gz = createGzip({ level: LEVEL });
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  for (const piece of jsonChunks(pagePayload(r))) {
    if (!gz.write(piece, 'utf8')) await new Promise((resolve) => gz.once('drain', resolve));
  }
  gz.end();
  await done;
  return Buffer.concat(out).toString('base64');
}

/** renderViewHtml for large reports: the data encoded by encodeDataStreaming (same bytes). */
export async function renderViewHtmlStreaming(r: ViewReport, assets: PageAssets = loadPageAssets()): Promise<string> {
  return pageHtml(r, assets, await encodeDataStreaming(r));
}

export function renderViewHtml(r: ViewReport, assets: PageAssets = loadPageAssets()): string {
  return pageHtml(r, assets, encodeData(r));
}

/** Stands for the data in the page's text (no page holds it: it is not base64, and the rest is ours). */
const DATA = '\u0000data\u0000';

/** Base64 text is written in pieces of about this many bytes of gzip output (a multiple of 3). */
const PIECE = 3 << 18;

/**
 * Writes the page (renderViewHtml's bytes) to `write` in pieces, awaiting each: the payload's JSON
 * goes through gzip piece by piece (jsonChunks) and the gzip output is written as base64 as it comes,
 * so neither the JSON, nor the compressed data, nor the page exists whole. Returns the bytes
 * written (UTF-8).
 */
export async function writeViewHtml(r: ViewReport, assets: PageAssets, write: (s: string) => void | Promise<void>): Promise<number> {
  const [before, after] = pageParts(r, assets);
  let bytes = 0;
  const put = async (s: string): Promise<void> => {
    bytes += Buffer.byteLength(s, 'utf8');
    await write(s);
  };
  await put(before);
  const gz = createGzip({ level: LEVEL });
  let pending: Buffer[] = [];
  let size = 0;
  gz.on('data', (b: Buffer) => {
    pending.push(b);
    size += b.length;
  });
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  // Base64 of a prefix whose length is a multiple of 3 is the prefix of the whole's base64.
  const flush = async (last: boolean): Promise<void> => {
    if (!last && size < PIECE) return;
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
    const cut = last ? all.length : all.length - (all.length % 3);
    pending = cut < all.length ? [all.subarray(cut)] : [];
    size = all.length - cut;
    if (cut > 0) await put(all.subarray(0, cut).toString('base64'));
  };
  for (const piece of jsonChunks(pagePayload(r))) {
    if (!gz.write(piece, 'utf8')) await new Promise((resolve) => gz.once('drain', resolve));
    await flush(false);
  }
  gz.end();
  await done;
  await flush(true);
  await put(after);
  return bytes;
}

function pageHtml(r: ViewReport, assets: PageAssets, data: string): string {
  const [before, after] = pageParts(r, assets);
  return before + data + after;
}

/** The page's text before and after its data. */
function pageParts(r: ViewReport, assets: PageAssets): [string, string] {
  // Inlined code must not end its element early; esbuild escapes such sequences in strings.
  if (/<\/script/i.test(assets.script) || /<!--/.test(assets.script)) throw new Error('view page script holds </script or <!--');
  if (/<\/style/i.test(assets.style)) throw new Error('view page style holds </style');
  const text = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${pagePolicy(assets)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="kaudit">
<title>kaudit view</title>
<style>${assets.style}</style>
</head>
<body>
<div id="app"><p id="loading">Loading ${r.summary.calls} API calls and ${r.summary.commands} commands…</p></div>
<noscript><p>This page needs JavaScript to show the audit trail. The data is in it; audit export gives the same rows as CSV.</p></noscript>
<script type="application/octet-stream" id="kaudit-data" data-encoding="gzip+base64">${DATA}</script>
<script>${assets.script}</script>
</body>
</html>
`;
  const parts = text.split(DATA);
  if (parts.length !== 2) throw new Error('internal: the view page holds its data marker');
  return [parts[0]!, parts[1]!];
}
