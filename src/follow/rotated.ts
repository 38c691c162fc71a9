// Rotated siblings of a followed file: the names that log rotation gives the old file.
//   kube-apiserver (lumberjack backupName): audit.log → audit-2026-03-02T10-00-00.000.log[.gz]
//   logrotate: audit.log.1[.gz], and with dateext audit.log-20260302[.gz]
// Only these shapes count, so that audit-policy.yaml next to audit.log is never read as a backup.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { headOf } from './identity.js';

export interface Candidate {
  path: string;
  dev: bigint;
  ino: bigint;
  size: number;
  mtimeMs: number;
  gzip: boolean;
  /** First bytes of the content (decompressed for gzip). */
  head: Buffer;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A matcher for the rotated names of `file` (a base name). */
export function rotatedNameMatcher(file: string): (name: string) => boolean {
  const ext = extname(file);
  const stem = file.slice(0, file.length - ext.length);
  const gz = '(?:\\.gz)?$';
  const patterns = [
    // lumberjack: <stem>-<timestamp><ext>, timestamp 2006-01-02T15-04-05.000 (local or UTC)
    new RegExp(`^${escape(stem)}-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}(?:\\.\\d+)?${escape(ext)}${gz}`),
    // logrotate: <file>.<n>
    new RegExp(`^${escape(file)}\\.\\d+${gz}`),
    // logrotate dateext: <file>-<date digits and separators>
    new RegExp(`^${escape(file)}-\\d[\\d._:T-]*${gz}`),
  ];
  return (name) => name !== file && patterns.some((p) => p.test(name));
}

/**
 * Whether `name` is X.gz while X is still there: X being compressed. lumberjack's compressLogFile
 * (kube-apiserver --audit-log-compress) writes X.gz progressively (O_CREATE|O_TRUNC, gzip.Writer)
 * and removes X only once X.gz is whole, as gzip(1) does for logrotate; a failed compression
 * leaves X too (and retries later, truncating X.gz). So while X exists, X is the content and X.gz
 * is a partial copy of it, never a file of its own; once X is gone, X.gz is whole and is found
 * again by its content's fingerprint.
 */
export function beingCompressed(name: string, present: ReadonlySet<string>): boolean {
  return name.endsWith('.gz') && present.has(name.slice(0, -3));
}

/** Statistics and heads of the rotated siblings of `path` that exist now (not X.gz being compressed beside X), oldest (by mtime, then name) first. */
export async function rotatedSiblings(path: string): Promise<Candidate[]> {
  const dir = dirname(path);
  const match = rotatedNameMatcher(basename(path));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Candidate[] = [];
  const present = new Set(names);
  for (const name of names.filter(match)) {
    if (beingCompressed(name, present)) continue;
    const p = join(dir, name);
    const c = await candidate(p);
    if (c) out.push(c);
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One file as a candidate, or null when it is not a regular file (or vanished). */
export async function candidate(p: string): Promise<Candidate | null> {
  try {
    const st = await stat(p, { bigint: true });
    if (!st.isFile()) return null;
    const h = await headOf(p);
    if (!h) return null;
    return { path: p, dev: st.dev, ino: st.ino, size: Number(st.size), mtimeMs: Number(st.mtimeMs), gzip: h.gzip, head: h.head };
  } catch {
    return null;
  }
}
