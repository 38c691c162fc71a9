// JSON read on raw bytes without building values: the grammar of RFC 8259 checked byte by byte, as
// strictly as JSON.parse (ECMA-262 JSON.parse, whose grammar is RFC 8259's), so that a text this
// accepts is one JSON.parse accepts too. Used by the field extractor (extract.ts) to step over the
// values a command does not read, and by the pre-filter to read a line's top-level keys.
//
// Everything here works on a Buffer (or any Uint8Array) between `i` and `end` and returns the index
// after what it read, or -1 when the bytes are not JSON there. Bytes of 0x80 and above are only
// allowed inside strings (JSON.parse sees the characters they decode to, or U+FFFD, there; outside
// strings no such character is JSON). Nesting is tracked on an explicit stack: no recursion, so no
// depth is too deep (V8's JSON.parse has no depth limit either).

const QUOTE = 34;
const BACKSLASH = 92;

/** Byte classes for the scanner: 1 = whitespace (space, tab, CR, LF). */
const WS = new Uint8Array(256);
WS[32] = WS[9] = WS[13] = WS[10] = 1;

/** Valid characters after a backslash: " \ / b f n r t (u is checked apart). */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;

/** Bytes that end a run of plain string content: the quote, the backslash, control characters. */
const STR_STOP = new Uint8Array(256);
for (let c = 0; c < 32; c++) STR_STOP[c] = 1;
STR_STOP[QUOTE] = 1;
STR_STOP[BACKSLASH] = 1;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/** Skips JSON whitespace. */
export function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end && WS[b[i]!] === 1) i++;
  return i;
}

/**
 * Reads a string token starting at its opening quote `b[i]`. Returns the index after the closing
 * quote, or -1 when it is not a valid JSON string (a raw control character, a bad escape, no end).
 * `scanString.escaped` tells whether it held a backslash (its value then needs decoding).
 */
export function scanString(b: Uint8Array, i: number, end: number): number {
  let esc = false;
  i++;
  for (;;) {
    while (i < end && STR_STOP[b[i]!] === 0) i++;
    if (i >= end) return -1;
    const c = b[i]!;
    if (c === QUOTE) break;
    if (c !== BACKSLASH || i + 1 >= end) return -1;
    esc = true;
    const d = b[i + 1]!;
    if (d === 117) {
      if (i + 5 >= end || HEX[b[i + 2]!] === 0 || HEX[b[i + 3]!] === 0 || HEX[b[i + 4]!] === 0 || HEX[b[i + 5]!] === 0) return -1;
      i += 6;
    } else if (ESCAPE[d] === 1) i += 2;
    else return -1;
  }
  scanned.escaped = esc;
  return i + 1;
}

/** Side results of the last scanString / scanValue call (no allocation per call). */
export const scanned = { escaped: false };

/** Reads a number token (RFC 8259 §6: -? int frac? exp?) at `i`; -1 if it is not one. */
function scanNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 45) i++;
  if (i >= end) return -1;
  if (b[i] === 48) i++;
  else if (b[i]! >= 49 && b[i]! <= 57) {
    i++;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  } else return -1;
  if (i < end && b[i] === 46) {
    i++;
    if (i >= end || b[i]! < 48 || b[i]! > 57) return -1;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  }
  if (i < end && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < end && (b[i] === 43 || b[i] === 45)) i++;
    if (i >= end || b[i]! < 48 || b[i]! > 57) return -1;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  }
  return i;
}

function scanLiteral(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c === 116) return i + 3 < end && b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101 ? i + 4 : -1; // true
  if (c === 102) return i + 4 < end && b[i + 1] === 97 && b[i + 2] === 108 && b[i + 3] === 115 && b[i + 4] === 101 ? i + 5 : -1; // false
  if (c === 110) return i + 3 < end && b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108 ? i + 4 : -1; // null
  return -1;
}

/** The stack of open containers while skipping: 1 object, 2 array. Grows as needed; shared. */
let stack = new Uint8Array(256);


/**
 * Skips one JSON value starting at `i` (no leading whitespace), checking its grammar. Returns the
 * index after it, or -1 when the bytes are not one JSON value. The hot loop of the field
 * extractor: strings are stepped over inline, a run of plain content at a time.
 */
