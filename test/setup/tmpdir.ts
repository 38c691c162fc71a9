// Global set-up of the test run: every temporary file of the run (tests' tmpDir(), kaudit's spill
// folders, DuckDB's, Chromium's) goes into one folder made for the run and removed after it, so a
// run leaves nothing behind in the system's temporary folder (tests make tens of thousands of
// folders, some with 200 MB logs). The folder is world-writable with the sticky bit, like /tmp:
// some tests run kaudit as `nobody`.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'kaudit-tests-'));
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
