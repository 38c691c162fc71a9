// What the spill tests share: a fresh memory ledger and budget around every test, and the files
// left in the spill folder (none once every run was merged or dropped).
import { afterEach, beforeEach } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { setBudget } from '../../src/scale/budget.js';
import { resetLedger } from '../../src/scale/ledger.js';
import { cleanupSpillDir, currentSpillDir } from '../../src/scale/tempdir.js';

/** Registers the hooks that give each test of the calling file a fresh ledger, no budget and no spill folder. */
export function isolateSpills(): void {
  beforeEach(() => resetLedger());
  afterEach(() => {
    setBudget(null);
    resetLedger();
    cleanupSpillDir();
  });
}

/** Files left in the spill folder. */
export function leftovers(): string[] {
  const d = currentSpillDir();
  return d && existsSync(d) ? readdirSync(d) : [];
}
