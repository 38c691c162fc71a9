// gzip (RFC 1952) read member by member, as `zcat` does: every member's data is kept even when the
// input ends inside a member, or when bytes that are not gzip follow the last member. Node's own
// Gunzip stream drops the last decompressed buffer when it meets either (its error replaces the
// output of that call), which lost the tail of such files.
import { createInflateRaw, constants, type InflateRaw } from 'node:zlib';

/** How a compressed input ended early; thrown after every byte that could be recovered was yielded. */
export class CompressedEndError extends Error {
  constructor(
    message: string,
    /** What the accounting says about the input: 'truncated gzip member', … */
    readonly incomplete: string,
  ) {
    super(message);
    this.name = 'CompressedEndError';
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * Gives `chunk` to `inf` and yields its output as it comes. The write callback of a Transform waits
 * while its readable side is full, so output is read while waiting (never only after). Throws the
 * zlib error, after yielding the output produced before it.
 */
async function* writeAndRead(inf: InflateRaw, chunk: Buffer): AsyncGenerator<Buffer> {
  let done = false;
  let error: Error | null = null;
  let wake: () => void = () => {};
  const onError = (e: Error): void => {
    error ??= e;
    done = true;
    wake();
  };
  const onReadable = (): void => wake();
  inf.on('error', onError);
  inf.on('readable', onReadable);
  inf.write(chunk, (e) => {
    if (e) error ??= e;
    done = true;
    wake();
  });
  try {
    for (;;) {
      for (let c = inf.read() as Buffer | null; c !== null; c = inf.read() as Buffer | null) yield c;
      if (done) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    for (let c = inf.read() as Buffer | null; c !== null; c = inf.read() as Buffer | null) yield c;
  } finally {
    inf.off('error', onError);
    inf.off('readable', onReadable);
  }
  if (error) throw error;
}

/**
 * Decompresses a gzip stream of one or more members. Yields decompressed chunks; at the end of the
 * input, returns normally when the last member was complete, or throws a CompressedEndError after
 * yielding everything: a member cut short (`truncated gzip member`), corrupt deflate data, or bytes
 * after the last member that are not gzip (zero padding is ignored, as gzip and Node do).
 */
export async function* gunzipMembers(input: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  let eof = false;
  const more = async (): Promise<boolean> => {
    if (eof) return false;
    const r = await input.next();
    if (r.done) {
      eof = true;
      return false;
    }
    buf = buf.length === 0 ? r.value : Buffer.concat([buf, r.value]);
    return true;
  };
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) if (!(await more())) return false;
    return true;
  };
  /** Index just past the zero byte ending a header string that starts at `from`. */
  const zeroTerminated = async (from: number): Promise<number> => {
    for (let scanned = from; ; ) {
      const z = buf.indexOf(0, scanned);
      if (z >= 0) return z + 1;
      scanned = buf.length;
      if (!(await more())) return -1;
    }
  };

  for (let member = 0; ; member++) {
    if (!(await need(1))) return;
    if (member > 0) {
      // Zero padding after the last member (tape blocks, preallocation) is not data.
      while (buf.length > 0 || (await more())) {
        let i = 0;
        while (i < buf.length && buf[i] === 0) i++;
        buf = buf.subarray(i);
        if (buf.length > 0) break;
      }
      if (buf.length === 0) return;
    }
    await need(3);
    if (buf.length < 3 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) {
      if (member === 0) throw new CompressedEndError('not a gzip stream', 'not gzip data');
      let n = buf.length;
      while (await more()) n = buf.length; // count what is skipped
      throw new CompressedEndError(`${n} byte${n === 1 ? '' : 's'} after the last gzip member are not gzip data (skipped, as zcat does)`, 'data after the gzip stream was not read');
    }
    const truncated = (): CompressedEndError => new CompressedEndError(`gzip member ${member + 1} is truncated (unexpected end of file)`, 'truncated gzip member');
    if (!(await need(10))) throw truncated();
    const flags = buf[3]!;
    let pos = 10;
    if (flags & FEXTRA) {
      if (!(await need(pos + 2))) throw truncated();
      pos += 2 + buf.readUInt16LE(pos);
      if (!(await need(pos))) throw truncated();
    }
    for (const f of [FNAME, FCOMMENT]) {
      if (flags & f) {
        pos = await zeroTerminated(pos);
        if (pos < 0) throw truncated();
      }
    }
    if (flags & FHCRC) {
      pos += 2;
      if (!(await need(pos))) throw truncated();
    }
    buf = buf.subarray(pos);

    // The deflate data: an InflateRaw stops at the end of the deflate stream and leaves the rest of
    // what it was given unconsumed (bytesWritten counts what it took), which is the member trailer.
    const inf = createInflateRaw({ finishFlush: constants.Z_SYNC_FLUSH });
    inf.on('error', () => {}); // reported through write() or the iterator below
    let given = 0;
    let chunk = buf;
    buf = Buffer.alloc(0);
    let size = 0;
    for (;;) {
      if (chunk.length > 0) {
        try {
          for await (const c of writeAndRead(inf, chunk)) {
            size += c.length;
            yield c;
          }
        } catch (e) {
          throw new CompressedEndError(`gzip member ${member + 1}: corrupt data (${(e as Error).message})`, 'corrupt gzip data');
        }
        given += chunk.length;
      }
      if (inf.bytesWritten < given) break; // the deflate stream ended inside what it was given
      if (!(await more())) {
        // The input ended inside the member: take everything the data decodes to, then say so.
        inf.end();
        try {
          for await (const c of inf as AsyncIterable<Buffer>) yield c;
        } catch {
          /* nothing more to recover */
        }
        throw truncated();
      }
      chunk = buf;
      buf = Buffer.alloc(0);
    }
    const rest = chunk.subarray(chunk.length - (given - inf.bytesWritten));
    inf.destroy();
    buf = rest;
    if (!(await need(8))) throw truncated();
    const isize = buf.readUInt32LE(4);
    if (isize !== size % 0x100000000) throw new CompressedEndError(`gzip member ${member + 1}: length check failed`, 'corrupt gzip data');
    buf = buf.subarray(8);
  }
}
