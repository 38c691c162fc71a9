// Where spilled state goes: one private folder per process (mode 0700, under KAUDIT_TMPDIR, TMPDIR
// or the system's temporary folder), made on first use and removed with everything in it when
// the process exits, whether it ends normally, by an error, or by SIGINT, SIGTERM or SIGHUP (the
// signal is raised again once the folder is gone, so the exit status still tells what ended it).
// Worker threads write into the folder the main thread made (setSpillDir), and never remove it.
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { InputError } from '../util/errors.js';

/** System error codes that mean the temporary folder cannot take spill files (not a kaudit bug). */
const UNWRITABLE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EFBIG', 'EMFILE', 'ENFILE']);

/**
 * `e` (an error from making or writing a spill file in `where`) as an InputError (exit 2) that says
 * what failed and what to do, when it is the folder's fault (missing, read-only, full); else `e`.
 */
export function spillFailure(e: unknown, where: string): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!code || !UNWRITABLE.has(code)) return e;
  const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'it is full' : code === 'ENOENT' || code === 'ENOTDIR' ? 'it does not exist' : code === 'EMFILE' || code === 'ENFILE' ? 'too many files are open' : code === 'EFBIG' ? 'a file would grow too large' : 'it is not writable';
  return new InputError(
    `the analysis state passed the memory budget and must spill to temporary files, but ${where} cannot take them: ${why} (${code})`,
    'set KAUDIT_TMPDIR (or TMPDIR) to a writable folder with free space, raise --memory, or use --approx where the command has it (summary, investigate --group-by: fixed memory, no temporary files)',
    'spill',
  );
}

let dir: string | null = null;
let owned = false;
let counter = 0;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function removeDir(): void {
  if (dir === null || !owned) return;
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* best effort: the process is ending */
  }
}

function onSignal(sig: NodeJS.Signals): void {
  removeDir();
  dir = null;
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

function onExit(): void {
  removeDir();
}

/** The root temporary folder: KAUDIT_TMPDIR when set, else the system's (TMPDIR, /tmp). */
export function tempRoot(): string {
  return process.env.KAUDIT_TMPDIR || tmpdir();
}

/**
 * This process's spill folder, made on first use. Errors: an InputError (exit 2, spillFailure) when
 * the temporary folder is missing, read-only or full.
 */
export function spillDir(): string {
  if (dir !== null) return dir;
  try {
    dir = mkdtempSync(join(tempRoot(), 'kaudit-'));
  } catch (e) {
    throw spillFailure(e, tempRoot());
  }
  owned = isMainThread;
  if (owned) {
    process.on('exit', onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  return dir;
}

/** Makes `path` (a folder the main thread made) this thread's spill folder; it is not removed from here. */
export function setSpillDir(path: string): void {
  if (dir !== null && owned && dir !== path) removeDir();
  dir = path;
  owned = false;
}

/** The spill folder if one was made (null otherwise); for tests and for handing it to workers. */
export function currentSpillDir(): string | null {
  return dir;
}

/** A new file name in the spill folder (the file is not created). */
export function spillFile(tag: string): string {
  return join(spillDir(), `${tag}-${process.pid}-${isMainThread ? 'm' : 'w'}${++counter}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Removes a spill file (a run that was merged); missing files are fine. */
export function removeSpillFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/** Removes the spill folder now (tests; the end of a run does it anyway). */
export function cleanupSpillDir(): void {
  removeDir();
  if (owned) {
    process.removeListener('exit', onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  }
  dir = null;
  owned = false;
}
