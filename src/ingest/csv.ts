// CSV exports (CloudWatch Logs Insights `@timestamp,@message`, Azure Log Analytics AKSAudit tables),
// streamed with csv-parse: quoted fields may hold JSON with commas, quotes and newlines.
import type { IngestSink } from './reader.js';
import { untilError, type StreamEnd } from './chunks.js';

/**
 * Reads CSV records into the sink. Malformed records and a parser failure are rejections; an
 * exception from the sink propagates. Returns the error the input stream raised (counted), or null.
 */
export async function readCsv(chunks: AsyncIterable<Buffer>, file: string, sink: IngestSink): Promise<Error | null> {
  // Loaded when a CSV input is met (most runs read none: start-up is part of every run's time).
  const { parse } = await import('csv-parse');
  const parser = parse({ columns: true, bom: true, info: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true });
  /** An exception of the sink: kaudit's own, rethrown as it is. */
  let sinkError: unknown = null;
  let parseError: Error | null = null;
  parser.on('skip', (err: Error & { lines?: number }) => {
    if (sinkError) return;
    try {
      sink.reject({ file, line: err.lines ?? 0, unit: 'line' }, `malformed CSV record (${err.message})`);
    } catch (e) {
      sinkError = e;
    }
  });
  const done = (async () => {
    const records = (parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>)[Symbol.asyncIterator]();
    for (;;) {
      let r: IteratorResult<{ record: Record<string, string>; info: { lines: number } }>;
      try {
        r = await records.next();
      } catch (e) {
        parseError = e as Error;
        return;
      }
      if (r.done || sinkError) return;
      try {
        sink.value(r.value.record, { file, line: r.value.info.lines, unit: 'line' });
      } catch (e) {
        sinkError = e;
        return;
      }
    }
  })();
  const end: StreamEnd = { error: null };
  for await (const chunk of untilError(chunks, end)) {
    if (sinkError || parseError) break;
    if (!parser.write(chunk)) await new Promise<void>((res) => parser.once('drain', () => res()));
  }
  const ended = end.error;
  parser.end();
  await done;
  if (sinkError) throw sinkError;
  const pe = parseError as Error | null; // set inside callbacks, which the compiler cannot follow
  if (pe) sink.reject({ file, line: 0, unit: 'line' }, `unreadable CSV (${pe.message})`);
  if (ended) sink.reject({ file, line: 0, unit: 'line' }, `input ended early (${ended.message})`);
  return ended;
}
