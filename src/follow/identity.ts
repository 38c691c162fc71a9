// A file is known by device + inode, plus a fingerprint of its first bytes, never by name (the
// habit of Fluent Bit's tail input and Filebeat's registry). The fingerprint catches inode reuse
// (a deleted backup's inode handed to the new audit.log) and finds a file again after it was
// renamed and gzipped (a new inode, the same content), which is what kube-apiserver's log backend
// does on rotation: lumberjack's openNew renames audit.log to audit-<UTC time>.log, and with
// --audit-log-compress its compressLogFile writes audit-<time>.log.gz and removes the plain file.
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { gunzipHead } from './gzip.js';
import type { FileIdentity } from './types.js';

/** Bytes the fingerprint covers once the file is that long (Filebeat's default, 1 KiB: the first event's auditID is in it). */
export const FINGERPRINT_BYTES = 1024;
/** A fingerprint this short is not trusted to find a file by content alone (the first event's auditID may not be in it yet). */
export const MIN_CONTENT_MATCH = 256;

export function fingerprint(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex');
}

/** Whether `head` (the first bytes of a file) starts with the content `id` fingerprinted. */
export function headMatches(id: FileIdentity, head: Buffer): boolean {
  if (head.length < id.fpLen) return false;
  return fingerprint(head.subarray(0, id.fpLen)) === id.fp;
}

/** Reads up to `n` bytes from the start of an open plain file. */
export async function readHead(fh: FileHandle, n = FINGERPRINT_BYTES): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Whether the file starts with the gzip magic bytes. */
export async function isGzip(fh: FileHandle): Promise<boolean> {
  const b = await readHead(fh, 2);
  return b.length === 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** The first `n` decompressed bytes of a gzip file (fewer if it is shorter, cut short or damaged: never throws for bad data). */
export async function gzipHead(path: string, n = FINGERPRINT_BYTES): Promise<Buffer> {
  return gunzipHead(path, n);
}

/** The head of a file by path, decompressed when it is gzip; null when it cannot be read. */
export async function headOf(path: string): Promise<{ head: Buffer; gzip: boolean } | null> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    if (await isGzip(fh)) return { head: await gzipHead(path), gzip: true };
    return { head: await readHead(fh), gzip: false };
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

/** An identity from a stat (bigint) and the file's head. */
export function identityOf(st: { dev: bigint; ino: bigint }, head: Buffer): FileIdentity {
  const h = head.subarray(0, FINGERPRINT_BYTES);
  return { dev: String(st.dev), ino: String(st.ino), fpLen: h.length, fp: fingerprint(h) };
}

/** Same inode on the same device, and the content fingerprint still holds (no inode reuse). */
export function sameFile(id: FileIdentity, st: { dev: bigint; ino: bigint }, head: Buffer): boolean {
  return id.dev === String(st.dev) && id.ino === String(st.ino) && headMatches(id, head);
}

/** The same content under another inode (renamed and gzipped, or copied): only with a fingerprint long enough to be unique. */
export function sameContent(id: FileIdentity, head: Buffer): boolean {
  return id.fpLen >= MIN_CONTENT_MATCH && headMatches(id, head);
}
