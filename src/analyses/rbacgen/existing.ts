// rbac-gen --existing as one reducer: requests the existing RBAC already allows are counted, not
// generated. As a reducer it runs in worker threads like the others.
import type { AuditRecord, FinishContext, Reducer } from '../../types.js';
import type { Authorizer } from '../../rbac/authorizer.js';
import { requestAttributes, userInfo } from '../../rbac/request.js';
import { rbacGen, type RbacGenOptions, type RbacGenState } from './index.js';
import type { RbacGenReport } from '../../rbac/generate.js';

export interface ExceptOptions extends RbacGenOptions {
  /** The existing RBAC (null: generate for every request). */
  existing: Authorizer | null;
}

export interface ExceptState {
  inner: RbacGenState;
  existing: Authorizer | null;
  alreadyGranted: number;
}

export const rbacGenExcept: Reducer<ExceptState, RbacGenReport, ExceptOptions> = {
  init({ existing, ...o }) {
    return { inner: rbacGen.init(o), existing, alreadyGranted: 0 };
  },
  add(s, r: AuditRecord) {
    if (s.existing !== null && s.existing.allows(userInfo(r), requestAttributes(r)).allowed) s.alreadyGranted++;
    else rbacGen.add(s.inner, r);
  },
  merge(a, b) {
    a.inner = rbacGen.merge(a.inner, b.inner);
    a.alreadyGranted += b.alreadyGranted;
    return a;
  },
  finish(s, ctx: FinishContext) {
    const report = rbacGen.finish(s.inner, ctx);
    report.alreadyGranted = s.alreadyGranted;
    return report;
  },
};
