// The field extractor's grammar checker and member table, compiled to WebAssembly with SIMD
// (AssemblyScript; built by tools/build-wasm.mjs into dist/ingest/extract.wasm, loaded by
// src/ingest/wasmextract.ts). For one line of JSON lines it checks the whole line against the JSON
// grammar (RFC 8259, as strictly as ECMA-262 JSON.parse) and writes, for the members normalize/
// reads (a fixed list of slots the caller configures: top-level members and members of `user`,
// `objectRef`, `responseStatus`, `annotations`), where their values are and what kind they are.
// JavaScript then only slices those values out of the line.
//
// It declines the line (returns 0; the line then takes the JavaScript paths) when the line is not
// exactly one JSON object, when a member name the caller marked as a fallback (wrappers, other
// providers' shapes) is at the top level, when a member name at a level whose members are read holds
// a backslash (it could decode to a read name), when a read member appears twice (JSON.parse keeps
// the last one; the reference path is simpler than tracking that), or when nesting is deeper than
// MAX_DEPTH. Every decline only costs time: the reference path reads the line instead.
//
// The byte at `end` is overwritten with 0 while a line is checked and restored afterwards: every
// scalar loop then stops at it without a bounds check (0 is not JSON outside strings, and a raw
// control character inside one). 16-byte loads may read up to 15 bytes past `end`: the caller
// leaves that slack after each buffer.

/** Slot kinds written to the table (src/ingest/wasmextract.ts reads them). */
const K_ABSENT: i32 = 0;
/** A string of ASCII bytes without escapes: its content is [start + 1, end - 1). */
const K_PLAIN: i32 = 1;
/** Any other value: JSON.parse of [start, end) gives it. */
const K_JSON: i32 = 2;
/** An object whose read members have slots of their own (user, objectRef…). */
const K_OBJECT: i32 = 3;
/** null. */
const K_NULL: i32 = 4;
/** A non-negative integer of at most 9 digits; the value is in the fourth word. */
const K_INT: i32 = 5;
/** A string without escapes holding bytes ≥ 0x80: UTF-8 decoding of its content gives it. */
const K_UTF8: i32 = 6;
/** An array of plain strings written compactly (`["a","b"]`, or `[]`). */
const K_STRINGS: i32 = 7;
/** A K_PLAIN string or K_STRINGS array seen before: the fourth word is its intern entry. */
const K_INTERNED: i32 = 8;
/** A K_PLAIN string or K_STRINGS array that took intern entry (fourth word) over: keep it there. */
const K_INTERN_NEW: i32 = 9;

/** Slot flags (configuration). */
const F_STRINGS: i32 = 1; // look for K_STRINGS
const F_INT: i32 = 2; // look for K_INT
const F_INTERN: i32 = 4; // intern plain strings (and K_STRINGS arrays)
const F_TIME: i32 = 8; // parse plain strings as RFC 3339 timestamps (parseTime) into the times area

const MAX_DEPTH: i32 = 4096;
const MAX_KEYS: i32 = 64;
const MAX_SLOTS: i32 = 64;

// Configuration (written by the caller): keys as (parent, slot, child parent, name offset, name
// length) rows of 5 i32; slot flags as i32 per slot. A slot of -2 marks a fallback key.
let keyTable: usize = 0;
let keyCount: i32 = 0;
let slotFlags: usize = 0;
let slotCount: i32 = 0;
/** The output table: 4 i32 per slot (kind, start, end, int value). */
let table: usize = 0;
/** The nesting stack, one byte per level. */
let stack: usize = 0;

/** Flags of the last string read: 1 = escapes, 2 = bytes ≥ 0x80. */
let strFlags: i32 = 0;

/**
 * Sets where the configuration is (written by the caller) and the areas this module uses: `index`
 * (MAX_PARENTS × MAX_NAME + MAX_KEYS i32), `internAt` (INTERN_SLOTS × (16 + INTERN_BYTES) + 4 × MAX_SLOTS bytes).
 */
