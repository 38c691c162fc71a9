// Per-input format detection from the first bytes of the (decompressed) content.

export type InputFormat = 'jsonl' | 'document' | 'yaml' | 'csv' | 'cloudwatch-text' | 'empty';

/** What `--format` accepts: `auto` (detect) or one of the readers. */
export const FORMAT_CHOICES = ['auto', 'jsonl', 'json', 'yaml', 'csv', 'cloudwatch-text'] as const;
export type FormatChoice = (typeof FORMAT_CHOICES)[number];

/** CSV header columns that mark an audit export: CloudWatch Logs Insights, Azure Log Analytics. */
const CSV_HEADER = /(^|,)"?(@message|@timestamp|AuditId|RequestUri|log_s|Verb)"?(,|$)/;
/** `aws logs tail` (detailed format): `<timestamp> <log stream> <message>`. */
const CLOUDWATCH_TEXT = /^\d{4}-\d{2}-\d{2}T[^ ]+ [^ {]+ \{/;

/** How much of an input is looked at before choosing its format. */
export const DETECT_WINDOW = 1 << 20;

/** Lines looked at after a malformed first line. */
const LINES_CHECKED = 50;

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

/** The format of an input from its first bytes (up to DETECT_WINDOW), a UTF-8 byte-order mark ignored. */
export function detectHead(head: Buffer, complete: boolean): InputFormat {
  let text = head.toString('utf8', 0, Math.min(head.length, DETECT_WINDOW));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return detectFormat(text, complete);
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
    const first = head.slice(i, nl).trimEnd();
    if (isJsonObjectLine(first)) return 'jsonl';
    // A first line that opens a structure starts a multi-line document.
    if (/[[{]$/.test(first)) return 'document';
    // A malformed first line of a JSON-lines file should not turn the file into a document: if any
    // of the next lines is an object by itself, this is JSON lines. A pretty-printed document's
    // lines ("kind": "Event",) never are.
    let j = nl + 1;
    for (let seen = 0; seen < LINES_CHECKED && j < head.length; ) {
      const end = head.indexOf('\n', j);
      if (end < 0 && !complete) break; // a partial last line proves nothing
      const line = head.slice(j, end < 0 ? head.length : end);
      if (line.trim() !== '') {
        if (isJsonObjectLine(line)) return 'jsonl';
        seen++;
      }
      if (end < 0) break;
      j = end + 1;
    }
    return 'document';
  }
  const firstLine = head.slice(i, Math.max(i, head.indexOf('\n', i) < 0 ? head.length : head.indexOf('\n', i)));
  if (CLOUDWATCH_TEXT.test(firstLine)) return 'cloudwatch-text';
  if (CSV_HEADER.test(firstLine.trim())) return 'csv';
  if (YAML_START.test(head.slice(i, i + 4096))) return 'yaml';
  return 'jsonl';
}
