import { describe, it, expect } from 'vitest';
import { dnsLabel, safeFileName, DNS_LABEL } from '../../src/rbac/names.js';
import { selfCheck, DEFAULT_GENERATE } from '../../src/rbac/generate.js';
import { rbacGen } from '../../src/analyses/rbacgen/index.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { event } from '../helpers.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';

describe('DNS-1123 names', () => {
  it.each([
    ['deployer', 'kaudit-sa-', 'kaudit-sa-deployer'],
    ['ci-deployer', 'kaudit-sa-', 'kaudit-sa-ci-deployer'],
  ])('%s stays readable and exact when it is already valid', (raw, prefix, want) => {
    expect(dnsLabel(raw, prefix)).toBe(want);
  });

  it.each(['alice@example.com', 'Alice', '../../etc/passwd', 'x'.repeat(200), '---', '', 'émile', 'a\nb', 'system:serviceaccount:ns:name'])('%j becomes a valid label with a disambiguating hash', (raw) => {
    const l = dnsLabel(raw, 'kaudit-user-');
    expect(l).toMatch(DNS_LABEL);
    expect(l.length).toBeLessThanOrEqual(63);
    expect(l).toMatch(/-[0-9a-f]{6}$/);
  });

  it('distinct inputs that clean up alike stay distinct', () => {
    expect(dnsLabel('alice@example.com')).not.toBe(dnsLabel('alice.example.com'));
    expect(dnsLabel('A')).not.toBe(dnsLabel('a'));
  });

  it('file names cannot leave the directory', () => {
    for (const raw of ['../x', '/etc/passwd', '..', 'a/b\\c']) {
      const f = safeFileName(raw, 'yaml');
      expect(f).not.toContain('/');
      expect(f).not.toContain('\\');
      expect(f.startsWith('.')).toBe(false);
    }
  });
});

describe('self-check', () => {
  it('reports what a policy fails to allow', () => {
    const rec = (o: Record<string, unknown>): AuditRecord => normalizeValue(event(o), '') as AuditRecord;
    const s = rbacGen.init({ ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, excludeDenied: false, maxNames: 5 });
    rbacGen.add(s, rec({ auditID: '1', verb: 'get', objectRef: { resource: 'pods', namespace: 'a', name: 'p', apiVersion: 'v1' } }));
    rbacGen.add(s, rec({ auditID: '2', verb: 'list', objectRef: { resource: 'secrets', namespace: 'a', apiVersion: 'v1' } }));
    const NO: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
    const rep = rbacGen.finish(s, { input: NO });
    expect(rep.selfCheck).toMatchObject({ requests: 2, allowed: 2, coverage: 100, uncovered: [] });
    // Drop the secrets rule from the generated Role: the check must notice.
    const role = rep.policies[0]!.objects.find((o) => o.kind === 'Role')!;
    role.rules = role.rules!.filter((r) => !r.resources!.includes('secrets'));
    const broken = selfCheck([...s.subjects.values()], rep.policies);
    expect(broken.coverage).toBe(50);
    expect(broken.uncovered).toEqual([{ subject: 'alice', verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'a', name: '', nonResourceURL: '', requests: 1 }]);
  });
});