export function configure(keys: usize, nkeys: i32, flags: usize, nslots: i32, out: usize, stk: usize, index: usize, internAt: usize): void {
  keyTable = keys;
  keyCount = nkeys < MAX_KEYS ? nkeys : MAX_KEYS;
  slotFlags = flags;
  slotCount = nslots < MAX_SLOTS ? nslots : MAX_SLOTS;
  table = out;
  stack = stk;
  keyHeads = index;
  keyNext = index + <usize>(MAX_PARENTS * MAX_NAME * 4);
  for (let k = 0; k < MAX_PARENTS * MAX_NAME; k++) store<i32>(keyHeads + <usize>(k * 4), -1);
  // rows in reverse, so that each chain lists them in table order
  for (let k = keyCount - 1; k >= 0; k--) {
    const row = keyTable + <usize>(k * 20);
    const parent = load<i32>(row);
    const n = load<i32>(row + 16);
    if (parent < 0 || parent >= MAX_PARENTS || n >= MAX_NAME) continue;
    const head = keyHeads + <usize>((parent * MAX_NAME + n) * 4);
    store<i32>(keyNext + <usize>(k * 4), load<i32>(head));
    store<i32>(head, k);
  }
  intern = internAt;
  internBytes = internAt + <usize>(INTERN_SLOTS * 16);
  newIds = internBytes + <usize>(INTERN_SLOTS * INTERN_BYTES);
  memory.fill(intern, 0, <usize>(INTERN_SLOTS * 16));
  for (let k = 0; k < INTERN_SLOTS; k++) store<i32>(intern + <usize>(k * 16), -1);
}

// @ts-ignore: decorator
@inline
function isWs(c: u32): bool {
  // space, \n, \r, \t: one compare for every byte above the space (nearly all), then a bit test
  return c <= 32 && ((<u64>0x100002600 >> <u64>c) & 1) != 0;
}

// @ts-ignore: decorator
@inline
function ws(i: usize): usize {
  while (isWs(load<u8>(i))) i++;
  return i;
}

// @ts-ignore: decorator
@inline
function isHex(c: u32): bool {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}

/**
 * The position after the escape whose backslash is at `i` (\uXXXX or one of \" \\ \/ \b \f \n
 * \r \t, as JSON allows: RFC 8259 section 7), or 0 when it is not one. One copy for readString
 * and skipString.
 */
// @ts-ignore: decorator
@inline
function escapeEnd(i: usize): usize {
  const d = load<u8>(i + 1);
  if (d == 117) return isHex(load<u8>(i + 2)) && isHex(load<u8>(i + 3)) && isHex(load<u8>(i + 4)) && isHex(load<u8>(i + 5)) ? i + 6 : 0;
  return d == 34 || d == 92 || d == 47 || d == 98 || d == 102 || d == 110 || d == 114 || d == 116 ? i + 2 : 0;
}

/**
 * Reads a string at its opening quote `i`: the position after its closing quote, or 0 when it is
 * not a JSON string (a raw control character, the sentinel, a bad escape). Sets strFlags.
 */
function readString(i: usize): usize {
  const q = i8x16.splat(34);
  const bs = i8x16.splat(92);
  const sp = i8x16.splat(32);
  let flags: i32 = 0;
  i++;
  for (;;) {
    const v = v128.load(i);
    const stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, q), i8x16.eq(v, bs)), i8x16.lt_u(v, sp)));
    const high = i8x16.bitmask(v);
    if (stop == 0) {
      if (high != 0) flags |= 2;
      i += 16;
      continue;
    }
    const j = ctz<i32>(stop);
    if ((high & ((1 << j) - 1)) != 0) flags |= 2;
    i += <usize>j;
    const c = load<u8>(i);
    if (c == 34) {
      strFlags = flags;
      return i + 1;
    }
    if (c != 92) return 0;
    flags |= 1;
    i = escapeEnd(i);
    if (i == 0) return 0;
  }
  return 0; // not reached (AssemblyScript wants a return after the loop)
}

