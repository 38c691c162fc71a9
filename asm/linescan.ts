// The pre-filter's bulk line scanner, compiled to WebAssembly with SIMD (AssemblyScript; built by
// tools/build-wasm.mjs into dist/ingest/linescan.wasm). It answers, for every line of a chunk at
// once, the question src/filter/prefilter.ts answers line by line, and reports only the lines the
// JavaScript reader must look at: a line is SKIPPED here only when the JavaScript path
// (src/ingest/reader.ts readLines' handle() and compilePrefilter) would skip it too, that is when
//  - after the trimming handle() does (a CR before the newline; leading spaces, tabs and CRs) it is
//    not blank, does not start with a NUL byte and is at most maxLine bytes long;
//  - it holds none of the first filter group's needles (scan.ts finder: wholly inside the line);
//  - it holds no relevant \u00XX escape (prefilter.ts relevantEscapeFinder);
//  - it starts in the API server's own key order with no backslash in those values
//    (prefilter.ts canonicalEvent), so that it is no wrapper of many events.
// Anything else is reported, and the JavaScript path decides as before: this scanner can only make
// a skipped line cheaper, never change an answer. test/filter/linescan.test.ts compares the two.
//
// Memory is the caller's (imported): the caller writes the needles and reads the output in it.
// Every load may read up to 15 bytes past `end`; the caller leaves that slack after each buffer.

/** The first group's needles: NEEDLES[k] = (offset, length), at most MAX_NEEDLES. */
const MAX_NEEDLES: i32 = 16;
let needleCount: i32 = 0;
let needleTable: usize = 0;

/** The output, triples of i32: (lines skipped before this one, line start, line end). */
let outCount: i32 = 0;
/** Lines skipped after the last reported line (read with skippedAfter()). */
let trailing: i32 = 0;

/** The canonical head and the keys that follow each value (prefilter.ts CANONICAL_HEAD/KEYS). */
let headPtr: usize = 0;
let headLen: i32 = 0;
let keysPtr: usize = 0; // 4 × (offset, length) pairs

/** Sets where the needles table and the canonical strings are (written by the caller). */
export function configure(needles: usize, count: i32, head: usize, hlen: i32, keys: usize): void {
  needleTable = needles;
  needleCount = count < MAX_NEEDLES ? count : MAX_NEEDLES;
  headPtr = head;
  headLen = hlen;
  keysPtr = keys;
}

export function reported(): i32 {
  return outCount;
}

export function skippedAfter(): i32 {
  return trailing;
}

/** The first position in [i, end) holding byte c, or end. */
// @ts-ignore: decorator
@inline
function findByte(i: usize, end: usize, c: u8): usize {
  const v = i8x16.splat(c);
  while (i < end) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(i), v));
    if (m != 0) {
      const j = i + <usize>ctz<i32>(m);
      return j < end ? j : end;
    }
    i += 16;
  }
  return end;
}

/** The first position in [i, end) holding a quote or a backslash, or end. */
// @ts-ignore: decorator
@inline
function findQuoteOrBackslash(i: usize, end: usize): usize {
  const q = i8x16.splat(34);
  const s = i8x16.splat(92);
  while (i < end) {
    const b = v128.load(i);
    const m = i8x16.bitmask(v128.or(i8x16.eq(b, q), i8x16.eq(b, s)));
    if (m != 0) {
      const j = i + <usize>ctz<i32>(m);
      return j < end ? j : end;
    }
    i += 16;
  }
  return end;
}

// @ts-ignore: decorator
@inline
function same(a: usize, b: usize, n: i32): bool {
  return memory.compare(a, b, <usize>n) == 0;
}

/** Whether needle (p, n) occurs wholly inside [i, end). */
function hasNeedle(i: usize, end: usize, p: usize, n: i32): bool {
  if (<i64>(end - i) < <i64>n) return false;
  const first = i8x16.splat(load<u8>(p));
  const last = i8x16.splat(load<u8>(p + <usize>(n - 1)));
  const stop = end - <usize>n; // last start position
  let k = i;
  while (k <= stop) {
    let m = i8x16.bitmask(v128.and(i8x16.eq(v128.load(k), first), i8x16.eq(v128.load(k + <usize>(n - 1)), last)));
    while (m != 0) {
      const j = k + <usize>ctz<i32>(m);
      if (j > stop) break;
      if (same(j, p, n)) return true;
      m &= m - 1;
    }
    k += 16;
  }
  return false;
}

