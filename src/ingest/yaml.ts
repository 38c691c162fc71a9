// YAML inputs (events or cloud log entries rendered as YAML, possibly multi-document).
// YAML cannot be streamed, so the input is bounded by maxBytes.
import type { IngestSink } from './reader.js';
import { untilError, type StreamEnd } from './chunks.js';

/** Reads YAML documents into the sink; returns the error the input stream raised (counted), or null. */
export async function readYaml(chunks: AsyncIterable<Buffer>, file: string, sink: IngestSink, maxBytes: number): Promise<Error | null> {
  const parts: Buffer[] = [];
  let size = 0;
  const end: StreamEnd = { error: null };
  for await (const chunk of untilError(chunks, end)) {
    size += chunk.length;
    if (size > maxBytes) {
      sink.reject({ file, line: 1, unit: 'item' }, `YAML input larger than ${maxBytes} bytes; convert it to JSON lines to stream it`);
      return null;
    }
    parts.push(chunk);
  }
  if (end.error) {
    sink.reject({ file, line: 1, unit: 'item' }, `input ended early (${end.error.message})`);
    return end.error;
  }
  const yaml = await import('js-yaml');
  let text = Buffer.concat(parts).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, null, { filename: file }) as unknown[];
  } catch (e) {
    const mark = (e as { mark?: { line: number } }).mark;
    sink.reject({ file, line: mark ? mark.line + 1 : 1, unit: 'line' }, `not YAML (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
  let item = 0;
  for (const d of docs) {
    if (d === null || d === undefined) continue; // empty document between separators
    sink.value(d, { file, line: ++item, unit: 'item' });
  }
  return null;
}
