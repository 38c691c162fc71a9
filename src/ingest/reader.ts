// Reads one input: opens it, undoes gzip (by magic bytes), detects the format and streams values to a sink.
import { createReadStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import type { Loc } from '../types.js';
import type { Source } from './sources.js';
import { detectHead, DETECT_WINDOW, type FormatChoice, type InputFormat } from './detect.js';
import { readCsv } from './csv.js';
import { readDocument } from './document.js';
import { readYaml } from './yaml.js';
import { StrictError } from '../util/errors.js';

export interface IngestSink {
  /** A parsed JSON/YAML value at `loc` (one line, one document item). */
  value(v: unknown, loc: Loc): void;
  /** Something at `loc` could not be read; counted and reported, never fatal. */
  reject(loc: Loc, reason: string): void;
  /** Raw (compressed) bytes consumed so far, for progress. */
  bytes?(n: number): void;
  /** The reader chosen for this input, before any value. */
  detected?(format: string): void;
  /** A line the pre-filter skipped unparsed (it cannot match the filters). */
  prefiltered?(): void;
}

export interface ReadOptions {
  /** Lines longer than this (in characters) are rejected without being buffered whole. */
  maxLineBytes: number;
  /** YAML inputs larger than this are rejected (YAML cannot be streamed). */
  maxYamlBytes: number;
  /** Used instead of process.stdin for `-` (tests). */
  stdin?: NodeJS.ReadableStream;
  /** `auto` detects the format per input; anything else forces that reader. */
  format?: FormatChoice;
  /** Compute the SHA-256 of each input's raw bytes as it is read (compliance evidence). */
  hash?: boolean;
  /** Cheap raw-line check: lines it rejects are not parsed (JSON lines only). */
  prefilter?: (line: string) => boolean;
}

export const DEFAULT_READ_OPTIONS: ReadOptions = { maxLineBytes: 64 << 20, maxYamlBytes: 64 << 20 };

export interface ReadResult {
  format: string;
  gzip: boolean;
  /** SHA-256 of the raw bytes read, when asked for. */
  sha256?: string;
}

async function* concat(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (const b of head) yield b;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Bytes per read of a file: larger chunks measured slower (bench/RESULTS.md). */
export const READ_CHUNK = 1 << 16;

/** Whether the head read so far is enough to detect the format (the reader's rule, shared with the planner). */
export function headIsEnough(headLen: number, lastChunk: Buffer): boolean {
  return headLen >= DETECT_WINDOW || (lastChunk.includes(10) && headLen > 64);
}

interface RawInput extends AsyncIterator<Buffer> {
  /** True once every byte of the input has been read. */
  ended: boolean;
}

function openRaw(src: Source, opts: ReadOptions, sink: IngestSink, hash: Hash | null): RawInput {
  const raw: NodeJS.ReadableStream =
    src.path === '-'
      ? (opts.stdin ?? process.stdin)
      : createReadStream(src.path, { highWaterMark: READ_CHUNK, ...(src.start !== undefined ? { start: src.start } : {}), ...(src.end !== undefined ? { end: src.end - 1 } : {}) });
  let total = 0;
  const it = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const raw2: RawInput = {
    ended: false,
    async next() {
      const r = await it.next();
      if (!r.done) {
        total += r.value.length;
        hash?.update(r.value);
        sink.bytes?.(total);
      } else raw2.ended = true;
      return r;
    },
    async return() {
      return (await it.return?.()) ?? { done: true, value: undefined };
    },
  };
  return raw2;
}

/** SHA-256 of a whole file, read again (for inputs a reader stopped reading early). */
async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Reads one source to the end. Errors inside the data are rejections; only I/O failure to open throws. */
export async function readSource(src: Source, sink: IngestSink, opts: ReadOptions = DEFAULT_READ_OPTIONS): Promise<ReadResult> {
  const hash = opts.hash ? createHash('sha256') : null;
  const raw = openRaw(src, opts, sink, hash);
  const res = await readBody(src, raw, sink, opts);
  if (hash) {
    // A reader that stopped early (a malformed document) left bytes unread: the digest is of the whole file.
    if (raw.ended || src.path === '-') res.sha256 = hash.digest('hex');
    else res.sha256 = await hashFile(src.path);
  }
  return res;
}

async function readBody(src: Source, raw: RawInput, sink: IngestSink, opts: ReadOptions): Promise<ReadResult> {
  const first = await raw.next();
  if (first.done) return { format: 'empty', gzip: false };
  const gzip = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;

  let body: AsyncIterator<Buffer>;
  if (gzip) {
    const gunzip = createGunzip();
    Readable.from(concat([first.value], raw)).on('error', (e) => gunzip.destroy(e)).pipe(gunzip);
    body = (gunzip as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  } else {
    body = concat([first.value], raw);
  }

  // Peek at the head to choose a format, keeping the chunks for the reader.
  const head: Buffer[] = [];
  let headLen = 0;
  let complete = false;
  let early: Error | null = null;
  try {
    while (headLen < DETECT_WINDOW) {
      const r = await body.next();
      if (r.done) {
        complete = true;
        break;
      }
      head.push(r.value);
      headLen += r.value.length;
      if (headIsEnough(headLen, r.value)) break;
    }
  } catch (e) {
    early = e as Error;
    complete = true;
  }
  const forced: Record<string, InputFormat> = { jsonl: 'jsonl', json: 'document', yaml: 'yaml', csv: 'csv', 'cloudwatch-text': 'cloudwatch-text' };
  const kind = opts.format && opts.format !== 'auto' ? forced[opts.format]! : detectHead(Buffer.concat(head), complete);
  const rest: AsyncIterator<Buffer> = early
    ? { next: () => Promise.reject(early) }
    : complete
      ? { next: async () => ({ done: true, value: undefined }) }
      : body;
  const chunks = concat(head, rest);
  const file = src.path;
  sink.detected?.(kind);

  switch (kind) {
    case 'empty':
      if (early) sink.reject({ file, line: 1, unit: 'line' }, `input ended early: ${early.message}`);
      return { format: 'empty', gzip };
    case 'document':
      return { format: await readDocument(chunks, file, sink), gzip };
    case 'yaml':
      await readYaml(chunks, file, sink, opts.maxYamlBytes);
      return { format: 'yaml', gzip };
    case 'csv':
      await readCsv(chunks, file, sink);
      return { format: 'csv', gzip };
    case 'cloudwatch-text':
      await readLines(chunks, file, sink, opts.maxLineBytes, fromFirstBrace);
      return { format: 'cloudwatch-text', gzip };
    default:
      await readLines(chunks, file, sink, opts.maxLineBytes, undefined, opts.prefilter);
      return { format: 'jsonl', gzip };
  }
}

/**
 * The hot path: splits decoded text on newlines and JSON.parses each line. A line longer than
 * maxLineBytes is skipped to its end without being kept. A stream error (truncated gzip) rejects the
 * partial last line, or records one rejection if there was none, so nothing vanishes silently.
 */
/** `aws logs tail` lines: the event JSON starts at the first brace, after the time and log stream. */
function fromFirstBrace(line: string): string {
  const b = line.indexOf('{');
  return b < 0 ? line : line.slice(b);
}

export async function readLines(chunks: AsyncIterable<Buffer>, file: string, sink: IngestSink, maxLineBytes: number, strip?: (line: string) => string, prefilter?: (line: string) => boolean): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let tail = '';
  let lineNo = 0;
  let skipping = false;
  let first = true;
  const handle = (line: string): void => {
    lineNo++;
    if (line.length > maxLineBytes) {
      sink.reject({ file, line: lineNo, unit: 'line' }, `line longer than ${maxLineBytes} bytes (--max-line-bytes)`);
      return;
    }
    let end = line.length;
    if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
    let start = 0;
    while (start < end && line.charCodeAt(start) <= 32) start++;
    if (start === end) return; // blank line: nothing to count
    let text = start === 0 && end === line.length ? line : line.slice(start, end);
    if (strip) text = strip(text);
    if (prefilter !== undefined && !prefilter(text)) {
      sink.prefiltered!();
      return;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      sink.reject({ file, line: lineNo, unit: 'line' }, `not JSON (${(e as Error).message})`);
      return;
    }
    sink.value(v, { file, line: lineNo, unit: 'line' });
  };
  try {
    for await (const chunk of chunks) {
      let s = decoder.write(chunk);
      if (first) {
        first = false;
        if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      }
      let pos = 0;
      if (skipping) {
        const nl = s.indexOf('\n');
        if (nl < 0) continue;
        lineNo++;
        sink.reject({ file, line: lineNo, unit: 'line' }, `line longer than ${maxLineBytes} bytes (--max-line-bytes)`);
        skipping = false;
        pos = nl + 1;
      }
      let nl = s.indexOf('\n', pos);
      if (nl >= 0 && tail.length > 0) {
        handle(tail + s.slice(pos, nl));
        tail = '';
        pos = nl + 1;
        nl = s.indexOf('\n', pos);
      }
      while (nl >= 0) {
        handle(s.slice(pos, nl));
        pos = nl + 1;
        nl = s.indexOf('\n', pos);
      }
      if (pos < s.length) tail = tail.length ? tail + s.slice(pos) : s.slice(pos);
      if (tail.length > maxLineBytes) {
        tail = '';
        skipping = true;
      }
    }
    tail += decoder.end();
    if (skipping) {
      lineNo++;
      sink.reject({ file, line: lineNo, unit: 'line' }, `line longer than ${maxLineBytes} bytes (--max-line-bytes)`);
    } else if (tail.trim() !== '') handle(tail);
  } catch (e) {
    if (e instanceof StrictError) throw e;
    const reason = `input ended early (${(e as Error).message})`;
    if (skipping || tail.trim() !== '') sink.reject({ file, line: lineNo + 1, unit: 'line' }, `truncated line: ${reason}`);
    else sink.reject({ file, line: lineNo + 1, unit: 'line' }, reason);
  }
}
