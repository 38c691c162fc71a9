// The RBAC conformance suite (test/rbac/conformance-cases.ts), run three ways:
// 1. the authorizer, on the checks src/rbac/request.ts derives from the audit event;
// 2. `audit drift`: an allowed check uses the expected rule and is not uncovered; a denied one is
//    uncovered (request, impersonation) or uses no bind/escalate grant;
// 3. `audit rbac-gen --existing EXPORT --include-denied`: an allowed check is left to the export; a
//    denied one is granted by the generated policy (with the default bindings), the self-check
//    passes, every object is valid, and the real kubectl accepts the YAML (offline).
import { describe, it, expect } from 'vitest';
import { CASES, type ConformanceCase } from './conformance-cases.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { Authorizer, isImplicitGroup, mergeSnapshots } from '../../src/rbac/authorizer.js';
import { addObject, emptySnapshot } from '../../src/rbac/load.js';
import { impersonationChecks, rbacWrite, requestAttributes, userInfo, type AuthzCheck } from '../../src/rbac/request.js';
import { drift } from '../../src/analyses/drift/index.js';
import { rbacGenExcept } from '../../src/analyses/rbacgen/existing.js';
import { DEFAULT_GENERATE, toPlainObject } from '../../src/rbac/generate.js';
import { defaultsSnapshot } from '../../src/rbac/defaults.js';
import { validateRbacObject } from '../../src/rbac/validate.js';
import { objectsYaml } from '../../src/render/rbac-yaml.js';
import { classifySubject } from '../../src/normalize/subject.js';
import type { AuditRecord, InputAccounting, RbacSnapshot } from '../../src/types.js';
import { expectKubectlAccepts, hasKubectl } from './kubectl.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
const requireKubectl = process.env.KAUDIT_REQUIRE_KUBECTL === '1';

function record(e: Record<string, unknown>): AuditRecord {
  const r = normalizeValue(JSON.parse(JSON.stringify(e)), '');
  if (typeof r === 'string') throw new Error(r);
  return r;
}

function snapshotOf(objs: Record<string, unknown>[]): RbacSnapshot {
  const s = emptySnapshot();
  objs.forEach((o, i) => addObject(s, o, `case object ${i + 1}`, 'case.yaml'));
  expect(s.warnings).toEqual([]);
  return s;
}

/** The checks a case judges. */
function checksOf(c: ConformanceCase, r: AuditRecord): AuthzCheck[] {
  const kind = c.check?.kind ?? 'request';
  if (kind === 'request') return [{ kind: 'request', user: userInfo(r), attrs: requestAttributes(r) }];
  if (kind === 'impersonate') {
    const all = impersonationChecks(r).filter((x) => (c.check!.resource === undefined || x.attrs.resource === c.check!.resource) && (c.check!.name === undefined || x.attrs.name === c.check!.name));
    expect(all.length, 'the case names an impersonation check the event has').toBeGreaterThan(0);
    return all;
  }
  const w = rbacWrite(r);
  expect(w, 'the case event is an RBAC write').not.toBeNull();
  const x = kind === 'bind' ? w!.bind : w!.escalate;
  expect(x, `the ${kind} check is known from the event`).not.toBeNull();
  return [x!];
}

const label = (c: ConformanceCase): string => `${c.allow ? 'allow' : 'deny '} ${c.name} [${c.cite}]`;

