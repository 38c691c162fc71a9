// CSV exports (CloudWatch Logs Insights `@timestamp,@message`, Azure Log Analytics AKSAudit tables),
// streamed with csv-parse: quoted fields may hold JSON with commas, quotes and newlines.
import { parse } from 'csv-parse';
import type { IngestSink } from './reader.js';
import { StrictError } from '../util/errors.js';

export async function readCsv(chunks: AsyncIterable<Buffer>, file: string, sink: IngestSink): Promise<void> {
  const parser = parse({ columns: true, bom: true, info: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true });
  let failed: Error | null = null;
  parser.on('skip', (err: Error & { lines?: number }) => {
    try {
      sink.reject({ file, line: err.lines ?? 0, unit: 'line' }, `malformed CSV record (${err.message})`);
    } catch (e) {
      failed = e as Error;
    }
  });
  const done = (async () => {
    for await (const rec of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (failed) break;
      try {
        sink.value(rec.record, { file, line: rec.info.lines, unit: 'line' });
      } catch (e) {
        failed = e as Error;
        break;
      }
    }
  })();
  try {
    for await (const c of chunks) {
      if (failed) break;
      if (!parser.write(c)) await new Promise<void>((r) => parser.once('drain', () => r()));
    }
  } catch (e) {
    sink.reject({ file, line: 0, unit: 'line' }, `input ended early (${(e as Error).message})`);
  }
  parser.end();
  await done.catch((e: Error) => {
    failed ??= e;
  });
  const f = failed as Error | null; // set inside callbacks, which the compiler cannot follow
  if (f instanceof StrictError) throw f;
  if (f) sink.reject({ file, line: 0, unit: 'line' }, `unreadable CSV (${f.message})`);
}
