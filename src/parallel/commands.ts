// The commands whose reducer state crosses threads (--jobs) and files (--save-state, audit merge):
// how each builds its reducer options from plain data (a worker cannot receive functions or class
// instances), how its state crosses, and what its result depends on besides the records.
import type { Reducer } from '../types.js';

export interface ParallelCommand {
  reducer: Reducer<any, any, any>;
  /** Reducer options from the plain spec (may load files: the RBAC export for drift). */
  options(spec: any): Promise<any>;
  /** State without what cannot cross a thread or be written to a file. */
  strip(state: any): unknown;
  /**
   * Called on a task's state before it leaves its thread (before strip): a state with spilling maps
   * writes them out (handOff in src/scale/spillmap.ts), so that the main thread merges run paths
   * rather than every worker's maps at once. Not for state files (--save-state): runs are temporary.
   */
  handOver?(state: any): void;
  /** The state again, with what `strip` left out taken from this thread's state. */
  restore(plain: any, main: any): any;
  /**
   * What the result depends on besides the records, as plain data: shards and `audit merge` must
   * agree on it. Files (RBAC exports, baselines) by content digest, so that they may move.
   */
  fingerprint(spec: any): Promise<unknown>;
  /**
   * For reducers with a part that only input order can judge (anomalies' stateful rules): in a
   * sharded run, `start` makes the state hand those requests to `sink` instead of judging them;
   * at the merge, `replay` judges each, in input order, on the state merged so far.
   */
  shard?: {
    start(state: any, sink: (item: unknown) => void): void;
    replay(state: any, item: unknown): void;
  };
}

async function rbacDigestOf(paths: string[]): Promise<string> {
  const { loadRbac, rbacDigest } = await import('../rbac/load.js');
  return rbacDigest(await loadRbac(paths));
}

async function fileDigest(path: string): Promise<string> {
  const [{ readFile }, { createHash }] = await Promise.all([import('node:fs/promises'), import('node:crypto')]);
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

const same = async (spec: unknown): Promise<unknown> => spec;

export async function parallelCommand(name: string): Promise<ParallelCommand> {
  switch (name) {
    case 'summary': {
      const { summary } = await import('../analyses/summary/index.js');
      return { reducer: summary, options: async (spec) => spec, strip: (s) => s, restore: (p) => p, fingerprint: same };
    }
    case 'baseline': {
      const { profiles } = await import('../analyses/baseline/index.js');
      return { reducer: profiles, options: async (spec) => spec, strip: (s) => s, restore: (p) => p, fingerprint: same };
    }
    case 'rbac-gen': {
      const { rbacGenExcept } = await import('../analyses/rbacgen/existing.js');
      const { subjectSpec, deniedSpec, uncheckedSpec } = await import('../analyses/rbacgen/index.js');
      const { handOff } = await import('../scale/spillmap.js');
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
        handOver: (s) => {
          handOff(s.inner.subjects, subjectSpec(s.inner.opts.maxNames));
          handOff(s.inner.denied, deniedSpec);
          handOff(s.inner.unchecked, uncheckedSpec);
        },
        strip: (s) => ({ ...s, existing: null, inner: { ...s.inner, opts: null } }),
        restore: (p, main) => ({ ...p, existing: main.existing, inner: { ...p.inner, opts: main.inner.opts } }),
        fingerprint: async ({ existing, ...rest }) => ({ ...rest, existing: existing?.length ? await rbacDigestOf(existing) : null }),
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
        fingerprint: async ({ rbac, ...rest }) => ({ ...rest, rbac: await rbacDigestOf(rbac) }),
      };
    }
    case 'compliance': {
      const { compliance } = await import('../analyses/compliance/index.js');
      const { loadRbac } = await import('../rbac/load.js');
      const { Authorizer } = await import('../rbac/authorizer.js');
      const stripDrift = (d: any) => ({ ...d, opts: null, gen: d.gen ? { ...d.gen, opts: null } : null });
      return {
        reducer: compliance,
        options: async ({ rbac, ...rest }) => ({ ...rest, authz: new Authorizer(await loadRbac(rbac)) }),
        strip: (s) => ({ ...s, opts: null, drift: stripDrift(s.drift) }),
        restore: (p, main) => ({ ...p, opts: main.opts, drift: { ...p.drift, opts: main.drift.opts, gen: p.drift.gen ? { ...p.drift.gen, opts: main.drift.gen.opts } : null } }),
        // The report's time and file names are the merge's; the RBAC must say the same.
        fingerprint: async ({ rbac, generatedAt: _g, rbacFiles: _f, version: _v, ...rest }) => ({ ...rest, rbac: await rbacDigestOf(rbac) }),
      };
    }
    case 'anomalies': {
      const { anomalies, mergeStats, replayDeferred } = await import('../analyses/anomalies/index.js');
      const { readBaselineFile } = await import('../analyses/baseline/index.js');
      const { loadRuleSet } = await import('../rules/detections.js');
      return {
        reducer: anomalies,
        options: async ({ baseline, ruleLoad, ...rest }) => {
          const rules = await loadRuleSet(ruleLoad);
          // A baseline file is read subject by subject into a spilling state (any size, bounded memory).
          return { ...rest, rules, baseline: baseline ? await readBaselineFile(baseline, '--baseline') : null };
        },
        // The engine (compiled rules and their state) stays behind: its counts travel as mergedStats.
        strip: (s) => ({ ...s, opts: null, engine: null, defer: null, mergedStats: mergeStats(s.mergedStats, s.engine?.stats() ?? []) }),
        restore: (p, main) => ({ ...p, opts: main.opts, engine: null, defer: null }),
        // The rules by content (not by file name), the baseline by digest.
        fingerprint: async ({ baseline, ruleLoad, ...rest }) => {
          const set = await loadRuleSet(ruleLoad);
          const { createHash } = await import('node:crypto');
          const rules = createHash('sha256')
            .update(JSON.stringify(set.rules.map((r) => ({ ...r.doc, source: { kind: r.doc.source.kind, family: r.doc.source.family } }))))
            .digest('hex');
          return { ...rest, rules, baseline: baseline ? await fileDigest(baseline) : null };
        },
        shard: {
          start: (s, sink) => {
            s.defer = (record: unknown, rules: number[]) => sink({ rules, record });
          },
          replay: (s, item) => replayDeferred(s, item as import('../analyses/anomalies/index.js').Deferred),
        },
      };
    }
    default:
      throw new Error(`no parallel command ${name}`);
  }
}
