// Expands command-line inputs (files, directories, globs, `-`, NAME=PATH) into a flat, ordered list.
import { accessSync, constants, existsSync, statSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../util/errors.js';

export interface Source {
  /** Path as the user will recognise it in messages; `-` for stdin. */
  path: string;
  /** Cluster label from NAME=PATH or --cluster NAME; '' when unlabelled. */
  cluster: string;
  /** Size in bytes when known (for progress); 0 for stdin. */
  size: number;
  /** A byte range of the file (split runs): from `start` (a line start) to `end` (exclusive). */
  start?: number;
  end?: number;
  /** Set when this input's bytes are those of an earlier input (that input's path): it is not read again. */
  duplicateOf?: string;
}

const GLOB_CHARS = /[*?[\]{}]/;

/** Splits `NAME=PATH` when PATH exists and the whole string does not. */
export function splitLabel(arg: string): { cluster: string; path: string } {
  const eq = arg.indexOf('=');
  if (eq > 0 && !existsSync(arg)) {
    const name = arg.slice(0, eq);
    const path = arg.slice(eq + 1);
    if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return { cluster: name, path };
  }
  return { cluster: '', path: arg };
}

/** Recursively lists the regular files under a directory, sorted by name for determinism. */
function walk(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
    else if (e.isSymbolicLink()) {
      try {
        const st = statSync(p);
        if (st.isFile()) out.push(p);
      } catch {
        /* dangling link: ignored like any non-file */
      }
    }
  }
}

/** An input file kaudit may not read is an input error naming it, found before anything is read. */
function readable(path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message})`, 'check the permissions');
  }
}

async function expandGlob(pattern: string): Promise<string[]> {
  const { glob } = await import('tinyglobby');
  const found = await glob(pattern, { onlyFiles: true, absolute: false, expandDirectories: false, dot: false });
  return found.sort();
}

/**
 * Turns arguments into sources. Directories are walked recursively; globs are expanded (quoted globs
 * included); `-` is stdin. A missing or unreadable input is an InputError that names it (exit 2).
 */
export async function expandInputs(args: string[], defaultCluster = ''): Promise<Source[]> {
  const out: Source[] = [];
  const seen = new Set<string>();
  const add = (path: string, cluster: string, size: number): void => {
    const key = path === '-' ? '-' : resolve(path);
    if (seen.has(key)) return;
    seen.add(key);
    if (path !== '-') readable(path);
    out.push({ path, cluster: cluster || defaultCluster, size });
  };
  for (const arg of args) {
    const { cluster, path } = splitLabel(arg);
    if (path === '-') {
      add('-', cluster, 0);
      continue;
    }
    if (!existsSync(path)) {
      if (GLOB_CHARS.test(path)) {
        const matches = await expandGlob(path);
        if (matches.length === 0) throw new InputError(`${path}: no file matches this pattern`, 'check the pattern, or quote it so that kaudit expands it');
        for (const m of matches) add(m, cluster, statSync(m).size);
        continue;
      }
      throw new InputError(`${path}: no such file or directory`, 'check the path; pass files, directories, globs or - for stdin');
    }
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      throw new InputError(`${path}: cannot read (${(e as Error).message})`, 'check the permissions');
    }
    if (st.isDirectory()) {
      const files: string[] = [];
      try {
        walk(path, files);
      } catch (e) {
        throw new InputError(`${path}: cannot read directory (${(e as Error).message})`, 'check the permissions');
      }
      for (const f of files) add(f, cluster, statSync(f).size);
    } else {
      add(path, cluster, st.size);
    }
  }
  return out;
}
