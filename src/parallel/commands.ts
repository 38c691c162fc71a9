// The commands that run in worker threads: how each builds its reducer options from plain data (a
// worker cannot receive functions or class instances) and how its state crosses threads.
import type { Reducer } from '../types.js';

export interface ParallelCommand {
  reducer: Reducer<any, any, any>;
  /** Reducer options from the plain spec (may load files: the RBAC export for drift). */
  options(spec: any): Promise<any>;
  /** State without what cannot cross a thread. */
  strip(state: any): unknown;
  /** The state again, with what `strip` left out taken from this thread's state. */
  restore(plain: any, main: any): any;
}

export async function parallelCommand(name: string): Promise<ParallelCommand> {
  switch (name) {
    case 'summary': {
      const { summary } = await import('../analyses/summary/index.js');
      return { reducer: summary, options: async (spec) => spec, strip: (s) => s, restore: (p) => p };
    }
    case 'baseline': {
      const { profiles } = await import('../analyses/baseline/index.js');
      return { reducer: profiles, options: async (spec) => spec, strip: (s) => s, restore: (p) => p };
    }
    case 'rbac-gen': {
      const { rbacGenExcept } = await import('../analyses/rbacgen/existing.js');
      const { globMatcher } = await import('../filter/index.js');
      return {
        reducer: rbacGenExcept,
        options: async ({ users, existing, ...rest }) => {
          let authz = null;
          if (existing?.length) {
            const [{ loadRbac }, { Authorizer }] = await Promise.all([import('../rbac/load.js'), import('../rbac/authorizer.js')]);
            authz = new Authorizer(await loadRbac(existing));
          }
          return { ...rest, existing: authz, ...(users?.length ? { select: globMatcher(users) } : {}) };
        },
        strip: (s) => ({ ...s, existing: null, inner: { ...s.inner, opts: null } }),
        restore: (p, main) => ({ ...p, existing: main.existing, inner: { ...p.inner, opts: main.inner.opts } }),
      };
    }
    case 'drift': {
      const { drift } = await import('../analyses/drift/index.js');
      const { loadRbac } = await import('../rbac/load.js');
      const { Authorizer } = await import('../rbac/authorizer.js');
      return {
        reducer: drift,
        options: async ({ rbac, ...rest }) => ({ ...rest, authz: new Authorizer(await loadRbac(rbac)) }),
        strip: (s) => ({ ...s, opts: null, gen: s.gen ? { ...s.gen, opts: null } : null }),
        restore: (p, main) => ({ ...p, opts: main.opts, gen: p.gen ? { ...p.gen, opts: main.gen.opts } : null }),
      };
    }
    default:
      throw new Error(`no parallel command ${name}`);
  }
}
