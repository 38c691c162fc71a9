// Linear-time globs (src/util/glob.ts): the same answers as an anchored regular expression, and a
// step count that proves the bound on the inputs that made the old RegExp backtrack for seconds.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { compileGlob, compileGlobTokens, globMatches, parseGlob, type StepCounter } from '../../src/util/glob.js';
import { globMatcher } from '../../src/filter/index.js';

/** The reference: the glob as an anchored RegExp in which `.` matches any code unit (the `s` flag). */
function reference(pattern: string): (s: string) => boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
  return (s) => re.test(s);
}

describe('glob matching', () => {
  it.each([
    ['web-*-*-prod', 'web-a-b-prod', true],
    ['web-*-*-prod', 'web-a-prod', false],
    ['web-*-*-prod', 'web---prod', true],
    ['web-*-*-prod', 'web--prod', false],
    ['system:serviceaccount:ci:*', 'system:serviceaccount:ci:deployer', true],
    ['system:serviceaccount:ci:*', 'system:serviceaccount:cd:deployer', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*a', 'ba', true],
    ['a*', 'ab', true],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*ab*ab*', 'xabyab', true],
    ['*ab*ab*', 'xaab', false],
    ['?*?', 'ab', true],
    ['?*?', 'a', false],
    ['evil*', 'evil\nname', true],
  ])('%j on %j is %s', (p, s, want) => {
    expect(compileGlob(p)(s)).toBe(want);
  });

  it('answers as the anchored regular expression does (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '-', '\n');
    const pat = fc.array(fc.constantFrom('a', 'b', '-', '*', '?', '**'), { maxLength: 8 }).map((a) => a.join(''));
    const text = fc.array(alphabet, { maxLength: 14 }).map((a) => a.join(''));
    fc.assert(
      fc.property(pat, text, (p, s) => {
        expect(compileGlob(p)(s)).toBe(reference(p)(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches a pathological pattern against a 60 KB name in steps linear in its length', () => {
    // /^web-.*-.*-prod$/ over these names backtracked for seconds each (issue 15).
    const names = ['web-' + '-'.repeat(60_000), 'web-' + 'a-'.repeat(30_000) + 'pro', 'web-' + '-'.repeat(60_000) + '-prod'];
    const g = compileGlobTokens(parseGlob('web-*-*-prod'));
    for (const [i, s] of names.entries()) {
      const c: StepCounter = { steps: 0 };
      expect(globMatches(g, s, c)).toBe(i === 2);
      // O(n × m) at worst, and here far less: a small multiple of the text's length.
      expect(c.steps).toBeLessThanOrEqual(4 * s.length + 100);
    }
  });

  it('stays within n × (m + 1) steps on the worst inputs for naive matchers (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '?', '*', 'aa', 'b'), { minLength: 1, maxLength: 10 }).map((a) => a.join('')),
        fc.integer({ min: 0, max: 3000 }),
        (p, n) => {
          const s = 'a'.repeat(n) + 'b';
          const c: StepCounter = { steps: 0 };
          globMatches(compileGlobTokens(parseGlob(p)), s, c);
          expect(c.steps).toBeLessThanOrEqual((s.length + 1) * (p.length + 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps Sigma escapes for the rule language and plain backslashes for the filters', () => {
    expect(compileGlob('a\\*b', true)('a*b')).toBe(true);
    expect(compileGlob('a\\*b', true)('axb')).toBe(false);
    expect(compileGlob('a\\*b')('a\\xb')).toBe(true);
  });

  it('is what the shared filters use: exact strings exactly, globs linear', () => {
    const m = globMatcher(['alice', 'system:serviceaccount:ci:*', 'web-*-*-prod']);
    expect(m('alice')).toBe(true);
    expect(m('alic')).toBe(false);
    expect(m('system:serviceaccount:ci:x')).toBe(true);
    expect(m('web-' + '-'.repeat(60_000))).toBe(false);
    expect(m('web-a-b-prod')).toBe(true);
  });
});