/**
 * readString without strFlags, for values nothing reads (readValue: bodies and other members):
 * the position after the string at its opening quote `i`, or 0 when it is not a JSON string.
 * Accepts and rejects exactly what readString does (test/ingest/extract.test.ts compares the
 * module with JSON.parse on strings of every kind at every offset of a 16-byte load).
 */
function skipString(i: usize): usize {
  const q = i8x16.splat(34);
  const bs = i8x16.splat(92);
  const sp = i8x16.splat(32);
  i++;
  for (;;) {
    const v = v128.load(i);
    const stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, q), i8x16.eq(v, bs)), i8x16.lt_u(v, sp)));
    if (stop == 0) {
      i += 16;
      continue;
    }
    i += <usize>ctz<i32>(stop);
    const c = load<u8>(i);
    if (c == 34) return i + 1;
    if (c != 92) return 0;
    i = escapeEnd(i);
    if (i == 0) return 0;
  }
  return 0; // not reached (AssemblyScript wants a return after the loop)
}

/** Reads a scalar (string, number, true, false, null) at `i`: the position after it, or 0 (skipString for strings). */
function skipScalar(i: usize): usize {
  const c = load<u8>(i);
  if (c == 34) return skipString(i);
  if (c == 116) return load<u32>(i) == 0x65757274 ? i + 4 : 0; // true
  if (c == 102) return load<u32>(i + 1) == 0x65736c61 ? i + 5 : 0; // (f)alse
  if (c == 110) return load<u32>(i) == 0x6c6c756e ? i + 4 : 0; // null
  return readNumber(i);
}

/** Reads a member name nothing reads, the colon and the whitespace around it at `i`: where its value starts, or 0. */
// @ts-ignore: decorator
@inline
function skipName(i: usize): usize {
  if (load<u8>(i) != 34) return 0;
  i = skipString(i);
  if (i == 0) return 0;
  i = ws(i);
  if (load<u8>(i) != 58) return 0;
  return ws(i + 1);
}

// @ts-ignore: decorator
@inline
function isDigit(c: u32): bool {
  return c - 48 < 10;
}

/** Reads a number token at `i` (RFC 8259 §6): the position after it, or 0. */
function readNumber(i: usize): usize {
  if (load<u8>(i) == 45) i++;
  let c = <u32>load<u8>(i);
  if (c == 48) i++;
  else if (c - 49 < 9) {
    i++;
    while (isDigit(load<u8>(i))) i++;
  } else return 0;
  if (load<u8>(i) == 46) {
    i++;
    if (!isDigit(load<u8>(i))) return 0;
    while (isDigit(load<u8>(i))) i++;
  }
  c = load<u8>(i);
  if (c == 101 || c == 69) {
    i++;
    c = load<u8>(i);
    if (c == 43 || c == 45) i++;
    if (!isDigit(load<u8>(i))) return 0;
    while (isDigit(load<u8>(i))) i++;
  }
  return i;
}

/** Reads any value at `i` (whitespace skipped): the position after it, or 0. Iterative. */
function readValue(i: usize): usize {
  let depth: i32 = 0;
  for (;;) {
    // a value at i
    let c = load<u8>(i);
    if (c == 123 || c == 91) {
      i = ws(i + 1);
      const close: u8 = c == 123 ? 125 : 93;
      if (load<u8>(i) == close) i++;
      else {
        if (depth >= MAX_DEPTH) return 0;
        store<u8>(stack + <usize>depth, c);
        depth++;
        if (c == 123) {
          i = skipName(i);
          if (i == 0) return 0;
        }
        continue;
      }
    } else {
      i = skipScalar(i);
      if (i == 0) return 0;
    }
    // after a value: close containers or go on to the next member or element
    for (;;) {
      if (depth == 0) return i;
      i = ws(i);
      c = load<u8>(i);
      const top = load<u8>(stack + <usize>(depth - 1));
      if (c == 44) {
        i = ws(i + 1);
        if (top == 123) {
          i = skipName(i);
          if (i == 0) return 0;
        }
        break;
      }
      if ((c == 125 && top == 123) || (c == 93 && top == 91)) {
        depth--;
        i++;
        continue;
      }
      return 0;
    }
  }
  return 0; // not reached (AssemblyScript wants a return after the loop)
}

