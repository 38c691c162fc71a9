// No array of unbounded length is spread into a call anywhere in src/: `a.push(...b)`,
// `Math.max(...b)`, `String.fromCharCode(...b)` and `f.apply(x, b)` put every element on the stack
// and throw "Maximum call stack size exceeded" past about 100,000 elements (anomalies crashed so at
// 300,000 findings). Use pushAll / maxOf (src/util/array.ts) or a loop.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { maxOf, pushAll } from '../../src/util/array.js';

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const PATTERNS: [RegExp, string][] = [
  [/\.(push|unshift)\(\s*\.\.\./, 'spread into push/unshift'],
  [/\bMath\.(max|min|hypot)\(\s*(?:[^()]*,\s*)?\.\.\./, 'spread into Math.max/min'],
  [/\bString\.from(CharCode|CodePoint)\(\s*\.\.\./, 'spread into String.fromCharCode'],
  [/\.apply\(/, 'Function.prototype.apply'],
];

describe('no unbounded spreads into calls', () => {
  it('src/ has none', () => {
    const bad: string[] = [];
    for (const f of files(join(__dirname, '../../src'))) {
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*)/.test(line)) return;
          for (const [re, what] of PATTERNS) if (re.test(line)) bad.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
        });
    }
    expect(bad).toEqual([]);
  });

  it('pushAll and maxOf handle a million elements', () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(() => [].push(...(big as never[]))).toThrow(RangeError);
    const dst = [-1];
    pushAll(dst, big);
    expect(dst.length).toBe(1_000_001);
    expect(maxOf(big, (x) => x)).toBe(999_999);
    expect(maxOf([], (x: number) => x, 1)).toBe(1);
  });
});
