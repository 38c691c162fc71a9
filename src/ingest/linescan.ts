// The pre-filter's bulk line scanner: asm/linescan.ts compiled to WebAssembly with SIMD
// (tools/build-wasm.mjs writes dist/ingest/linescan.wasm). For a chunk of JSON lines it finds, in one
// call, the lines the pre-filter would surely skip and reports only the others, which the reader
// then handles line by line as before (readLines in reader.ts). A skipped line is one for which
// handle() and compilePrefilter (src/filter/prefilter.ts) would answer "pre-filtered" too: the
// scanner only asks the first filter group's needles, relevantEscapeFinder and canonicalEvent, and
// anything it is not sure of goes to the JavaScript path (test/filter/linescan.test.ts compares the
// two on generated and hostile lines). Issue 19: on a 1 GB Metadata-level log the per-line
// JavaScript pre-filter took about 0.45 s of CPU; the scanner takes about 0.15 s.
//
// Each reader has its own instance and memory (2.2 MiB): the two 1 MiB buffers a file is read into
// (FileChunks reads straight into them, no copy), a scratch buffer chunks from other sources
// (gzip, pipes) are copied into, the needles and the output. The memory never grows, so the
// buffers stay valid. Without WebAssembly (or without the built module) the reader keeps the
// JavaScript path: `available()` says which; KAUDIT_NO_WASM=1 forces it (tests, and a way out).
import { instantiate, wasmAvailable, type WasmMemory } from './wasm.js';
import { CANONICAL_HEAD, CANONICAL_KEYS } from '../filter/prefilter.js';

/** Bytes of one read buffer (reader.ts READ_CHUNK). */
const CHUNK = 1 << 20;
/** Bytes every buffer is followed by: the scanner's 16-byte loads may read past a line's end. */
const SLACK = 64;
const PAGE = 65536;
/** The module's own data and stack: the first 64 KiB are left to it. */
const CONFIG = PAGE;
const CONFIG_BYTES = 8192;
/** Reported lines per call (triples of i32). */
const CAP = 4096;
const OUT = CONFIG + CONFIG_BYTES;
const BUFFERS = OUT + CAP * 12 + SLACK;
const BUFFER_STRIDE = CHUNK + SLACK;
/** Three buffers: two for FileChunks, one scratch for copies. */
const PAGES = Math.ceil((BUFFERS + 3 * BUFFER_STRIDE) / PAGE);
/** At most this many needles in the first group (asm/linescan.ts MAX_NEEDLES). */
const MAX_NEEDLES = 16;

interface Exports {
  configure(needles: number, count: number, head: number, hlen: number, keys: number): void;
  scan(start: number, end: number, out: number, cap: number, maxLine: number): number;
  reported(): number;
  skippedAfter(): number;
}

/** Whether the scanner can be used in this process (the module is built and compiles). */
export function available(): boolean {
  return wasmAvailable('linescan');
}

/** The lines of one scan call the reader must handle: (skipped before it, start, end) each. */
export interface ScanResult {
  /** Position after the last newline the call went past (in the chunk's coordinates). */
  stop: number;
  /** How many lines are reported (0 ≤ n ≤ CAP). */
  n: number;
  /** Lines skipped after the last reported one. */
  trailing: number;
  /** More lines may follow before the chunk's last newline (the output was full). */
  more: boolean;
}

/**
 * A scanner for one reader. `needles` are the first pre-filter group's values (ASCII, as
 * compilePrefilter searches them); null when there are more than MAX_NEEDLES or none.
 */
export class LineScanner {
  private readonly x: Exports;
  private readonly memory: WasmMemory;
  private readonly out: Int32Array;
  /** The two buffers FileChunks may read into. */
  readonly buffers: Buffer[];
  private readonly scratch: Buffer;
  /** The chunk scanned last and its offset in the memory. */
  private base = 0;

  private constructor(inst: { exports: unknown; memory: WasmMemory }, needles: string[]) {
    this.memory = inst.memory;
    this.x = inst.exports as unknown as Exports;
    const mem = Buffer.from(this.memory.buffer);
    const dv = new DataView(this.memory.buffer);
    let p = CONFIG + MAX_NEEDLES * 8 + CANONICAL_KEYS.length * 8;
    const put = (b: Buffer): [number, number] => {
      b.copy(mem, p);
      const r: [number, number] = [p, b.length];
      p += b.length;
      if (p > CONFIG + CONFIG_BYTES) throw new Error('line scanner: needles too long');
      return r;
    };
    const head = put(CANONICAL_HEAD);
    const keysAt = CONFIG + MAX_NEEDLES * 8;
    CANONICAL_KEYS.forEach((k, i) => {
      const [o, l] = put(k);
      dv.setUint32(keysAt + i * 8, o, true);
      dv.setInt32(keysAt + i * 8 + 4, l, true);
    });
    needles.forEach((n, i) => {
      const [o, l] = put(Buffer.from(n, 'latin1'));
      dv.setUint32(CONFIG + i * 8, o, true);
      dv.setInt32(CONFIG + i * 8 + 4, l, true);
    });
    this.x.configure(CONFIG, needles.length, head[0], head[1], keysAt);
    this.out = new Int32Array(this.memory.buffer, OUT, CAP * 3);
    const buf = (k: number): Buffer => Buffer.from(this.memory.buffer, BUFFERS + k * BUFFER_STRIDE, CHUNK);
    this.buffers = [buf(0), buf(1)];
    this.scratch = buf(2);
  }

  /**
   * A scanner for the first group's needles, or null when it cannot help: no WebAssembly module,
   * no needles, too many, or a needle too long for its configuration area.
   */
  static create(needles: string[] | undefined): LineScanner | null {
    if (!available() || !needles || needles.length === 0 || needles.length > MAX_NEEDLES) return null;
    if (needles.reduce((n, s) => n + s.length, 0) > CONFIG_BYTES / 2) return null;
    try {
      const inst = instantiate('linescan', PAGES, 'line scanner');
      return inst === null ? null : new LineScanner(inst, needles);
    } catch {
      return null;
    }
  }

  /**
   * Makes `c` scannable: a chunk read into one of `buffers` is used where it is; another is copied
   * into the scratch buffer. False when it does not fit (the caller handles its lines itself).
   */
  load(c: Buffer): boolean {
    if (c.buffer === this.memory.buffer) {
      this.base = c.byteOffset;
      return true;
    }
    if (c.length > CHUNK) return false;
    c.copy(this.scratch);
    this.base = this.scratch.byteOffset;
    return true;
  }

  /**
   * Scans the loaded chunk's lines from `pos` (a line start) to its last newline before `end`.
   * maxLine: handle()'s maxLineBytes. Reported lines: start(i), end(i), skippedBefore(i).
   */
  scan(pos: number, end: number, maxLine: number): ScanResult {
    const stop = this.x.scan(this.base + pos, this.base + end, OUT, CAP, Math.min(maxLine, 0x7fffffff)) - this.base;
    const n = this.x.reported();
    return { stop, n, trailing: n === CAP ? 0 : this.x.skippedAfter(), more: n === CAP };
  }

  skippedBefore(i: number): number {
    return this.out[i * 3]!;
  }

  start(i: number): number {
    return this.out[i * 3 + 1]! - this.base;
  }

  end(i: number): number {
    return this.out[i * 3 + 2]! - this.base;
  }
}