/** Whether the n bytes at a and b are equal (8 at a time). */
function equal(a: usize, b: usize, n: i32): bool {
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    n--;
  }
  return true;
}

/** Key rows by (parent, name length): the first row, then the next row of each (-1 ends). */
const MAX_PARENTS: i32 = 8;
const MAX_NAME: i32 = 64;
let keyHeads: usize = 0;
let keyNext: usize = 0;

/** The key row matching the name [s, e) under `parent`, or -1. */
function findKey(parent: i32, s: usize, e: usize): i32 {
  const n = <i32>(e - s);
  if (n >= MAX_NAME || parent >= MAX_PARENTS) return -1;
  let k = load<i32>(keyHeads + <usize>((parent * MAX_NAME + n) * 4));
  while (k >= 0) {
    const row = keyTable + <usize>(k * 20);
    if (equal(s, <usize>load<i32>(row + 12), n)) return k;
    k = load<i32>(keyNext + <usize>(k * 4));
  }
  return -1;
}

// The intern table: INTERN_SLOTS entries of (length, hash, the last line that used it, whether that line took it over) and INTERN_BYTES bytes each. A plain
// string of a slot flagged F_INTERN of at most INTERN_BYTES bytes is looked up by its hash: a hit
// gives the entry's number (K_INTERNED; the caller keeps the string it made for it), a miss takes
// the entry over (K_INTERN_NEW: the caller makes the string and keeps it under that number).
const INTERN_SLOTS: i32 = 4096;
const INTERN_BYTES: i32 = 128;
let intern: usize = 0;
let internBytes: usize = 0;
/** The entries this line took over (forgotten again if the line is declined: the caller never saw them). */
let newIds: usize = 0;
let newCount: i32 = 0;
/** A number of its own for each line read (entries remember the line that took them over). */
let lineStamp: u32 = 0;

/** Interns the bytes [s, e) (at most INTERN_BYTES): the entry's number, plus INTERN_SLOTS when it is new. */
function internOf(s: usize, e: usize): i32 {
  // a multiplicative hash of 8 bytes at a time; the last word holds only bytes of [s, e)
  let h: u64 = 0x9e3779b97f4a7c15;
  let k = s;
  while (k + 8 <= e) {
    h = (h ^ load<u64>(k)) * 0xff51afd7ed558ccd;
    h ^= h >> 29;
    k += 8;
  }
  if (k < e) {
    const rest = <u64>((e - k) * 8);
    h = (h ^ (load<u64>(k) & ((<u64>1 << rest) - 1))) * 0xff51afd7ed558ccd;
    h ^= h >> 29;
  }
  const h32 = <u32>(h ^ (h >> 32));
  const n = <i32>(e - s);
  const id = <i32>((h32 ^ (h32 >> 16)) & <u32>(INTERN_SLOTS - 1));
  const entry = intern + <usize>(id * 16);
  // Within one line an entry is either taken over once, or only hit: the caller reads the slots
  // in its own order, so it must not see an entry change in the middle of a line.
  const used = load<u32>(entry + 8) == lineStamp;
  if (used && load<i32>(entry + 12) != 0) return -1;
  const bytes = internBytes + <usize>(id * INTERN_BYTES);
  if (load<i32>(entry) == n && load<u32>(entry + 4) == h32 && equal(bytes, s, n)) {
    store<u32>(entry + 8, lineStamp);
    store<i32>(entry + 12, 0);
    return id;
  }
  if (used) return -1;
  store<i32>(entry, n);
  store<u32>(entry + 4, h32);
  store<u32>(entry + 8, lineStamp);
  store<i32>(entry + 12, 1);
  memory.copy(bytes, s, <usize>n);
  if (newCount < MAX_SLOTS) store<i32>(newIds + <usize>(newCount++ * 4), id);
  else store<i32>(entry, -1); // cannot be undone if the line is declined: not kept
  return id + INTERN_SLOTS;
}

