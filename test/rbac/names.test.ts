import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { objectName, parseObjectName, safeFileName, base32, unbase32, MAX_NAME } from '../../src/rbac/names.js';
import { isDnsSubdomain } from '../../src/rbac/request.js';

describe('object names: an injective encoding (parseObjectName inverts it)', () => {
  it.each([
    ['user', 'alice', 'kaudit-user.alice'],
    ['user', 'jane.doe', 'kaudit-user.jane.doe'],
    ['sa', 'ci:deployer', 'kaudit-sa.ci.deployer'],
    ['sa', 'team-a:deployer', 'kaudit-sa.team-a.deployer'],
    ['sa', 'team:a-deployer', 'kaudit-sa.team.a-deployer'],
    ['group', 'developers', 'kaudit-group.developers'],
  ] as const)('%s %s stays readable: %s', (kind, id, want) => {
    expect(objectName(kind, id)).toBe(want);
    expect(parseObjectName(want)).toEqual({ kind, variant: '', identity: id });
  });

  it.each(['alice@example.com', 'Alice', '../../etc/passwd', 'x'.repeat(120), '---', '', 'émile', 'a\nb', 'system:serviceaccount:ns:name', 'kaudit-user.alice'])('%j gets a valid name its identity can be read back from', (raw) => {
    const n = objectName('user', raw);
    expect(isDnsSubdomain(n)).toBe(true);
    expect(n.length).toBeLessThanOrEqual(MAX_NAME);
    expect(parseObjectName(n)).toEqual({ kind: 'user', variant: '', identity: raw });
  });

  it('the collisions of the old scheme cannot happen', () => {
    // Two service accounts whose namespace-name join was the same string.
    expect(objectName('sa', 'team-a:deployer')).not.toBe(objectName('sa', 'team:a-deployer'));
    // A user literally named like another subject's name.
    expect(objectName('user', 'kaudit-sa.ci.deployer')).not.toBe(objectName('sa', 'ci:deployer'));
    expect(objectName('user', 'alice-example-com.mfwgsy3fibsxqylnobwgkltdn5wq')).not.toBe(objectName('user', 'alice@example.com'));
    // Case: file systems that fold case see different names too (every name is lowercase).
    expect(objectName('user', 'Alice').toLowerCase()).not.toBe(objectName('user', 'alice').toLowerCase());
    // The namespaced-rules ClusterRole of --scope cluster is a separate family.
    expect(objectName('user', 'alice', 'ns')).toBe('kaudit-ns-user.alice');
    expect(objectName('user', 'ns-user.alice')).not.toBe(objectName('user', 'alice', 'ns'));
  });

  it('identities too long for base32 fall back to SHA-256, still disjoint from the others', () => {
    const long = 'é'.repeat(200);
    const n = objectName('user', long);
    expect(n).toMatch(/^kaudit-user-x\.sha256-[0-9a-f]{64}$/);
    expect(parseObjectName(n)).toEqual({ kind: 'user', variant: '', identity: null });
    expect(objectName('user', long + 'x')).not.toBe(n);
  });

  it('refuses ill-formed UTF-16 (callers leave such subjects out)', () => {
    expect(() => objectName('user', 'a\ud800')).toThrow(/internal error/);
  });

  it('base32 is RFC 4648 (lowercase, unpadded) for any string, and unbase32 inverts it and nothing else', () => {
    // RFC 4648 section 6, bit by bit: every 5 bits of the UTF-8 bytes, the last group padded with zeros.
    const reference = (x: string): string => {
      const bitsOf = [...Buffer.from(x, 'utf8')].map((b) => b.toString(2).padStart(8, '0')).join('');
      let out = '';
      for (let i = 0; i < bitsOf.length; i += 5) out += 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(bitsOf.slice(i, i + 5).padEnd(5, '0'), 2)];
      return out;
    };
    for (const [x, want] of [['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi']]) expect(base32(x)).toBe(want);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (x) => {
        expect(base32(x)).toBe(reference(x));
        expect(unbase32(base32(x))).toBe(x);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz234567A8=é'), maxLength: 20 }), (y) => {
        const back = unbase32(y);
        if (back !== null) expect(base32(back)).toBe(y);
      }),
      { numRuns: 500 },
    );
  });

  it('base32 round-trips and rejects what it never produces', () => {
    for (const s of ['', 'a', 'alice@example.com', 'émile 😀', '\u0000']) expect(unbase32(base32(s))).toBe(s);
    expect(base32('alice@example.com')).toBe('mfwgsy3fibsxqylnobwgkltdn5wq');
    expect(unbase32('a')).toBeNull();
    expect(unbase32('A')).toBeNull();
  });

  it('file names are the object names: no separator, no dot-dot, lowercase', () => {
    for (const raw of ['../x', '/etc/passwd', '..', 'a/b\\c']) {
      const f = safeFileName(objectName('user', raw), 'yaml');
      expect(f).not.toContain('/');
      expect(f).not.toContain('\\');
      expect(f.startsWith('.')).toBe(false);
      expect(f).toBe(f.toLowerCase());
    }
    expect(() => safeFileName('../x', 'yaml')).toThrow(/internal error/);
  });
});
