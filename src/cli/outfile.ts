// Every file kaudit writes goes through here (--out FILE on every command, rbac-gen --out-dir).
// Guarantees (README, "Output safety"):
// - Destinations are checked before any input is read: the folder exists (or can be made) and
//   takes a new file, the destination is not a symbolic link, a folder or a device, and it is not
//   one of the inputs (same device and inode). Failures are usage errors (exit 2) naming the path.
// - A file is written to a temporary file in the same folder and renamed over the destination:
//   readers see the old file or the new one, never part of one; a symbolic link that appears at
//   the destination meanwhile is replaced, never followed. An error or a signal (SIGINT, SIGTERM,
//   SIGHUP) during the write removes the temporary file.
// - Folders are created one level at a time, at most MAX_DEPTH levels, and each failure ends it
//   (a recursive mkdir loops forever under /proc).
import { chmodSync, closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { ListWriter, releaseLists, remap, type Rereadable } from '../scale/spilled.js';

/** Folders created for one output at most. */
export const MAX_DEPTH = 32;

/** A path in an error message: as given; the CLI shows every message and fix visibly (src/cli/index.ts), so escaping it here too would escape it twice. */
const show = (p: string): string => p;

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a part of the path is not a folder',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EEXIST: 'already exists',
    EISDIR: 'is a folder',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'name too long',
  };
  return err?.code ? `${why[err.code] ?? err.code} (${err.code})` : String((err as Error)?.message ?? err);
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Device and inode: a file's identity, whatever path names it. */
function identity(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

/** Identities of the regular files among `paths` (inputs); `-` is stdin when it is a file. */
export function inputIdentities(paths: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const p of paths) {
    try {
      const st = p === '-' ? fstatSync(0) : statSync(p);
      if (st.isFile()) ids.set(identity(st), p === '-' ? 'standard input' : p);
    } catch {
      /* an input that cannot be stat'ed is reported by the reader */
    }
  }
  return ids;
}

/** A destination's checks: a usage error unless a regular file (or nothing) is there. */
function checkDestination(flag: string, path: string, st: Stats | null, inputs: Map<string, string>): void {
  if (!st) return;
  if (st.isSymbolicLink()) {
    // /dev/stdout and /dev/fd/N are links to a terminal or a pipe: removing them is not the fix.
    let target: Stats | null = null;
    try {
      target = statSync(path);
    } catch {
      /* a dangling link */
    }
    const stream = /^\/(dev|proc)\//.test(resolve(path)) || (target && !target.isFile() && !target.isDirectory());
    const fix = stream ? 'leave the option out to write to standard output' : 'remove the link, or write to another path';
    throw new UsageError(`${flag}: ${show(path)} is a symbolic link; kaudit never writes through one`, fix);
  }
  if (st.isDirectory()) throw new UsageError(`${flag}: ${show(path)} is a folder`, 'pass a file path');
  if (!st.isFile()) throw new UsageError(`${flag}: ${show(path)} is not a regular file (a device, pipe or socket)`, 'pass a file path; leave the option out to write to standard output');
  const input = inputs.get(identity(st));
  if (input !== undefined) throw new UsageError(`${flag}: ${show(path)} is the input ${show(input)}; writing it would destroy the input`, 'write the output to another path');
}

/** The deepest existing ancestor of `dir` (itself when it exists) and the folders below it to create. */
function existingAncestor(flag: string, dir: string): { base: string; missing: string[] } {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    const st = lstatOrNull(d);
    if (st) {
      let real = st;
      if (st.isSymbolicLink()) real = statSync(d);
      if (!real.isDirectory()) throw new UsageError(`${flag}: cannot write under ${show(d)}: it is not a folder`, 'choose a path in an existing folder');
      return { base: d, missing: missing.reverse() };
    }
    missing.push(d);
    if (missing.length > MAX_DEPTH) throw new UsageError(`${flag}: ${show(dir)}: more than ${MAX_DEPTH} folders would have to be created`, 'create the folders first, or choose a shorter path');
    const up = dirname(d);
    if (up === d) throw new UsageError(`${flag}: ${show(dir)}: no existing folder above it`, 'choose a path in an existing folder');
    d = up;
  }
}

/** At most this many bytes of the destination's name go into a temporary file's name (which must stay under NAME_MAX, 255 bytes). */
const TEMP_BASE_BYTES = 100;

/** The longest prefix of `s` that is at most `max` bytes in UTF-8, never splitting a character. */
function utf8Prefix(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const c of s) {
    bytes += Buffer.byteLength(c);
    if (bytes > max) break;
    out += c;
  }
  return out;
}

