// An input stream's end told apart from its failure (issue 23: an error of the input is counted and
// reported, never taken for the end of the data). Every reader (JSON lines, JSON documents, CSV,
// YAML) iterates its chunks through this one loop.

/** Where untilError leaves the error that stopped the stream (null: it ended). */
export interface StreamEnd {
  error: Error | null;
}

/**
 * The chunks of `chunks` until it ends or fails; a failure (a truncated gzip member, a read error)
 * stops the iteration and is left in `end.error`. The chunks before it are all handed on, as `zcat`
 * hands on what it decompressed. Breaking out early does not close `chunks` (the caller owns it).
 */
export async function* untilError(chunks: AsyncIterable<Buffer>, end: StreamEnd): AsyncGenerator<Buffer, void, undefined> {
  const it = chunks[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      end.error = e as Error;
      return;
    }
    if (r.done) return;
    yield r.value;
  }
}
