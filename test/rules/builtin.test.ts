// Every built-in rule: valid, documented, mapped to real ATT&CK techniques, and proven by its own
// examples (at least one request it must match and one it must not).
import { describe, it, expect } from 'vitest';
import { loadRuleSet } from '../../src/rules/lang/load.js';
import { runExamples } from '../../src/rules/lang/examples.js';
import { attackTechniques } from '../../src/rules/assets.js';

const set = await loadRuleSet();

describe('built-in rules', () => {
  it('load without errors and number at least 50', () => {
    expect(set.rules.length).toBeGreaterThanOrEqual(50);
    expect(set.warnings).toEqual([]);
  });

  it('have unique ids, a title, a description and a remediation', () => {
    const ids = set.rules.map((r) => r.doc.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of set.rules) {
      expect(r.doc.title, r.doc.id).not.toBe('');
      expect(r.doc.description, r.doc.id).not.toBe('');
      expect(r.doc.remediation, r.doc.id).not.toBe('');
      expect(r.doc.references.length, r.doc.id).toBeGreaterThan(0);
    }
  });

  it('map to techniques of the shipped ATT&CK list only', () => {
    const known = attackTechniques().techniques;
    const all = set.rules.flatMap((r) => r.doc.technique.map((t) => [r.doc.id, t] as const));
    expect(all.filter(([, t]) => !Object.hasOwn(known, t))).toEqual([]);
    expect(set.rules.filter((r) => r.doc.technique.length > 0).length).toBeGreaterThan(set.rules.length * 0.9);
  });

  it.each(set.rules.map((r) => [r.doc.id, r] as const))('%s has a positive and a negative example, and passes them', (_id, rule) => {
    const expects = rule.doc.examples.map((e) => e.expect);
    expect(expects).toContain('match');
    expect(expects).toContain('no-match');
    const failed = runExamples(rule).filter((x) => x.got !== x.expect);
    expect(failed).toEqual([]);
  });
});
