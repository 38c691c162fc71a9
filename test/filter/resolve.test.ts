// --resource and --verb as kubectl users type them. Expected values are from the API server's
// discovery documents (kubernetes/kubernetes api/discovery/*.json, the APIResourceList of each
// group version: `name`, `singularName`, `kind`, `shortNames`), and the verbs from
// RequestInfoFactory.NewRequestInfo (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
import { describe, it, expect } from 'vitest';
import { resolveResource, resolveVerbs, suggestBuiltin } from '../../src/filter/resolve.js';
import { BUILTIN_RESOURCES, RESOURCE_NAMES } from '../../src/rules/resources.js';
import { compileFilter } from '../../src/filter/index.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { AuditRecord } from '../../src/types.js';
import { event, runCli } from '../helpers.js';

describe('--resource names, from the discovery documents', () => {
  // [typed, plural, group or undefined for any group]
  it.each<[string, string, string | undefined]>([
    // The names of the issue: each used to match nothing.
    ['namespace', 'namespaces', undefined],
    ['ns', 'namespaces', undefined],
    ['Namespace', 'namespaces', undefined],
    ['deploy', 'deployments', undefined],
    ['deployment', 'deployments', undefined],
    ['Deployment', 'deployments', undefined],
    ['secret', 'secrets', undefined],
    ['po', 'pods', undefined],
    ['svc', 'services', undefined],
    ['pvc', 'persistentvolumeclaims', undefined],
    ['sts', 'statefulsets', undefined],
    // api__v1.json
    ['cm', 'configmaps', undefined],
    ['ep', 'endpoints', undefined],
    ['Endpoints', 'endpoints', undefined],
    ['limits', 'limitranges', undefined],
    ['quota', 'resourcequotas', undefined],
    ['no', 'nodes', undefined],
    ['pv', 'persistentvolumes', undefined],
    ['rc', 'replicationcontrollers', undefined],
    ['sa', 'serviceaccounts', undefined],
    ['cs', 'componentstatuses', undefined],
    ['ev', 'events', undefined],
    ['PodTemplate', 'podtemplates', undefined],
    // apps, batch, autoscaling, policy, networking, storage, scheduling, certificates, apiextensions
    ['ds', 'daemonsets', undefined],
    ['rs', 'replicasets', undefined],
    ['cj', 'cronjobs', undefined],
    ['Job', 'jobs', undefined],
    ['hpa', 'horizontalpodautoscalers', undefined],
    ['pdb', 'poddisruptionbudgets', undefined],
    ['ing', 'ingresses', undefined],
    ['netpol', 'networkpolicies', undefined],
    ['ip', 'ipaddresses', undefined],
    ['sc', 'storageclasses', undefined],
    ['vac', 'volumeattributesclasses', undefined],
    ['pc', 'priorityclasses', undefined],
    ['csr', 'certificatesigningrequests', undefined],
    ['crd', 'customresourcedefinitions', undefined],
    ['crds', 'customresourcedefinitions', undefined],
    ['APIService', 'apiservices', undefined],
    ['ClusterRoleBinding', 'clusterrolebindings', undefined],
    ['lease', 'leases', undefined],
    ['EndpointSlice', 'endpointslices', undefined],
    // name.group and name.version.group (kubectl's ParseResourceArg), in any case
    ['deployments.apps', 'deployments', 'apps'],
    ['deploy.apps', 'deployments', 'apps'],
    ['Deployment.apps', 'deployments', 'apps'],
    ['deployments.v1.apps', 'deployments', 'apps'],
    ['roles.rbac.authorization.k8s.io', 'roles', 'rbac.authorization.k8s.io'],
    ['cronjob.v1.batch', 'cronjobs', 'batch'],
    ['ev.events.k8s.io', 'events', 'events.k8s.io'],
    ['pods.core', 'pods', ''],
    ['PODS', 'pods', undefined],
  ])('%s → %s (group %s)', (typed, plural, group) => {
    const r = resolveResource(typed);
    expect(r).toMatchObject({ resource: plural, group, subresource: undefined, known: true });
  });

  it.each<[string, string, string | undefined, string]>([
    ['po/log', 'pods', undefined, 'log'],
    ['deploy/scale', 'deployments', undefined, 'scale'],
    ['Deployment.apps/scale', 'deployments', 'apps', 'scale'],
    ['*/scale', '*', undefined, 'scale'],
    ['sa/token', 'serviceaccounts', undefined, 'token'],
  ])('%s keeps its subresource', (typed, plural, group, sub) => {
    expect(resolveResource(typed)).toMatchObject({ resource: plural, group, subresource: sub });
  });

  it('custom resources are kept as given, lower-cased, and marked unknown', () => {
    expect(resolveResource('certificates.cert-manager.io')).toEqual({ input: 'certificates.cert-manager.io', resource: 'certificates', group: 'cert-manager.io', subresource: undefined, known: false });
    expect(resolveResource('Widgets')).toMatchObject({ resource: 'widgets', group: undefined, known: false });
  });

  it('every name of every built-in resource in the table resolves to its plural, alone and with its group', () => {
    let n = 0;
    for (const r of BUILTIN_RESOURCES) {
      for (const name of [r.resource, r.singular, r.kind, r.kind.toUpperCase(), ...r.shortNames]) {
        expect(resolveResource(name)).toMatchObject({ resource: r.resource, group: undefined, known: true });
        if (r.group) expect(resolveResource(`${name}.${r.group}`)).toMatchObject({ resource: r.resource, group: r.group, known: true });
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
  });

  it('no name of the table denotes two different resources', () => {
    const seen = new Map<string, string>();
    for (const r of BUILTIN_RESOURCES) {
      for (const name of new Set([r.resource, r.singular, r.kind, ...r.shortNames].map((x) => x.toLowerCase()))) {
        const prev = seen.get(name);
        if (prev !== undefined) expect(prev).toBe(r.resource);
        seen.set(name, r.resource);
      }
    }
    expect(RESOURCE_NAMES.get('events')!.groups.sort()).toEqual(['', 'events.k8s.io']);
  });

  it('suggests the built-in resource whose Kind a name abbreviates (kubectl has no short name crb)', () => {
    expect(resolveResource('crb').known).toBe(false);
    expect(suggestBuiltin('crb')).toEqual(['clusterrolebindings']);
    expect(suggestBuiltin('rb')).toEqual(['rolebindings']);
  });

  function rec(over: Record<string, unknown>): AuditRecord {
    const r = normalizeValue(event(over), '');
    if (typeof r === 'string') throw new Error(r);
    return r;
  }
  const deploy = rec({ verb: 'delete', objectRef: { resource: 'deployments', namespace: 'p', name: 'web', apiGroup: 'apps', apiVersion: 'v1' } });
  const legacy = rec({ verb: 'get', objectRef: { resource: 'deployments', namespace: 'p', name: 'web', apiGroup: 'extensions', apiVersion: 'v1beta1' } });
  const coreEvent = rec({ verb: 'create', objectRef: { resource: 'events', namespace: 'p', apiVersion: 'v1' } });
  const newEvent = rec({ verb: 'create', objectRef: { resource: 'events', namespace: 'p', apiGroup: 'events.k8s.io', apiVersion: 'v1' } });

  it.each<[string, AuditRecord[]]>([
    ['deploy', [deploy, legacy]],
    ['Deployment.apps', [deploy]],
    ['deploy.extensions', [legacy]],
    ['ev', [coreEvent, newEvent]],
    ['events.k8s.io'.replace(/^/, 'Event.'), [newEvent]],
    ['pods', []],
  ])('--resource %s selects the requests on that resource', (typed, want) => {
    const f = compileFilter({ resource: [typed] });
    expect([deploy, legacy, coreEvent, newEvent].filter(f)).toEqual(want);
  });
});

describe('--verb in any case; anything else is a usage error with the closest verbs', () => {
  it.each([
    ['Delete', 'delete'],
    ['GET', 'get'],
    ['DeleteCollection', 'deletecollection'],
    ['watch', 'watch'],
    ['Post', 'post'],
    ['proxy', 'proxy'],
  ])('%s → %s', (typed, want) => {
    expect(resolveVerbs([typed])).toEqual([want]);
  });

  it.each([
    ['delte', /"delte" is not a verb an audit event can carry; did you mean "delete"\?/],
    ['lsit', /did you mean "list"\?/],
    ['imperonate', /is not a verb an audit event can carry/],
    ['exec', /is not a verb an audit event can carry/],
  ])('%s', (typed, msg) => {
    expect(() => resolveVerbs([typed])).toThrow(msg);
  });

  it('on the command line: exit 2 naming the flag and the fix, before anything is read', async () => {
    const r = await runCli(['investigate', 'fixtures/sample', '--verb', 'delte']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^audit: error: --verb: "delte" is not a verb an audit event can carry; did you mean "delete"\?\n  fix: use get, list, watch/);
    expect(r.stderr).not.toMatch(/^read /m);
  });

  it('--verb Delete --resource ns finds the namespace deletion that --verb delete --resource namespaces finds', async () => {
    const a = await runCli(['export', 'fixtures/sample', '--verb', 'Delete', '--resource', 'ns', '-o', 'csv', '-q']);
    const b = await runCli(['export', 'fixtures/sample', '--verb', 'delete', '--resource', 'namespaces', '-o', 'csv', '-q']);
    expect(a.stdout.trim().split('\n')).toHaveLength(2);
    expect(a.stdout).toBe(b.stdout);
  });
});