function hexValue(c: u32): i32 {
  if (c >= 48 && c <= 57) return <i32>c - 48;
  if (c >= 97 && c <= 102) return <i32>c - 87;
  if (c >= 65 && c <= 70) return <i32>c - 55;
  return -1;
}

/** prefilter.ts escapesMatter: the \u00XX escape stands for [A-Za-z0-9._:@-] or a backslash. */
function escapeMatters(hi: u32, lo: u32): bool {
  const a = hexValue(hi);
  const b = hexValue(lo);
  if (a < 0 || b < 0) return false;
  const c = a * 16 + b;
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 58 || c == 64 || c == 45 || c == 92;
}

/**
 * The first position in [i, end) of a backslash followed by `u`, or end (a `\\u` there is two
 * escapes' worth of text, a backslash then a `u`; the caller checks what follows, as prefilter.ts
 * does, so reading it as an escape can only send the line to JavaScript).
 */
// @ts-ignore: decorator
@inline
function findBackslashU(i: usize, end: usize): usize {
  const s = i8x16.splat(92);
  const u = i8x16.splat(117);
  while (i < end) {
    const m = i8x16.bitmask(v128.and(i8x16.eq(v128.load(i), s), i8x16.eq(v128.load(i + 1), u)));
    if (m != 0) {
      const j = i + <usize>ctz<i32>(m);
      return j < end ? j : end;
    }
    i += 16;
  }
  return end;
}

/** Whether [i, end) holds a \u00XX escape (wholly inside) that matters (relevantEscapeIn). */
function hasRelevantEscape(i: usize, end: usize): bool {
  let k = findBackslashU(i, end);
  while (k + 6 <= end) {
    if (load<u8>(k + 2) == 48 && load<u8>(k + 3) == 48 && escapeMatters(load<u8>(k + 4), load<u8>(k + 5))) return true;
    k = findBackslashU(k + 1, end);
  }
  return false;
}

/** prefilter.ts canonicalEvent on [i, end). */
function canonical(i: usize, end: usize): bool {
  const hl = <usize>headLen;
  if (end - i < hl || !same(i, headPtr, headLen)) return false;
  i += hl;
  for (let s = 0; s < 4; s++) {
    i = findQuoteOrBackslash(i, end);
    if (i >= end || load<u8>(i) == 92) return false;
    const kp = load<u32>(keysPtr + <usize>(s * 8));
    const kl = load<i32>(keysPtr + <usize>(s * 8 + 4));
    if (<i64>(end - i) < <i64>kl || !same(i, <usize>kp, kl)) return false;
    i += <usize>kl;
  }
  return true;
}

/**
 * Scans the lines that start at `start` and end with a newline before `end`. Writes the lines the
 * JavaScript reader must handle to `out` as (skipped before, start, end) triples, at most `cap`.
 * Returns the position after the last newline it went past; reported() and skippedAfter() give the
 * rest. A line's end is its newline's position (handle() is given it as is).
 */
export function scan(start: usize, end: usize, out: usize, cap: i32, maxLine: i32): usize {
  outCount = 0;
  let skipped: i32 = 0;
  let pos = start;
  while (pos < end) {
    const nl = findByte(pos, end, 10);
    if (nl >= end) break;
    // handle(): a CR before the newline, then leading spaces, tabs and CRs
    let e = nl;
    if (e > pos && load<u8>(e - 1) == 13) e--;
    let s = pos;
    while (s < e) {
      const c = load<u8>(s);
      if (c != 32 && c != 9 && c != 13) break;
      s++;
    }
    let skip = s < e && load<u8>(s) != 0 && <i64>(e - s) <= <i64>maxLine;
    if (skip) {
      for (let k = 0; k < needleCount; k++) {
        const p = <usize>load<u32>(needleTable + <usize>(k * 8));
        const n = load<i32>(needleTable + <usize>(k * 8 + 4));
        if (hasNeedle(s, e, p, n)) {
          skip = false;
          break;
        }
      }
    }
    if (skip) skip = !hasRelevantEscape(s, e) && canonical(s, e);
    if (skip) skipped++;
    else {
      const o = out + <usize>(outCount * 12);
      store<i32>(o, skipped);
      store<i32>(o + 4, <i32>pos);
      store<i32>(o + 8, <i32>nl);
      skipped = 0;
      outCount++;
      if (outCount >= cap) {
        trailing = 0;
        return nl + 1;
      }
    }
    pos = nl + 1;
  }
  trailing = skipped;
  return pos;
}
