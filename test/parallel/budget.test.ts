// --jobs and --memory: the budget is process-wide (src/cli/common.ts workerBudget, MAIN_SHARE).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { runCli, tmpDir } from '../helpers.js';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { MAIN_SHARE, workerBudget } from '../../src/cli/common.js';
import { budgetBytes, MIN_BUDGET, setBudget } from '../../src/scale/budget.js';

process.env.KAUDIT_MIN_RANGE_BYTES = String(96 << 10);
process.env.KAUDIT_TASK_BYTES = String(3 * (96 << 10));

describe('the budget is shared between the main thread and the workers', () => {
  it.each([
    { budget: 192 * 2 ** 20, jobs: 1, want: 192 * 2 ** 20 },
    { budget: 192 * 2 ** 20, jobs: 2, want: 32 * 2 ** 20 },
    { budget: 192 * 2 ** 20, jobs: 4, want: 16 * 2 ** 20 },
    { budget: 4096, jobs: 8, want: MIN_BUDGET },
  ])('$budget bytes, $jobs workers: $want each', ({ budget, jobs, want }) => {
    expect(workerBudget(budget, jobs)).toBe(want);
    // The workers' shares and the main thread's add up to the budget at most.
    if (jobs > 1 && want > MIN_BUDGET) expect(jobs * workerBudget(budget, jobs) + budget * MAIN_SHARE).toBeLessThanOrEqual(budget);
  });

  it('the main thread has the whole budget again after the workers are done (its finish() spills against it)', async () => {
    const dir = tmpDir();
    const log = join(dir, 'audit.log');
    await generate({ ...DEFAULT_GEN, out: log, days: 1, seed: 11, scale: 0.05, rotate: 'none' });
    const one = await runCli(['rbac-gen', log, '--jobs', '1', '--memory', '64k', '-q']);
    setBudget(null);
    const two = await runCli(['rbac-gen', log, '--jobs', '2', '--memory', '64k', '-q']);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    // While the workers read, the main thread keeps MAIN_SHARE of 64k; the run restores all of it.
    expect(budgetBytes()).toBe(64 * 1024);
    setBudget(null);
  }, 120_000);
});
