// rbac-gen --existing as one reducer: every check (the request, its impersonation checks, the bind
// check of a binding write) that the existing RBAC already allows is left out, not generated.
// As a reducer it runs in worker threads like the others.
import type { AuditRecord, FinishContext, Reducer } from '../../types.js';
import type { Authorizer } from '../../rbac/authorizer.js';
import { addRecord, rbacGen, type RbacGenOptions, type RbacGenState } from './index.js';
import { generate, type RbacGenReport } from '../../rbac/generate.js';

export interface ExceptOptions extends RbacGenOptions {
  /** The existing RBAC (null: generate for every request). */
  existing: Authorizer | null;
}

export interface ExceptState {
  inner: RbacGenState;
  existing: Authorizer | null;
  /** Requests the existing RBAC already allowed. */
  alreadyGranted: number;
  /** Set by a caller that lists only the first sensitive findings (GenerateExtra.sensitiveTop); never crosses threads. */
  sensitiveTop?: number;
}

export const rbacGenExcept: Reducer<ExceptState, RbacGenReport, ExceptOptions> = {
  init({ existing, ...o }) {
    return { inner: rbacGen.init(o), existing, alreadyGranted: 0 };
  },
  add(s, r: AuditRecord) {
    if (addRecord(s.inner, r, s.existing)) s.alreadyGranted++;
  },
  merge(a, b) {
    a.inner = rbacGen.merge(a.inner, b.inner);
    a.alreadyGranted += b.alreadyGranted;
    return a;
  },
  finish(s, ctx: FinishContext) {
    return generate(s.inner, ctx.input, { alreadyGranted: s.alreadyGranted, existing: s.existing, ...(s.sensitiveTop !== undefined ? { sensitiveTop: s.sensitiveTop } : {}) });
  },
};
