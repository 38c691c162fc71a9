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

/** Lines looked at after a first line that is not a JSON value by itself. */
const LINES_CHECKED = 50;

const YAML_START = /^(?:#|---|%YAML|[A-Za-z_"'][^\n]*:)/;

/** True when the string is one JSON value by itself (what a line of JSON lines is). */
function isJsonLine(line: string): boolean {
  const t = line.trim();
  const c = t.charCodeAt(0);
  if (c !== 123 && c !== 91) return false;
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
 * A line of pretty-printed JSON, which is no value by itself: a lone bracket (`{`, `}`, `],`…), a
 * member (`"kind": "Event",`), or an array element followed by its comma (`{"verb":"get"},`).
 */
function isFragment(line: string): boolean {
  const t = line.trim();
  if (/^[[\]{}],?$/.test(t)) return true;
  if (/^"(?:[^"\\]|\\.)*"\s*:/.test(t)) return true;
  return t.endsWith(',') && isJsonLine(t.slice(0, -1));
}

/**
 * Chooses how to read an input from its head. JSON lines unless the head shows a multi-line
 * document: a first line that is a JSON value by itself, or a first line with no newline in the
 * window (a long line, or one line: the line reader streams a wrapper line and salvages
 * concatenated values), is JSON lines. Otherwise the next lines decide: a document when they are
 * mostly pretty-printed fragments (`"kind": "Event",`, `},`), JSON lines when more of them are
 * JSON values by themselves (a malformed first line is then one rejected line), and JSON lines
 * when they show neither.
 * @param head decoded start of the input (BOM already removed), at most DETECT_WINDOW long
 * @param complete true when `head` is the whole input
 */
export function detectFormat(head: string, complete: boolean): InputFormat {
  let i = 0;
  while (i < head.length && (head[i] === ' ' || head[i] === '\n' || head[i] === '\r' || head[i] === '\t')) i++;
  if (i === head.length) return complete ? 'empty' : 'jsonl';
  const c = head[i];
  if (c === '[' || c === '{') {
    const nl = head.indexOf('\n', i);
    if (nl < 0) return 'jsonl';
    if (isJsonLine(head.slice(i, nl))) return 'jsonl';
    let seen = 0;
    let values = 0;
    let fragments = 0;
    let j = nl + 1;
    while (seen < LINES_CHECKED && j < head.length) {
      const end = head.indexOf('\n', j);
      if (end < 0 && !complete) break; // a partial last line proves nothing
      const line = head.slice(j, end < 0 ? head.length : end);
      if (line.trim() !== '') {
        seen++;
        if (isJsonLine(line)) values++;
        else if (isFragment(line)) fragments++;
      }
      if (end < 0) break;
      j = end + 1;
    }
    if (values === 0 && fragments === 0) return 'jsonl';
    return values > fragments ? 'jsonl' : 'document';
  }
  const firstLine = head.slice(i, Math.max(i, head.indexOf('\n', i) < 0 ? head.length : head.indexOf('\n', i)));
  if (CLOUDWATCH_TEXT.test(firstLine)) return 'cloudwatch-text';
  if (CSV_HEADER.test(firstLine.trim())) return 'csv';
  if (YAML_START.test(head.slice(i, i + 4096))) return 'yaml';
  return 'jsonl';
}