function tempName(dir: string, base: string): string {
  return join(dir, `.${utf8Prefix(base, TEMP_BASE_BYTES)}.kaudit-${randomBytes(6).toString('hex')}.tmp`);
}

/** Creates a file that did not exist (never following a link) and returns its descriptor. */
function createExclusive(path: string, mode = 0o666): number {
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), mode);
}

/** Proves that `dir` takes a new file: creates and removes an empty temporary one. */
function probe(flag: string, target: string, dir: string): void {
  const tmp = tempName(dir, 'probe');
  try {
    closeSync(createExclusive(tmp, 0o600));
  } catch (e) {
    throw new UsageError(`${flag}: cannot write ${show(target)}: ${reason(e)} in ${show(dir)}`, 'choose a folder you can write to');
  }
  try {
    unlinkSync(tmp);
  } catch {
    /* best effort */
  }
}

/** Temporary files being written: removed when a signal ends the process. */
const pending = new Set<string>();
/** Staging folders of --out-dir being written (OutputDir.open): removed with what they hold when a signal ends the process. */
const pendingDirs = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let signalsHeld = 0;

function onSignal(sig: NodeJS.Signals): void {
  for (const t of pending) {
    try {
      unlinkSync(t);
    } catch {
      /* already renamed or gone */
    }
  }
  pending.clear();
  for (const d of pendingDirs) removeStaging(d);
  pendingDirs.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

/** Runs `fn` with the temporary-file cleanup armed for signals; a signal that came meanwhile is acted on after. */
async function withSignalsHeld<T>(fn: () => T): Promise<T> {
  if (signalsHeld++ === 0) for (const s of SIGNALS) process.on(s, onSignal);
  try {
    return fn();
  } finally {
    // Give a signal that arrived during the synchronous write its turn while the handler is still armed.
    await new Promise((r) => setImmediate(r));
    if (--signalsHeld === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
  }
}

/** Writes `text` to a new temporary file in the destination's folder; returns its path. */
function writeTemp(dest: string, text: string, mode: number | null): string {
  const tmp = tempName(dirname(dest), basename(dest));
  const fd = createExclusive(tmp);
  pending.add(tmp);
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (mode !== null) {
      try {
        // Keep the replaced file's permission bits.
        fchmodSync(fd, mode & 0o7777);
      } catch {
        /* not fatal */
      }
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    removeTemp(tmp);
    throw e;
  }
  closeSync(fd);
  return tmp;
}

function removeStaging(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* gone */
  }
}

function removeTemp(tmp: string): void {
  pending.delete(tmp);
  try {
    unlinkSync(tmp);
  } catch {
    /* gone */
  }
}

/** A file destination, checked before the inputs are read. */
export interface OutputFile {
  readonly path: string;
  /** Usage error when the destination is one of these inputs (same device and inode). */
  checkInputs(paths: readonly string[]): void;
  /** Writes `text` atomically (temporary file, fsync, rename). */
  write(text: string): Promise<void>;
  /**
   * Streams into a temporary file in the destination's folder (for outputs too large to hold,
   * such as exports); `commit` flushes it to disk and renames it over the destination with the
   * same checks as `write`, `abort` removes it. Until `commit`, the destination is untouched.
   */
  open(): OutputStream;
}

/** A file being written by {@link OutputFile.open}. */
export interface OutputStream {
  write(chunk: string): void;
  commit(): Promise<void>;
  abort(): void;
}

/**
 * Checks a file destination named by `flag` before anything is read; see the file comment.
 * Errors: UsageError naming the path and the reason.
 */
export function prepareOutputFile(flag: string, path: string): OutputFile {
  if (path === '') throw new UsageError(`${flag}: empty path`, 'pass a file path');
  const dest = resolve(path);
  const dir = dirname(dest);
  let st: Stats | null;
  try {
    st = lstatOrNull(dest);
  } catch (e) {
    throw new UsageError(`${flag}: cannot write ${show(path)}: ${reason(e)}`, 'choose a path in a folder you can write to');
  }
  checkDestination(flag, path, st, new Map());
  let dirSt: Stats | null;
  try {
    dirSt = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${flag}: cannot write ${show(path)}: the folder ${show(dir)} does not exist`, 'create the folder first, or choose another path');
    throw new UsageError(`${flag}: cannot write ${show(path)}: ${reason(e)}`, 'choose a path in a folder you can write to');
  }
  if (!dirSt.isDirectory()) throw new UsageError(`${flag}: cannot write ${show(path)}: ${show(dir)} is not a folder`, 'choose a path in an existing folder');
  probe(flag, path, dir);
  let inputs = new Map<string, string>();
  return {
    path,
    checkInputs(paths) {
      inputs = new Map([...inputs, ...inputIdentities(paths)]);
      checkDestination(flag, path, lstatOrNull(dest), inputs);
    },
    async write(text) {
      await withSignalsHeld(() => {
        const now = lstatOrNull(dest);
        checkDestination(flag, path, now, inputs);
        let tmp: string | null = null;
        try {
          // A full disk or a folder made unwritable meanwhile fails here: the same usage error.
          tmp = writeTemp(dest, text, now ? now.mode : null);
          checkDestination(flag, path, lstatOrNull(dest), inputs);
          renameSync(tmp, dest);
          pending.delete(tmp);
        } catch (e) {
          if (tmp !== null) removeTemp(tmp);
          throw e instanceof UsageError ? e : new UsageError(`${flag}: cannot write ${show(path)}: ${reason(e)}`, 'choose a path in a folder you can write to');
        }
      });
    },
    open() {
      const before = lstatOrNull(dest);
      checkDestination(flag, path, before, inputs);
      const tmp = tempName(dirname(dest), basename(dest));
      let fd: number;
      try {
        fd = createExclusive(tmp);
      } catch (e) {
        throw new UsageError(`${flag}: cannot write ${show(path)}: ${reason(e)}`, 'choose a path in a folder you can write to');
      }
      pending.add(tmp);
      if (signalsHeld++ === 0) for (const sg of SIGNALS) process.on(sg, onSignal);
      let open = true;
      const release = (): void => {
        if (!open) return;
        open = false;
        try {
          closeSync(fd);
        } catch {
          /* already closed */
        }
        if (--signalsHeld === 0) for (const sg of SIGNALS) process.removeListener(sg, onSignal);
      };
      return {
        write(chunk) {
          const buf = Buffer.from(chunk, 'utf8');
          let off = 0;
          try {
            while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
          } catch (e) {
            release();
            removeTemp(tmp);
            throw new UsageError(`${flag}: cannot write ${show(path)}: ${reason(e)}`, 'choose a folder with room to write to');
          }
        },
        async commit() {
          try {
            if (before) {
              try {
                fchmodSync(fd, before.mode & 0o7777);
              } catch {
                /* not fatal */
              }
            }
            fsyncSync(fd);
            release();
            checkDestination(flag, path, lstatOrNull(dest), inputs);
            renameSync(tmp, dest);
            pending.delete(tmp);
          } catch (e) {
            release();
            removeTemp(tmp);
            throw e instanceof UsageError ? e : new UsageError(`${flag}: cannot write ${show(path)}: ${reason(e)}`, 'choose a path in a folder you can write to');
          }
        },
        abort() {
          release();
          removeTemp(tmp);
        },
      };
    },
  };
}

/** A folder destination (rbac-gen --out-dir), checked before the inputs are read. */
export interface OutputDir {
  readonly path: string;
  checkInputs(paths: readonly string[]): void;
  /**
   * Writes every file or none: creates the folder (bounded), checks each destination, writes all
   * temporary files, then renames them. `name` is a plain file name (no separator, not . or ..).
   * Returns the paths written, in order (DIR joined with each name).
   */
  writeAll(files: Iterable<{ name: string; text: string }>): Promise<string[]>;
  /**
   * The same, one file at a time (a million subjects' files are never held at once): `add` writes a
   * file into a staging folder inside DIR (created exclusively, so a name given twice is an error);
   * `commit` checks every destination (not a link, a folder, a device or an input), then renames
   * each file into place and gives the paths written, in the order added (re-readable; the names
   * are held like any list, spilled with the memory budget); `abort` removes the staging folder.
   * A signal removes it too. Until `commit`, nothing in DIR changes.
   */
  open(): OutputDirStream;
}

/** Files being written by {@link OutputDir.open}. */
export interface OutputDirStream {
  add(name: string, text: string): void;
  commit(): Promise<Rereadable<string>>;
  abort(): void;
}

/** A file name that stays in its folder: no separator, not `.` or `..`, no NUL, at most 255 bytes. */
export function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && Buffer.byteLength(name) <= 255;
}

export function prepareOutputDir(flag: string, dir: string): OutputDir {
  if (dir === '') throw new UsageError(`${flag}: empty path`, 'pass a folder path');
  const root = resolve(dir);
  let st: Stats | null;
  try {
    st = lstatOrNull(root);
  } catch (e) {
    throw new UsageError(`${flag}: cannot write to ${show(dir)}: ${reason(e)}`, 'choose a folder you can write to');
  }
  if (st?.isSymbolicLink()) throw new UsageError(`${flag}: ${show(dir)} is a symbolic link; kaudit never writes through one`, `pass the folder it points to (realpath ${show(dir)})`);
  if (st && !st.isDirectory()) throw new UsageError(`${flag}: ${show(dir)} exists and is not a folder`, 'pass a folder path, or remove the file');
  const { base, missing } = existingAncestor(flag, root);
  probe(flag, dir, base);
  let inputs = new Map<string, string>();
  const makeDirs = (): void => {
    for (const d of missing) {
      try {
        mkdirSync(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && lstatSync(d).isDirectory()) continue;
        throw new UsageError(`${flag}: cannot create the folder ${show(d)}: ${reason(e)}`, 'choose a folder you can write to');
      }
    }
    const now = lstatSync(root);
    if (now.isSymbolicLink() || !now.isDirectory()) throw new UsageError(`${flag}: ${show(dir)} is no longer a folder`, 'run again');
  };
  const openStream = (): OutputDirStream => {
    makeDirs();
    // The staging folder: DIR/.kaudit-staging-<random>, made by us (mode 0700), never reused.
    const staging = join(root, `.kaudit-staging-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(staging, 0o700);
    } catch (e) {
      throw new UsageError(`${flag}: cannot write into ${show(dir)}: ${reason(e)}`, 'choose a folder you can write to');
    }
    pendingDirs.add(staging);
    if (signalsHeld++ === 0) for (const sg of SIGNALS) process.on(sg, onSignal);
    let open = true;
    const names = new ListWriter<string>((n) => 64 + 2 * n.length, 'outdir-names');
    let listed: Rereadable<string> | null = null;
    const list = (): Rereadable<string> => (listed ??= names.finish());
    const release = (): void => {
      if (!open) return;
      open = false;
      if (--signalsHeld === 0) for (const sg of SIGNALS) process.removeListener(sg, onSignal);
    };
    const abort = (): void => {
      if (open) releaseLists(list());
      removeStaging(staging);
      pendingDirs.delete(staging);
      release();
    };
    const fail = (e: unknown): never => {
      abort();
      throw e instanceof UsageError ? e : new UsageError(`${flag}: cannot write into ${show(dir)}: ${reason(e)}`, 'choose a folder you can write to');
    };
    return {
      add(name, text) {
        if (!open) throw new Error(`${flag}: add after commit or abort`);
        if (!isPlainFileName(name)) {
          abort();
          throw new Error(`refusing to write ${JSON.stringify(name)} into ${dir}: not a plain file name`);
        }
        let fd: number;
        try {
          fd = createExclusive(join(staging, name));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
            abort();
            throw new Error(`two outputs named ${name} in ${dir}`);
          }
          return fail(e);
        }
        try {
          const buf = Buffer.from(text, 'utf8');
          let off = 0;
          while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
          fsyncSync(fd);
        } catch (e) {
          closeSync(fd);
          return fail(e);
        }
        closeSync(fd);
        names.push(name);
      },
      async commit() {
        if (!open) throw new Error(`${flag}: commit after commit or abort`);
        const all = list();
        try {
          await withSignalsHeld(() => {
            // Every destination first: one that is a link, a folder or an input leaves DIR untouched.
            for (const name of all) checkDestination(flag, join(dir, name), lstatOrNull(join(root, name)), inputs);
            for (const name of all) {
              const dest = join(root, name);
              const now = lstatOrNull(dest);
              checkDestination(flag, join(dir, name), now, inputs);
              const from = join(staging, name);
              // Keep the replaced file's permission bits.
              if (now) {
                try {
                  chmodSync(from, now.mode & 0o7777);
                } catch {
                  /* not fatal */
                }
              }
              renameSync(from, dest);
            }
          });
        } catch (e) {
          return fail(e);
        }
        removeStaging(staging);
        pendingDirs.delete(staging);
        release();
        return remap(all, (name) => join(dir, name));
      },
      abort,
    };
  };
  return {
    path: dir,
    checkInputs(paths) {
      inputs = new Map([...inputs, ...inputIdentities(paths)]);
    },
    async writeAll(files) {
      const w = openStream();
      try {
        for (const f of files) w.add(f.name, f.text);
      } catch (e) {
        w.abort();
        throw e;
      }
      const written = await w.commit();
      const out = [...written];
      releaseLists(written);
      return out;
    },
    open: () => openStream(),
  };
}
