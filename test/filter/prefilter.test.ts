// The pre-filter skips JSON.parse for lines that cannot match; results must equal the unfiltered path.
import { describe, it, expect } from 'vitest';
import { compilePrefilter } from '../../src/filter/prefilter.js';
import { runCli } from '../helpers.js';
import { Rng } from '../../src/gen/rng.js';

describe('pre-filter', () => {
  it.each([
    [{ user: ['alice@example.com'] }, '{"user":{"username":"alice@example.com"}}', true],
    [{ user: ['alice@example.com'] }, '{"user":{"username":"bob@example.com"}}', false],
    [{ user: ['system:serviceaccount:ci:*'] }, '{"user":{"username":"system:serviceaccount:ci:deployer"}}', true],
    [{ verb: ['get', 'list'] }, '{"verb":"list"}', true],
    [{ verb: ['get', 'list'], namespace: ['prod'] }, '{"verb":"list","objectRef":{"namespace":"staging"}}', false],
    [{ resource: ['deployments.apps'] }, '{"objectRef":{"resource":"deployments","apiGroup":"apps"}}', true],
    // JSON inside a string (AKS properties.log): quotes are escaped, unquoted values still appear.
    [{ user: ['aksService'], verb: ['get'] }, '{"properties":{"log":"{\\"verb\\":\\"get\\",\\"user\\":{\\"username\\":\\"aksService\\"}}"}}', true],
  ])('%j on %s → %s', (o, line, want) => {
    expect(compilePrefilter(o)!(line)).toBe(want);
  });

  it.each([
    [{}],
    [{ user: ['a?b'] }], // literal run too short
    [{ name: ['web/1'] }], // "/" may be escaped as \/ in JSON
    [{ user: ['émile'] }], // may be \u-escaped
    [{ denied: true, status: ['4xx'] }], // not text checks
  ])('does not pre-check what it cannot check safely: %j', (o) => {
    expect(compilePrefilter(o)).toBeNull();
  });

  it('seeded random filters: with and without the pre-filter, the same records, on native and provider-wrapped input', async () => {
    const rng = new Rng(7);
    const users = ['alice@example.com', 'bob@example.com', 'system:serviceaccount:apps:*', 'system:node:*', 'nobody'];
    const verbs = ['get', 'list', 'delete', 'patch', 'update', 'watch'];
    const resources = ['pods', 'pods/exec', 'secrets', 'deployments.apps', 'leases.coordination.k8s.io', 'configmaps'];
    const namespaces = ['staging', 'production', 'kube-system', 'apps'];
    const inputs = ['fixtures/sample', 'fixtures/cloud', 'fixtures/kubectl/commands.jsonl'];
    for (let i = 0; i < 12; i++) {
      const flags: string[] = [];
      if (rng.chance(0.6)) flags.push('--user', rng.pick(users));
      if (rng.chance(0.6)) flags.push('--verb', `${rng.pick(verbs)},${rng.pick(verbs)}`);
      if (rng.chance(0.5)) flags.push('--resource', rng.pick(resources));
      if (rng.chance(0.4)) flags.push('-n', rng.pick(namespaces));
      const args = ['export', ...inputs, ...flags, '-o', 'jsonl', '-q'];
      const fast = await runCli(args);
      const slow = await runCli([...args, '--no-prefilter']);
      expect(fast.stdout, flags.join(' ')).toBe(slow.stdout);
      const a = JSON.parse((await runCli(['summary', ...inputs, ...flags, '-o', 'json', '-q'])).stdout).input;
      const b = JSON.parse((await runCli(['summary', ...inputs, ...flags, '-o', 'json', '-q', '--no-prefilter'])).stdout).input;
      expect({ ...a, files: undefined, lines: undefined, prefiltered: undefined, events: undefined, requests: undefined, duplicates: undefined, skipped: undefined }).toEqual({ ...b, files: undefined, lines: undefined, prefiltered: undefined, events: undefined, requests: undefined, duplicates: undefined, skipped: undefined });
      expect(a.used).toBe(b.used);
      expect(a.lines).toBe(b.lines);
      expect(b.prefiltered).toBe(0);
    }
  });
});
