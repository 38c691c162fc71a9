// The --state file: written atomically (a temporary file beside it, fsync, rename, fsync of the
// directory) and only with positions whose records every sink acknowledged. A lock file keeps two
// followers from sharing one state.
import { open, rename, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { FollowState, StreamState } from './types.js';
import { InputError } from '../util/errors.js';

/** Writes `data` to `path` so that a crash leaves either the old or the new file, whole. */
export async function writeAtomic(path: string, data: string, durable = true): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  if (durable) {
    // The rename itself is durable only once the directory is.
    let dir;
    try {
      dir = await open(dirname(path), 'r');
      await dir.sync();
    } catch {
      /* some file systems cannot fsync a directory */
    } finally {
      await dir?.close();
    }
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads a state file; null when there is none yet. A damaged or foreign file is an InputError (exit 2), never silently replaced. */
export async function loadState(path: string): Promise<FollowState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(`--state: cannot read ${path} (${(e as Error).message})`, 'check the path and its permissions');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`--state: ${path} is not JSON (${(e as Error).message})`, 'move the damaged file away to start over from the files as they are now; positions in it would be lost');
  }
  if (!isObj(v) || v.kind !== 'kaudit.follow.state' || v.version !== 1 || !Array.isArray(v.streams)) {
    throw new InputError(`--state: ${path} is not a kaudit follow state file (version 1)`, 'pass the file audit follow --state wrote, or a new path');
  }
  for (const s of v.streams as unknown[]) {
    if (!isObj(s) || typeof s.path !== 'string' || !Array.isArray(s.files) || !Array.isArray(s.finished) || !Array.isArray(s.pending)) {
      throw new InputError(`--state: ${path}: a stream entry is malformed`, 'move the damaged file away to start over');
    }
    for (const f of s.files as unknown[]) {
      if (!isObj(f) || typeof f.dev !== 'string' || typeof f.ino !== 'string' || typeof f.offset !== 'number' || typeof f.fp !== 'string' || typeof f.fpLen !== 'number') {
        throw new InputError(`--state: ${path}: a file entry of ${s.path} is malformed`, 'move the damaged file away to start over');
      }
    }
  }
  return v as unknown as FollowState;
}

export function stateJson(mode: FollowState['mode'], streams: StreamState[], now: number): string {
  const state: FollowState = { kind: 'kaudit.follow.state', version: 1, written: new Date(now).toISOString(), mode, streams };
  return JSON.stringify(state) + '\n';
}

/** Takes `<state>.lock` (O_EXCL, with our pid); a lock whose process is gone is taken over. Returns the release function. */
export async function lockState(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return async () => {
        await unlink(lock).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new InputError(`--state: cannot create ${lock} (${(e as Error).message})`, 'check that the directory exists and is writable');
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new InputError(`--state: ${path} is in use by process ${pid} (${lock})`, 'run one audit follow per state file; stop the other one, or give this one its own --state');
      }
      await unlink(lock).catch(() => undefined);
    }
  }
  throw new InputError(`--state: cannot lock ${path}`, `remove ${lock} if no audit follow is running`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
