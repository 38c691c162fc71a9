// Differential tests of rbac-gen's fast paths against the code they shortcut (issue 15: a million
// subjects of one request each go through the one-permission and plain-string paths a million times):
//  - compactResources with zero or one permission equals the general compaction
//    (compactResourcesReference), rules, evidence and order, in every strategy;
//  - yamlStr equals its definition (yamlStrReference: JSON.stringify, then the YAML escapes) on any
//    string, hostile ones included, and what it writes loads back as the same string.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as yaml from 'js-yaml';
import { compactResources, compactResourcesReference, explain, explainReference, type GenerateOptions } from '../../src/rbac/generate.js';
import type { KeyAgg } from '../../src/analyses/rbacgen/index.js';
import { yamlStr, yamlStrReference } from '../../src/render/sanitize.js';
import { HOSTILE_VALUES } from '../hostile.js';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'impersonate', 'bind', 'escalate', 'use', '*'];
const text = fc.oneof(fc.constantFrom('', 'pods', 'apps', 'a', 'b\u0000c', 'x"y', '\ud800', ...HOSTILE_VALUES), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }));

const keyAgg: fc.Arbitrary<KeyAgg> = fc
  .record({
    scope: fc.constantFrom('', 'team-a', 'b'),
    apiGroup: text,
    resource: fc.oneof(fc.constantFrom('pods', 'secrets', 'users', 'roles'), text),
    subresource: fc.constantFrom('', 'log', 'exec', 'a/b'),
    verb: fc.constantFrom(...VERBS),
    kind: fc.constantFrom('request', 'impersonate', 'bind', 'escalate') as fc.Arbitrary<KeyAgg['kind']>,
    count: fc.integer({ min: 1, max: 5 }),
    firstMs: fc.integer({ min: 0, max: 1000 }),
    lastMs: fc.integer({ min: 1000, max: 2000 }),
    names: fc.option(fc.uniqueArray(text, { maxLength: 4 }), { nil: null }),
    unnamed: fc.boolean(),
    examples: fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('id-1', 'id-2', 'id-0')), { maxLength: 3 }),
  })
  .map((r) => ({ ...r, nonResourceURL: '', first: `t${r.firstMs}`, last: `t${r.lastMs}`, names: r.names === null ? null : new Set(r.names) }));

const options: fc.Arbitrary<GenerateOptions> = fc.record({
  scope: fc.constantFrom('namespaced', 'cluster') as fc.Arbitrary<GenerateOptions['scope']>,
  verbs: fc.constantFrom('exact', 'grouped') as fc.Arbitrary<GenerateOptions['verbs']>,
  wildcards: fc.constantFrom('never', 'safe') as fc.Arbitrary<GenerateOptions['wildcards']>,
  resourceNames: fc.boolean(),
});

describe('compactResources: the one-permission fast path equals the general compaction', () => {
  it('for no permission', () => {
    expect(compactResources([], { scope: 'namespaced', verbs: 'exact', wildcards: 'never', resourceNames: false })).toEqual(compactResourcesReference([], { scope: 'namespaced', verbs: 'exact', wildcards: 'never', resourceNames: false }));
  });
  it('for any single permission in any strategy (rules, evidence, key order)', () => {
    fc.assert(
      fc.property(keyAgg, options, (k, o) => {
        const fast = compactResources([k], o);
        const ref = compactResourcesReference([k], o);
        expect(fast).toEqual(ref);
        // The same bytes once written (key order included).
        expect(JSON.stringify(fast)).toBe(JSON.stringify(ref));
      }),
      { numRuns: 2000 },
    );
  });
  it('and several permissions still take the general path', () => {
    fc.assert(
      fc.property(fc.array(keyAgg, { minLength: 2, maxLength: 6 }), options, (ks, o) => {
        expect(JSON.stringify(compactResources(ks, o))).toBe(JSON.stringify(compactResourcesReference(ks, o)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('yamlStr: the plain-ASCII fast path equals the definition', () => {
  const hostile = [...HOSTILE_VALUES, '', ' ', '"', '\\', 'a"b', 'a\\b', '\u007f', '\u0080', '\u009f', '\u00a0', '~', '!#[]', 'x\ty', '\ud800', '\udc00x', '😀', '\u2028', '\ufeff', '\ufffe', '\uffff'];
  it.each(hostile.map((v) => [v]))('%j', (v) => {
    expect(yamlStr(v)).toBe(yamlStrReference(v));
  });
  it('on any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' }), fc.string({ unit: fc.constantFrom(' ', '!', '"', '#', '[', '\\', ']', '~', '\u007f', 'a', '\u0000', '\u001f') })), (s) => {
        expect(yamlStr(s)).toBe(yamlStrReference(s));
      }),
      { numRuns: 5000 },
    );
  });
  it('every printable ASCII character but `"` and `\\` takes the fast path and loads back', () => {
    for (let c = 0; c < 0x80; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      expect(yamlStr(s)).toBe(yamlStrReference(s));
      expect(yaml.load(yamlStr(s))).toBe(s);
    }
  });
});

describe('explain: the one-key path equals the definition', () => {
  it('for any permission, including one never timed', () => {
    fc.assert(
      fc.property(keyAgg, fc.boolean(), (k, never) => {
        const key = never ? { ...k, firstMs: Infinity, first: '', lastMs: -Infinity, last: '' } : k;
        expect(JSON.stringify(explain([key]))).toBe(JSON.stringify(explainReference([key])));
        expect(explain([key])).toEqual(explainReference([key]));
      }),
      { numRuns: 2000 },
    );
  });
});
