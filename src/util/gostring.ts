// Go strings in JavaScript. A Go string is a sequence of bytes that need not be UTF-8: the API server
// percent-decodes request paths and query values into such strings (net/url unescape), so `%FF`
// gives the single byte 0xFF. JavaScript strings are UTF-16, so each byte that is not part of a
// valid UTF-8 sequence is kept as the lone surrogate U+DC00+byte (U+DC80…U+DCFF, Python's
// "surrogateescape"): the mapping is one-to-one, a byte prefix is a string prefix, and such a string
// never equals a well-formed one (an RBAC name read from YAML), just as 0xFF never equals a UTF-8
// name in Go. Every other character is itself.

/** The first lone surrogate that stands for a raw byte (0x80). */
const ESCAPE_BASE = 0xdc00;

/** Whether code unit `c` stands for a raw byte (U+DC80…U+DCFF) when it is not part of a pair. */
function isByteEscape(c: number): boolean {
  return c >= 0xdc80 && c <= 0xdcff;
}

/**
 * The bytes of the Go string `s` stands for: UTF-8, except that a lone U+DC80…U+DCFF is the raw
 * byte 0x80…0xFF (see the file comment). Other lone surrogates (which only a JSON escape can spell)
 * become U+FFFD, as Go's encoding/json decodes them.
 */
export function goBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00);
      i++;
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else if (isByteEscape(c)) out.push(c - ESCAPE_BASE);
    else if (c >= 0xd800 && c <= 0xdfff) out.push(0xef, 0xbf, 0xbd);
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/**
 * The JavaScript form of a Go string given as bytes: valid UTF-8 sequences decode as Go's
 * utf8.DecodeRune accepts them (no overlong forms, no surrogates, nothing above U+10FFFF); any other
 * byte becomes U+DC00+byte, one per byte, as Go's `range` yields one U+FFFD per invalid byte.
 */
export function fromGoBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    // Sequence length and the range of the second byte (Go's unicode/utf8 acceptRanges).
    let n = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    }
    let ok = n > 0 && i + n <= b.length && b[i + 1]! >= lo && b[i + 1]! <= hi;
    for (let k = 2; ok && k < n; k++) ok = b[i + k]! >= 0x80 && b[i + k]! <= 0xbf;
    if (!ok) {
      out += String.fromCharCode(ESCAPE_BASE + c);
      i++;
      continue;
    }
    let cp = n === 2 ? c & 0x1f : n === 3 ? c & 0x0f : c & 0x07;
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k]! & 0x3f);
    out += String.fromCodePoint(cp);
    i += n;
  }
  return out;
}

/**
 * Each raw byte of a Go string as U+FFFD, as Go's `for _, r := range s` followed by WriteRune
 * rewrites invalid UTF-8 (fields.UnescapeValue does this).
 */
export function goReplaceInvalid(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const paired = i > 0 && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    out += isByteEscape(c) && !paired ? '\uFFFD' : s[i];
  }
  return out;
}

/** Go's `a < b` on strings: bytewise comparison (-1, 0 or 1). */
export function goCompare(a: string, b: string): number {
  if (a === b) return 0;
  const x = goBytes(a);
  const y = goBytes(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}