// @ts-ignore: decorator
@inline
function setSlot(slot: i32, kind: i32, s: usize, e: usize, v: i32): void {
  const o = table + <usize>(slot * 16);
  store<i32>(o, kind);
  store<i32>(o + 4, <i32>s);
  store<i32>(o + 8, <i32>e);
  store<i32>(o + 12, v);
}

/** Reads `["a","b"]` (plain strings, no whitespace) at `i`: the position after it, or 0 if it is not that. */
function readStrings(i: usize): usize {
  i++;
  if (load<u8>(i) == 93) return i + 1;
  for (;;) {
    if (load<u8>(i) != 34) return 0;
    i = readString(i);
    if (i == 0 || strFlags != 0) return 0;
    const c = load<u8>(i);
    if (c == 93) return i + 1;
    if (c != 44) return 0;
    i++;
  }
  return 0; // not reached (AssemblyScript wants a return after the loop)
}

/** A non-negative integer token of 1–9 digits at [s, e), or -1. */
function smallInt(s: usize, e: usize): i32 {
  const n = e - s;
  if (n < 1 || n > 9) return -1;
  if (n > 1 && load<u8>(s) == 48) return -1;
  let v: i32 = 0;
  for (let k = s; k < e; k++) {
    const d = <u32>load<u8>(k) - 48;
    if (d >= 10) return -1;
    v = v * 10 + <i32>d;
  }
  return v;
}

/** Reads a read member's value at `i` into `slot`: the position after it, or 0 (not JSON, or declined). */
function readMember(slot: i32, child: i32, i: usize): usize {
  const o = table + <usize>(slot * 16);
  if (load<i32>(o) != K_ABSENT) return 0; // a read member twice
  const c = load<u8>(i);
  const flags = load<i32>(slotFlags + <usize>(slot * 4));
  if (c == 34) {
    if ((flags & F_INTERN) != 0 && predIds != 0) {
      const p = predictedValue(slot, i, false);
      if (p != 0) return p;
    }
    const e = readString(i);
    if (e == 0) return 0;
    if (strFlags == 0 && (flags & F_INTERN) != 0 && <i32>(e - i - 2) <= INTERN_BYTES) {
      const id = internOf(i + 1, e - 1);
      setSlot(slot, id < 0 ? K_PLAIN : id >= INTERN_SLOTS ? K_INTERN_NEW : K_INTERNED, i, e, id & (INTERN_SLOTS - 1));
      if (id >= 0 && predIds != 0) store<i32>(predIds + <usize>(slot * 4), id & (INTERN_SLOTS - 1));
    } else {
      setSlot(slot, strFlags == 0 ? K_PLAIN : strFlags == 2 ? K_UTF8 : K_JSON, i, e, 0);
      if (strFlags == 0 && (flags & F_TIME) != 0 && times != 0) store<f64>(times + <usize>(slot * 8), parseTime(i + 1, e - 1));
    }
    return e;
  }
  if (c == 123 && child >= 0) {
    const e = readObject(i, child);
    if (e == 0) return 0;
    setSlot(slot, K_OBJECT, i, e, 0);
    return e;
  }
  if (c == 91 && (flags & F_STRINGS) != 0) {
    if ((flags & F_INTERN) != 0 && predIds != 0) {
      const p = predictedValue(slot, i, true);
      if (p != 0) return p;
    }
    const e = readStrings(i);
    if (e != 0) {
      if ((flags & F_INTERN) != 0 && e - i > 2 && <i32>(e - i) <= INTERN_BYTES) {
        const id = internOf(i, e);
        setSlot(slot, id < 0 ? K_STRINGS : id >= INTERN_SLOTS ? K_INTERN_NEW : K_INTERNED, i, e, id & (INTERN_SLOTS - 1));
        if (id >= 0 && predIds != 0) store<i32>(predIds + <usize>(slot * 4), id & (INTERN_SLOTS - 1));
      } else setSlot(slot, K_STRINGS, i, e, 0);
      return e;
    }
  }
  const e = readValue(i);
  if (e == 0) return 0;
  if (c == 110) setSlot(slot, K_NULL, i, e, 0);
  else {
    const v = (flags & F_INT) != 0 ? smallInt(i, e) : -1;
    setSlot(slot, v >= 0 ? K_INT : K_JSON, i, e, v);
  }
  return e;
}