export function scanValue(b: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  let c: number = b[i]!;
  if (c !== 123 && c !== 91) return c === QUOTE ? scanString(b, i, end) : c === 45 || (c >= 48 && c <= 57) ? scanNumber(b, i, end) : scanLiteral(b, i, end);
  const ws = WS;
  const stop = STR_STOP;
  let depth = 0;
  /** Expecting a key (after `{` or a comma in an object). */
  let key = false;
  for (;;) {
    // ---- at a value, or at a key when `key` (c = b[i], i < end) ----
    if (c === QUOTE) {
      // a string, inline: runs of plain bytes, then a quote, an escape or a control character
      i++;
      for (;;) {
        while (i < end && stop[b[i]!] === 0) i++;
        if (i >= end) return -1;
        const d = b[i]!;
        if (d === QUOTE) break;
        if (d !== BACKSLASH || i + 1 >= end) return -1;
        const x = b[i + 1]!;
        if (x === 117) {
          if (i + 5 >= end || HEX[b[i + 2]!] === 0 || HEX[b[i + 3]!] === 0 || HEX[b[i + 4]!] === 0 || HEX[b[i + 5]!] === 0) return -1;
          i += 6;
        } else if (ESCAPE[x] === 1) i += 2;
        else return -1;
      }
      i++;
      if (key) {
        key = false;
        while (i < end && ws[b[i]!] === 1) i++;
        if (i >= end || b[i] !== 58) return -1;
        i++;
        while (i < end && ws[b[i]!] === 1) i++;
        if (i >= end) return -1;
        c = b[i]!;
        continue;
      }
    } else if (key) return -1;
    else if (c === 123 || c === 91) {
      if (depth === stack.length) {
        const bigger = new Uint8Array(stack.length * 2);
        bigger.set(stack);
        stack = bigger;
      }
      i++;
      while (i < end && ws[b[i]!] === 1) i++;
      if (i >= end) return -1;
      const d = b[i]!;
      if (c === 123) {
        if (d === 125) i++;
        else {
          stack[depth++] = 1;
          key = true;
          c = d;
          continue;
        }
      } else if (d === 93) i++;
      else {
        stack[depth++] = 2;
        c = d;
        continue;
      }
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      i = scanNumber(b, i, end);
      if (i < 0) return -1;
    } else {
      i = scanLiteral(b, i, end);
      if (i < 0) return -1;
    }
    // ---- after a value ----
    for (;;) {
      if (depth === 0) return i;
      while (i < end && ws[b[i]!] === 1) i++;
      if (i >= end) return -1;
      const d = b[i]!;
      if (d === 44) {
        i++;
        while (i < end && ws[b[i]!] === 1) i++;
        if (i >= end) return -1;
        key = stack[depth - 1] === 1;
        c = b[i]!;
        break;
      }
      if (d === 125 ? stack[depth - 1] === 1 : d === 93 && stack[depth - 1] === 2) {
        i++;
        depth--;
        continue;
      }
      return -1;
    }
  }
}

/** KeyTable.id of a key that is none of the table's. */
export const OTHER = -1;

/**
 * Compares a key's bytes with a fixed list of names without decoding it: names by (length, first
 * byte), then byte by byte. An escaped key is decoded (JSON.parse) and looked up by name.
 */
export class KeyTable {
  /** Names by (length, first byte): index len * 256 + first byte, for names shorter than 64 bytes. */
  private readonly byShape: ({ bytes: Uint8Array; id: number }[] | undefined)[] = new Array(64 * 256);
  private readonly byName = new Map<string, number>();
  /** The names, by id (for ids 0, 1, 2…). */
  readonly names: string[] = [];
  add(name: string, id: number): void {
    const bytes = Buffer.from(name, 'utf8');
    this.byName.set(name, id);
    if (id >= 0) this.names[id] = name;
    if (bytes.length === 0 || bytes.length >= 64) return;
    const k = bytes.length * 256 + bytes[0]!;
    (this.byShape[k] ??= []).push({ bytes, id });
  }
  /** The id of the key whose string token is b[s..e) (quotes included), else OTHER. */
  id(b: Uint8Array, s: number, e: number, escaped: boolean): number {
    const len = e - s - 2;
    if (escaped || len <= 0 || len >= 64) return this.byName.get(JSON.parse(Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('utf8')) as string) ?? OTHER;
    const list = this.byShape[len * 256 + b[s + 1]!];
    if (list === undefined) return OTHER;
    outer: for (let k = 0; k < list.length; k++) {
      const bytes = list[k]!.bytes;
      for (let j = 1; j < len; j++) if (b[s + 1 + j] !== bytes[j]) continue outer;
      return list[k]!.id;
    }
    return OTHER;
  }
}

/**
 * A search for `needle` in lines of the same buffer, in order: it remembers the next occurrence in
 * the buffer, so a chunk of many lines is searched once (not once per line, nor past each line's
 * end). Lines must come in increasing order within a buffer; any other call searches afresh.
 */
export function finder(text: string): (b: Buffer, start: number, end: number) => number {
  const needle = Buffer.from(text, 'latin1');
  let buf: Buffer | null = null;
  let from = 0;
  let at = -1;
  return (b, start, end) => {
    if (b !== buf || start < from) {
      buf = b;
      from = start;
      at = b.indexOf(needle, start);
    } else if (at !== -1 && at < start) {
      from = start;
      at = b.indexOf(needle, start);
    }
    return at !== -1 && at + needle.length <= end ? at : -1;
  };
}