describe(`RBAC conformance (${CASES.length} cases from upstream semantics)`, () => {
  it('holds at least 80 cases, each citing the upstream function it follows, with unique names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(80);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    for (const c of CASES) expect(c.cite).toMatch(/\(|\.go|[A-Z][a-z]+[A-Z]/);
    for (const k of ['request', 'impersonate', 'bind', 'escalate']) expect(CASES.some((c) => (c.check?.kind ?? 'request') === k && c.allow) && CASES.some((c) => (c.check?.kind ?? 'request') === k && !c.allow)).toBe(true);
  });

  describe('the authorizer', () => {
    it.each(CASES.map((c) => [label(c), c] as const))('%s', (_n, c) => {
      const authz = new Authorizer(snapshotOf(c.rbac));
      const checks = checksOf(c, record(c.event));
      const decisions = checks.map((x) => authz.allows(x.user, x.attrs));
      expect(decisions.every((d) => d.allowed)).toBe(c.allow);
      if (c.allow && c.by) {
        const g = decisions[0]!.by[0]!;
        expect({ binding: g.binding.name, role: g.role.name, ...(c.by.rule !== undefined ? { rule: g.ruleIndex } : {}) }).toEqual(c.by);
      }
    });
  });

  describe('audit drift', () => {
    it.each(CASES.map((c) => [label(c), c] as const))('%s', (_n, c) => {
      const authz = new Authorizer(snapshotOf(c.rbac));
      const s = drift.init({ authz, includeSystem: true, subjectKinds: [], onlyDrift: false, suggest: false, maxNames: 50 });
      for (const e of [...(c.before ?? []), c.event]) drift.add(s, record(e));
      const report = drift.finish(s, { input: NO_INPUT });
      const r = record(c.event);
      const kind = c.check?.kind ?? 'request';
      for (const x of checksOf(c, r)) {
        const who = classifySubject(x.user.user);
        const d = report.subjects.find((sd) => (who.kind === 'ServiceAccount' ? sd.subject.kind === 'ServiceAccount' && sd.subject.namespace === who.namespace && sd.subject.name === who.name : sd.subject.kind === 'User' && sd.subject.name === x.user.user));
        expect(d, `drift reports ${x.user.user}`).toBeDefined();
        const a = x.attrs;
        const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
        const uncovered = d!.uncovered.filter((u) => u.verb === a.verb && u.resource === res && u.namespace === a.namespace && u.nonResourceURL === a.nonResourceURL && (a.name === '' || u.names.includes(a.name)));
        const used = (by: NonNullable<ConformanceCase['by']>) => d!.used.some((u) => u.source.binding.name === by.binding && u.source.role.name === by.role && (by.rule === undefined || u.source.ruleIndex === by.rule) && u.rule.verbs.some((v) => v === a.verb || v === '*'));
        if (c.allow) {
          expect(uncovered, 'an allowed check is not uncovered').toEqual([]);
          const via = authz.allows(x.user, a).by[0]!.via;
          const shared = via.startsWith('Group ') && isImplicitGroup(via.slice(6));
          if (c.by && c.by.binding !== 'system:masters' && !shared) expect(used(c.by), 'drift counts the allowing rule as used').toBe(true);
        } else if (kind === 'request' || kind === 'impersonate') {
          expect(uncovered.length, 'a denied request or impersonation check is uncovered').toBe(1);
          expect(uncovered[0]!.check).toBe(kind);
        } else {
          // A bind or escalate check no grant allows passed by holding the rules: nothing used, nothing missing.
          expect(d!.used.some((u) => u.rule.verbs.includes(kind))).toBe(false);
          expect(uncovered).toEqual([]);
        }
      }
    });
  });

  describe.skipIf(!hasKubectl && !requireKubectl)('audit rbac-gen --existing (generated YAML checked by kubectl)', () => {
    it.concurrent.each(CASES.map((c) => [label(c), c] as const))('%s', async (_n, c) => {
      const existing = snapshotOf(c.rbac);
      const authz = new Authorizer(existing);
      const s = rbacGenExcept.init({ ...DEFAULT_GENERATE, includeSystem: true, includeDiscovery: false, includeDenied: true, maxNames: 20, existing: authz });
      for (const e of [...(c.before ?? []), c.event]) rbacGenExcept.add(s, record(e));
      const report = rbacGenExcept.finish(s, { input: NO_INPUT });
      expect(report.selfCheck.uncovered).toEqual([]);
      expect(report.selfCheck.coverage).toBe(100);
      const objects = [...report.policies].flatMap((p) => p.objects);
      for (const o of objects) expect(validateRbacObject(toPlainObject(o))).toEqual([]);
      await expectKubectlAccepts(objectsYaml(objects, true), c.name);
      const generated = emptySnapshot();
      for (const o of objects) addObject(generated, toPlainObject(o), 'generated');
      const withDefaults = new Authorizer(mergeSnapshots(generated, defaultsSnapshot()));
      const alone = new Authorizer(generated);
      for (const x of checksOf(c, record(c.event))) {
        if (c.allow && x.user.groups.includes('system:masters')) expect(objects, 'system:masters needs no RBAC').toEqual([]);
        else if (c.allow) expect(alone.allows(x.user, x.attrs).allowed, 'what the export allows is not generated again').toBe(false);
        else expect(withDefaults.allows(x.user, x.attrs).allowed, 'what the export denies is granted by the generated policy (or the defaults)').toBe(true);
      }
    });
  });
});