// --- timestamps ---

// --- predictions from the lines before ---
//
// Lines of one log repeat themselves: the members of an object come in the same order with the same
// names, and most read values were seen before. Each object level remembers, by member position,
// the name (with its quotes) and key row it found there in the last line; a name whose bytes at the
// same position are those bytes is taken without readString and findKey (they would find exactly
// that: the remembered bytes are a whole string without escapes, quote or control character, so
// the same bytes end at the same quote and name the same row). Each interned slot remembers the
// intern entry its last value had; a value whose bytes are that entry's bytes (and then a quote,
// for a string) is that entry, as internOf would find it, without the scan and the hash. Only
// work is saved: a miss takes the ordinary path.

/** Remembered names: MAX_PARENTS × PRED_POS entries of PRED_BYTES (i32 length of the quoted name or 0, i32 row, the bytes). */
const PRED_POS: i32 = 32;
const PRED_NAME: i32 = 32;
const PRED_BYTES: i32 = 8 + PRED_NAME;
let predNames: usize = 0;
/** Per slot, the intern entry of its last interned value, or -1. */
let predIds: usize = 0;

/**
 * Sets the predictions' area (MAX_PARENTS × PRED_POS × PRED_BYTES + MAX_SLOTS × 4 bytes) and forgets
 * what it held; after configure(). 0: no predictions.
 */
export function configurePredict(at: usize): void {
  predNames = at;
  if (at == 0) {
    predIds = 0;
    return;
  }
  predIds = at + <usize>(MAX_PARENTS * PRED_POS * PRED_BYTES);
  memory.fill(predNames, 0, <usize>(MAX_PARENTS * PRED_POS * PRED_BYTES));
  for (let k = 0; k < MAX_SLOTS; k++) store<i32>(predIds + <usize>(k * 4), -1);
}

/** Whether the n bytes at a (a line) are the n bytes at b (1 ≤ n ≤ 32; both readable 32 bytes on). */
// @ts-ignore: decorator
@inline
function sameHead(a: usize, b: usize, n: i32): bool {
  const m0 = i8x16.bitmask(i8x16.eq(v128.load(a), v128.load(b)));
  if (n <= 16) {
    const need = (1 << n) - 1;
    return (m0 & need) == need;
  }
  if (m0 != 0xffff) return false;
  const need = (1 << (n - 16)) - 1;
  return (i8x16.bitmask(i8x16.eq(v128.load(a + 16), v128.load(b + 16))) & need) == need;
}

/**
 * The remembered value of `slot` when the line's bytes at `i` (a quote, or a bracket) are it: the
 * position after it (the slot is set as internOf's hit would set it), else 0.
 */
