// Helpers of the tests of split runs with the main thread as a reader (mainshare*.test.ts).
import { expect, vi } from 'vitest';
import { runCli, event } from '../helpers.js';
import { setBudget } from '../../src/scale/budget.js';

export const FALLBACK = /^note: .*reading again in one thread.*\n/m;

/** One request's stage, on a line of about `pad` bytes (a few lines make a range of KAUDIT_MIN_RANGE_BYTES). */
export const line = (auditID: string, stage: string, verb: string, ms: number, pad = 400, user = 'alice'): string =>
  JSON.stringify(
    event({
      auditID,
      stage,
      verb,
      user: { username: user, groups: ['system:authenticated'] },
      requestURI: `/api/v1/namespaces/team-a/pods${verb === 'watch' ? '?watch=true' : ''}`,
      objectRef: { resource: 'pods', namespace: 'team-a', apiVersion: 'v1' },
      responseStatus: stage === 'ResponseComplete' ? { code: verb === 'delete' ? 403 : 200 } : undefined,
      userAgent: `kubectl/v1.33.0 (linux/amd64) kubernetes/abcdef ${'x'.repeat(pad)}`,
      requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 3, 10) + ms).toISOString(),
      stageTimestamp: new Date(Date.UTC(2026, 2, 3, 10) + ms + 5).toISOString(),
    }),
  );

/** `n` requests, most of which never complete (one in seven does). */
export function openLog(n: number): string[] {
  return Array.from({ length: n }, (_, i) => line(`open-${i}`, i % 7 === 0 ? 'ResponseComplete' : 'RequestReceived', i % 3 ? 'get' : 'create', i));
}


/** `argv` with --jobs `jobs`, the main thread reading (`main` '1') or not ('0'): the result and the trace written to stderr. */
export async function split(argv: string[], jobs: string, main: '0' | '1'): Promise<{ code: number; stdout: string; stderr: string; trace: string }> {
  process.env.KAUDIT_PARALLEL_MAIN = main;
  process.env.KAUDIT_TRACE_PARALLEL = '1';
  const trace: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (trace.push(String(s)), true));
  try {
    const r = await runCli([...argv, '--jobs', jobs]);
    return { ...r, trace: trace.join('') };
  } finally {
    spy.mockRestore();
    delete process.env.KAUDIT_TRACE_PARALLEL;
    delete process.env.KAUDIT_PARALLEL_MAIN;
  }
}

/**
 * summary and rbac-gen over `path` with --jobs 1 and with the `jobs` given, both ways; returns how
 * many split runs fell back. Asserts the bytes of one pass and that each split run planned at
 * least two tasks, the main thread reading one of them exactly when asked to.
 */
export async function sameAsOnePass(path: string, jobsList: string[] = ['2'], extra: string[] = []): Promise<{ fellBack: number; runs: number }> {
  let fellBack = 0;
  let runs = 0;
  for (const [cmd, args] of [
    ['summary', ['-o', 'json']],
    ['rbac-gen', ['-o', 'report']],
  ] as const) {
    const argv = [cmd, path, ...args, ...extra];
    setBudget(null);
    const one = await runCli([...argv, '--jobs', '1']);
    expect(one.code, one.stderr).toBe(0);
    for (const jobs of jobsList) {
      for (const main of ['1', '0'] as const) {
        setBudget(null);
        const many = await split(argv, jobs, main);
        const what = `${cmd} --jobs ${jobs} KAUDIT_PARALLEL_MAIN=${main}`;
        expect(many.code, many.stderr).toBe(0);
        expect(many.stdout, what).toBe(one.stdout);
        expect(many.stderr.replace(FALLBACK, ''), what).toBe(one.stderr);
        expect(many.trace, what).toMatch(/planned ([2-9]|\d\d+) tasks/);
        expect(/to the main thread/.test(many.trace), what).toBe(main === '1');
        runs++;
        if (FALLBACK.test(many.stderr)) fellBack++;
      }
    }
  }
  return { fellBack, runs };
}

