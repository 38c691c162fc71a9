import { describe, it, expect } from 'vitest';
import { compileFilter, parseResourceSpec, parseTimeArg, type FilterOptions } from '../../src/filter/index.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { AuditRecord } from '../../src/types.js';
import { event } from '../helpers.js';

function rec(over: Record<string, unknown>, cluster = 'prod'): AuditRecord {
  const r = normalizeValue(event(over), cluster);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

const podsList = rec({});
const podLog = rec({ verb: 'get', objectRef: { resource: 'pods', subresource: 'log', namespace: 'staging', name: 'web-1', apiVersion: 'v1' } });
const deployScale = rec({ verb: 'patch', objectRef: { resource: 'deployments', subresource: 'scale', namespace: 'production', name: 'web', apiGroup: 'apps', apiVersion: 'v1' } });
const saRead = rec({ user: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts', 'system:authenticated'] }, verb: 'get', objectRef: { resource: 'secrets', namespace: 'ci', name: 'token', apiVersion: 'v1' } });
const denied = rec({ responseStatus: { code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid' }, requestReceivedTimestamp: '2026-03-01T00:00:00Z' });
const discovery = rec({ objectRef: undefined, requestURI: '/apis', verb: 'get' }, 'staging');
const all = { podsList, podLog, deployScale, saRead, denied, discovery };

function pick(o: FilterOptions): string[] {
  const f = compileFilter(o, Date.parse('2026-03-03T00:00:00Z'));
  return Object.entries(all)
    .filter(([, r]) => f(r))
    .map(([k]) => k);
}

describe('shared filters', () => {
  it.each<[string, FilterOptions, string[]]>([
    ['no filter keeps everything', {}, Object.keys(all)],
    ['--user exact', { user: ['system:serviceaccount:ci:deployer'] }, ['saRead']],
    ['--user glob', { user: ['system:serviceaccount:ci:*'] }, ['saRead']],
    ['--user comma list', { user: ['nobody,system:serviceaccount:ci:deployer'] }, ['saRead']],
    ['--group', { group: ['system:serviceaccounts'] }, ['saRead']],
    ['--verb list', { verb: ['get', 'patch'] }, ['podLog', 'deployScale', 'saRead', 'discovery']],
    ['--resource pods includes its subresources', { resource: ['pods'] }, ['podsList', 'podLog', 'denied']],
    ['--resource pods/log is only that subresource', { resource: ['pods/log'] }, ['podLog']],
    ['--resource deployments.apps', { resource: ['deployments.apps'] }, ['deployScale']],
    ['--resource deployments.extensions does not match apps', { resource: ['deployments.extensions'] }, []],
    ['--resource */scale', { resource: ['*/scale'] }, ['deployScale']],
    ['--namespace', { namespace: ['staging', 'ci'] }, ['podLog', 'saRead']],
    ['--name glob', { name: ['web*'] }, ['podLog', 'deployScale']],
    ['--status class', { status: ['4xx'] }, ['denied']],
    ['--status code', { status: ['200'] }, ['podsList', 'podLog', 'deployScale', 'saRead', 'discovery']],
    ['--denied', { denied: true }, ['denied']],
    ['--since absolute', { since: '2026-03-02T00:00:00Z' }, ['podsList', 'podLog', 'deployScale', 'saRead', 'discovery']],
    ['--until absolute', { until: '2026-03-02' }, ['denied']],
    ['--since relative to now (pinned)', { since: '36h' }, ['podsList', 'podLog', 'deployScale', 'saRead', 'discovery']],
    ['--cluster', { cluster: ['staging'] }, ['discovery']],
    ['filters combine with AND', { verb: ['get'], namespace: ['ci'] }, ['saRead']],
  ])('%s', (_name, opts, want) => {
    expect(pick(opts)).toEqual(want);
  });

  it.each([
    ['pods', { resource: 'pods', group: undefined, subresource: undefined }],
    ['pods/log', { resource: 'pods', group: undefined, subresource: 'log' }],
    ['deployments.apps', { resource: 'deployments', group: 'apps', subresource: undefined }],
    ['certificates.cert-manager.io/status', { resource: 'certificates', group: 'cert-manager.io', subresource: 'status' }],
  ])('parses --resource %s', (spec, want) => {
    expect(parseResourceSpec(spec)).toEqual(want);
  });

  it.each(['yesterday', '5 minutes', '2026-13-45'])('rejects --since %j with a usage error that says how to fix it', (v) => {
    expect(() => parseTimeArg('--since', v, 0)).toThrow(/--since: .* is not a time/);
  });

  it('rejects a bad --status', () => {
    expect(() => compileFilter({ status: ['forbidden'] })).toThrow(/--status/);
  });
});