function predictedValue(slot: i32, i: usize, array: bool): usize {
  const id = load<i32>(predIds + <usize>(slot * 4));
  if (id < 0) return 0;
  const entry = intern + <usize>(id * 16);
  const n = load<i32>(entry);
  if (n <= 0) return 0;
  // Within one line an entry is taken over once or only hit (internOf).
  if (load<u32>(entry + 8) == lineStamp && load<i32>(entry + 12) != 0) return 0;
  const bytes = internBytes + <usize>(id * INTERN_BYTES);
  // An entry holds a string's content, or a whole array of strings (`["…`: never a string's content, which has no quote).
  const isArray = n >= 2 && load<u8>(bytes) == 91 && load<u8>(bytes + 1) == 34;
  if (isArray != array) return 0;
  let e: usize;
  if (array) {
    // equal() stops at the first difference, at the latest at the line's sentinel (0 is in no entry).
    if (!equal(bytes, i, n)) return 0;
    e = i + <usize>n;
  } else {
    if (!equal(bytes, i + 1, n) || load<u8>(i + 1 + <usize>n) != 34) return 0;
    e = i + 2 + <usize>n;
  }
  store<u32>(entry + 8, lineStamp);
  store<i32>(entry + 12, 0);
  setSlot(slot, K_INTERNED, i, e, id);
  return e;
}

/** Where parseTime's results go: one f64 per slot (0: not configured). */
let times: usize = 0;

/** Sets the times area (one f64 per slot): slots flagged F_TIME that hold a plain string get parseTime's result there. */
export function configureTimes(at: usize): void {
  times = at;
}

