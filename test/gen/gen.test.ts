import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { tmpDir, collect, expectBalanced } from '../helpers.js';

describe('the generator', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const a = tmpDir();
    const b = tmpDir();
    const c = tmpDir();
    await generate({ ...DEFAULT_GEN, out: a, days: 2, seed: 5, scale: 0.01 });
    await generate({ ...DEFAULT_GEN, out: b, days: 2, seed: 5, scale: 0.01 });
    await generate({ ...DEFAULT_GEN, out: c, days: 2, seed: 6, scale: 0.01 });
    const names = readdirSync(a).sort();
    expect(names).toEqual(['audit-2026-03-02T23-59-59.999.log.gz', 'audit.log']);
    expect(readdirSync(b).sort()).toEqual(names);
    for (const n of names) expect(readFileSync(join(b, n)).equals(readFileSync(join(a, n)))).toBe(true);
    expect(readFileSync(join(c, 'audit.log')).equals(readFileSync(join(a, 'audit.log')))).toBe(false);
  });

  it('writes a log kaudit reads with nothing rejected, with every population present', async () => {
    const d = tmpDir();
    await generate({ ...DEFAULT_GEN, out: d, days: 1, seed: 3, scale: 0.02 });
    const { records, acc } = await collect([d]);
    expectBalanced(acc);
    expect(acc.rejected).toBe(0);
    expect(acc.duplicates).toBeGreaterThan(0); // RequestReceived / ResponseStarted stages
    const kinds = new Set(records.map((r) => r.subjectKind));
    expect([...kinds].sort()).toEqual(['Anonymous', 'Node', 'ServiceAccount', 'System', 'User']);
    const methods = new Set(records.map((r) => r.accessMethod));
    for (const m of ['kubectl', 'browser', 'controller', 'automation']) expect(methods).toContain(m);
    expect(records.some((r) => r.impersonator !== '')).toBe(true);
    expect(records.some((r) => r.decision === 'forbid')).toBe(true);
    expect(records.some((r) => r.level === 'Request')).toBe(true);
    expect(records.some((r) => r.nonResourceURL === '/apis')).toBe(true);
    // Time order within the file, as an API server writes it.
    const times = readFileSync(join(d, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).stageTimestamp as string);
    expect([...times].sort()).toEqual(times);
  });
});

describe('the generator with --levels (body-heavy logs, issue 19)', () => {
  it('logs the same requests, a share of them at RequestResponse with realistic bodies', async () => {
    const plain = tmpDir();
    const bodies = tmpDir();
    await generate({ ...DEFAULT_GEN, out: plain, days: 1, seed: 9, scale: 0.05, rotate: 'none' });
    await generate({ ...DEFAULT_GEN, out: bodies, days: 1, seed: 9, scale: 0.05, rotate: 'none', levels: { Request: 0, RequestResponse: 0.7 } });
    const read = (d: string) => readFileSync(join(d, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const a = read(plain);
    const b = read(bodies);
    // The levels come from a generator of their own: the requests are the same, in the same order.
    expect(b.map((e) => [e.auditID, e.verb, e.requestURI, e.stage])).toEqual(a.map((e) => [e.auditID, e.verb, e.requestURI, e.stage]));
    const eligible = b.filter((e) => e.stage === 'ResponseComplete' && ['get', 'update', 'patch', 'create', 'delete'].includes(e.verb) && e.objectRef && !['exec', 'log'].includes(e.objectRef.subresource) && a.find((x) => x.auditID === e.auditID)!.level === 'Metadata');
    const rr = eligible.filter((e) => e.level === 'RequestResponse').length / eligible.length;
    expect(rr).toBeGreaterThan(0.6);
    expect(rr).toBeLessThan(0.8);
    // Realistic bodies: a created pod carries managedFields, env and the projected service-account volume.
    const pod = b.find((e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && e.requestObject?.kind === 'Pod');
    expect(pod).toBeDefined();
    expect(pod!.requestObject.metadata.managedFields.length).toBeGreaterThan(0);
    expect(pod!.requestObject.spec.containers[0].env.length).toBeGreaterThan(3);
    expect(JSON.stringify(pod!.responseObject).length).toBeGreaterThan(3000);
    // Lists and watches stay at Metadata; gets carry the object they read.
    expect(b.filter((e) => e.verb === 'list' || e.verb === 'watch').every((e) => e.level === 'Metadata')).toBe(true);
    expect(b.some((e) => e.verb === 'get' && e.responseObject?.kind === 'Lease')).toBe(true);
    const { acc } = await collect([bodies]);
    expect(acc.rejected).toBe(0);
  });

  it('--levels is checked', async () => {
    const { parseLevels } = await import('../../src/gen/bodies.js');
    expect(parseLevels('RequestResponse=0.7')).toEqual({ Request: 0, RequestResponse: 0.7 });
    expect(parseLevels('Request=0.2,RequestResponse=0.5')).toEqual({ Request: 0.2, RequestResponse: 0.5 });
    expect(parseLevels('Request=0.6,RequestResponse=0.5')).toMatch(/more than 1/);
    expect(parseLevels('Metadata=1')).toMatch(/not LEVEL=SHARE/);
    expect(parseLevels('RequestResponse=2')).toMatch(/between 0 and 1/);
  });
});
