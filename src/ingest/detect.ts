// Per-input format detection from the first bytes of the (decompressed) content.

export type InputFormat = 'jsonl' | 'document' | 'yaml' | 'empty';

/** How much of an input is looked at before choosing its format. */
export const DETECT_WINDOW = 1 << 20;

const YAML_START = /^(?:#|---|%YAML|[A-Za-z_"'][^\n]*:)/;

/** True when the string is one JSON object by itself. */
function isJsonObjectLine(line: string): boolean {
  const t = line.trim();
  if (!t.startsWith('{')) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chooses how to read an input from its head.
 * @param head decoded start of the input (BOM already removed), at most DETECT_WINDOW long
 * @param complete true when `head` is the whole input
 */
export function detectFormat(head: string, complete: boolean): InputFormat {
  let i = 0;
  while (i < head.length && (head[i] === ' ' || head[i] === '\n' || head[i] === '\r' || head[i] === '\t')) i++;
  if (i === head.length) return complete ? 'empty' : 'jsonl';
  const c = head[i];
  if (c === '[') return 'document';
  if (c === '{') {
    const nl = head.indexOf('\n', i);
    if (nl < 0) return complete ? 'jsonl' : 'document'; // one huge line: stream it as a document
    if (isJsonObjectLine(head.slice(i, nl))) return 'jsonl';
    // A malformed first line of a JSON-lines file should not turn the file into a document:
    // if the next non-blank line is an object by itself, this is JSON lines.
    let j = nl + 1;
    for (;;) {
      const end = head.indexOf('\n', j);
      const line = head.slice(j, end < 0 ? head.length : end);
      if (line.trim() !== '') return isJsonObjectLine(line) ? 'jsonl' : 'document';
      if (end < 0) return 'document';
      j = end + 1;
    }
  }
  if (YAML_START.test(head.slice(i, i + 4096))) return 'yaml';
  return 'jsonl';
}