/** Two ASCII digits at `i` as a number, or -1. */
// @ts-ignore: decorator
@inline
function d2(i: usize): i32 {
  const a = <i32>load<u8>(i) - 48;
  const b = <i32>load<u8>(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysIn(year: i32, month: i32): i32 {
  if (month == 2) return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28;
  return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

/** Floor division by a positive divisor. */
// @ts-ignore: decorator
@inline
function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/** src/normalize/time.ts daysFromCivil: days from 1970-01-01 to a day of the proleptic Gregorian calendar. */
function daysFromCivil(year: i32, month: i32, day: i32): i32 {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/**
 * src/normalize/time.ts parseTimeMs of the ASCII text [s, e), operation for operation (the same
 * grammar, the same integers, the same f64 additions, multiplications and divisions in the same
 * order, so the same double): epoch ms, or NaN when it is no RFC 3339 timestamp. A differential
 * test compares both on generated strings (test/ingest/extract.test.ts).
 */
function parseTime(s: usize, e: usize): f64 {
  const n = <i32>(e - s);
  if (n < 20 || load<u8>(s + 4) != 45 || load<u8>(s + 7) != 45 || load<u8>(s + 13) != 58 || load<u8>(s + 16) != 58) return NaN;
  const t = load<u8>(s + 10);
  if (t != 84 && t != 116 && t != 32) return NaN;
  const c = d2(s);
  const y = d2(s + 2);
  const mo = d2(s + 5);
  const d = d2(s + 8);
  const h = d2(s + 11);
  const mi = d2(s + 14);
  const se = d2(s + 17);
  if (c < 0 || y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return NaN;
  const year = c * 100 + y;
  if (d > 28 && d > daysIn(year, mo)) return NaN;
  let i: i32 = 19;
  let ms: i32 = 0;
  let frac: f64 = 0;
  // The byte at e is not part of the text (the sentinel, or a quote): every read below stays before it.
  if (load<u8>(s + <usize>i) == 46 && i < n) {
    i++;
    let digits: i32 = 0;
    let scale: f64 = 0.1;
    for (; i < n; i++) {
      const x = <i32>load<u8>(s + <usize>i) - 48;
      if (x < 0 || x > 9) break;
      if (digits < 3) ms = ms * 10 + x;
      else {
        frac += <f64>x * scale;
        scale /= 10;
      }
      digits++;
    }
    if (digits == 0) return NaN;
    if (digits < 3) ms *= digits == 1 ? 100 : 10;
  }
  let offset: i32 = 0;
  if (i >= n) return NaN;
  const z = load<u8>(s + <usize>i);
  if (z == 90 || z == 122) {
    if (i != n - 1) return NaN;
  } else if ((z == 43 || z == 45) && i + 6 == n && load<u8>(s + <usize>(i + 3)) == 58) {
    const oh = d2(s + <usize>(i + 1));
    const om = d2(s + <usize>(i + 4));
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offset = (z == 43 ? 1 : -1) * (oh * 60 + om) * 60000;
  } else return NaN;
  const utc: f64 = <f64>daysFromCivil(year, mo, d) * 86400000.0 + <f64>(h * 3600000) + <f64>(mi * 60000) + <f64>(se * 1000);
  const whole: f64 = utc + <f64>ms - <f64>offset;
  return frac == 0 ? whole : whole + frac;
}

/**
 * Reads an object at its `{` whose members under `parent` are looked up in the key table: the
 * position after it, or 0 (not JSON, or declined).
 */
function readObject(i: usize, parent: i32): usize {
  i = ws(i + 1);
  if (load<u8>(i) == 125) return i + 1;
  let pos: i32 = 0;
  for (;;) {
    if (load<u8>(i) != 34) return 0;
    let k: i32;
    const pred = predNames != 0 && pos < PRED_POS ? predNames + <usize>((parent * PRED_POS + pos) * PRED_BYTES) : 0;
    const plen = pred != 0 ? load<i32>(pred) : 0;
    if (plen != 0 && sameHead(i, pred + 8, plen)) {
      k = load<i32>(pred + 4);
      i += <usize>plen;
    } else {
      const ks = i;
      i = readString(i);
      if (i == 0 || (strFlags & 1) != 0) return 0; // an escaped name could be a read one
      k = findKey(parent, ks + 1, i - 1);
      if (pred != 0) {
        const n = <i32>(i - ks);
        if (n <= PRED_NAME) {
          memory.copy(pred + 8, ks, <usize>n);
          store<i32>(pred + 4, k);
          store<i32>(pred, n);
        } else store<i32>(pred, 0);
      }
    }
    pos++;
    i = ws(i);
    if (load<u8>(i) != 58) return 0;
    i = ws(i + 1);
    if (k < 0) i = readValue(i);
    else {
      const row = keyTable + <usize>(k * 20);
      const slot = load<i32>(row + 4);
      if (slot < 0) return 0; // a fallback name
      i = readMember(slot, load<i32>(row + 8), i);
    }
    if (i == 0) return 0;
    i = ws(i);
    const c = load<u8>(i);
    if (c == 125) return i + 1;
    if (c != 44) return 0;
    i = ws(i + 1);
  }
  return 0; // not reached (AssemblyScript wants a return after the loop)
}

/**
 * Checks the line [start, end) (leading whitespace may be there) and fills the table. Returns 1 when
 * the line is exactly one JSON object the table describes, 0 when it is declined.
 */
export function extract(start: usize, end: usize): i32 {
  memory.fill(table, 0, <usize>(slotCount * 16));
  newCount = 0;
  lineStamp++;
  if (lineStamp == 0) {
    // after 2^32 lines: no entry may look taken over by this one
    for (let k = 0; k < INTERN_SLOTS; k++) store<u32>(intern + <usize>(k * 16 + 8), 0);
    lineStamp = 1;
  }
  const saved = load<u8>(end);
  store<u8>(end, 0);
  let i = ws(start);
  let ok: i32 = 0;
  if (load<u8>(i) == 123) {
    i = readObject(i, 0);
    if (i != 0 && ws(i) == end) ok = 1;
  }
  store<u8>(end, saved);
  if (ok == 0) for (let k = 0; k < newCount; k++) store<i32>(intern + <usize>(load<i32>(newIds + <usize>(k * 4)) * 16), -1);
  return ok;
}
