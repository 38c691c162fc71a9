// Go strings (byte sequences that need not be UTF-8) in JavaScript: util/gostring.ts keeps each byte
// that is not part of valid UTF-8 as the lone surrogate U+DC00+byte. Checked against Go's rules
// (unicode/utf8 DecodeRune: acceptRanges; `range` yields one U+FFFD per invalid byte) and, for
// valid UTF-8, against the WHATWG decoder.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { fromGoBytes, goBytes, goCompare, goReplaceInvalid } from '../../src/util/gostring.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('Go strings', () => {
  it('round-trip: goBytes(fromGoBytes(b)) is b for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        expect(goBytes(fromGoBytes(b))).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('valid UTF-8 decodes as UTF-8; invalid bytes, one by one, as U+DC80…U+DCFF', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const s = fromGoBytes(b);
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(b);
        } catch {
          valid = false;
        }
        if (valid) expect(s).toBe(new TextDecoder().decode(b));
        else expect(s).toMatch(/[\uDC80-\uDCFF]/);
        // Go's `range` sees one U+FFFD per invalid byte: as many as there are escapes (lone code
        // points U+DC80…U+DCFF; a valid pair such as U+40080 = D8C0 DC80 is not one: found by fast-check)
        const r = goReplaceInvalid(s);
        expect(r.isWellFormed()).toBe(true);
        expect([...r].filter((c) => c === '\uFFFD').length - [...s].filter((c) => c === '\uFFFD').length).toBe([...s].filter((c) => /^[\uDC80-\uDCFF]$/u.test(c)).length);
      }),
      { numRuns: 3000 },
    );
  });

  it.each<[Uint8Array, string]>([
    [bytes(0x41, 0xff), 'A\uDCFF'],
    [bytes(0xc0, 0xaf), '\uDCC0\uDCAF'], // overlong
    [bytes(0xe0, 0x80, 0x80), '\uDCE0\uDC80\uDC80'], // overlong 3-byte
    [bytes(0xed, 0xa0, 0x80), '\uDCED\uDCA0\uDC80'], // surrogate half
    [bytes(0xf4, 0x90, 0x80, 0x80), '\uDCF4\uDC90\uDC80\uDC80'], // above U+10FFFF
    [bytes(0xe2, 0x82), '\uDCE2\uDC82'], // truncated
    [bytes(0xf0, 0x9f, 0x98, 0x80), '\u{1F600}'],
    [bytes(0xf1, 0x80, 0x82, 0x80), '\u{40080}'], // a pair whose low half is DC80: not an escape
  ])('%o', (b, s) => {
    expect(fromGoBytes(b)).toBe(s);
    expect(goBytes(s)).toEqual(b);
  });

  it('goReplaceInvalid turns each raw byte into U+FFFD and leaves surrogate pairs alone', () => {
    expect(goReplaceInvalid('a\uDCFF\u{1F600}\uDC80')).toBe('a\uFFFD\u{1F600}\uFFFD');
  });

  it('goCompare orders by bytes, as Go compares strings', () => {
    expect(['\uE000', '\uDCFF', '\u{1F600}', 'z'].sort(goCompare)).toEqual(['z', '\uE000', '\u{1F600}', '\uDCFF']);
  });
});
