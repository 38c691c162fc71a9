// Audit data is attacker-controlled: whoever talks to the API server writes it. Every output
// medium's escaping lives here, one function per medium, so that each renderer calls exactly one
// of them per value. The rules (README, "Output safety"):
//
// - Shown to a person (terminal tables, Markdown, CSV, HTML, JUnit, stderr): characters that do
//   not display as themselves are written visibly, `\xNN` up to U+00FF and `\u{N}` above, and a
//   backslash as `\\`, so the escaping can be undone and never hides anything. These are the
//   control characters (C0, DEL, C1: ANSI escape sequences, BEL, backspace, CR), U+2028/U+2029,
//   Unicode format characters (bidi controls U+202A–U+202E and U+2066–U+2069, zero-width
//   characters, the BOM, tags), lone surrogates and the noncharacters U+FFFE/U+FFFF.
// - Exact formats (JSON, SARIF, YAML) keep every value exact, using the format's own escapes.
import type { Cell } from '../types.js';
import { maxOf } from '../util/array.js';

/** Characters never shown raw: Cc (C0, DEL, C1), Cf (bidi, zero-width, BOM, tags…), Zl, Zp, lone surrogates, U+FFFE/U+FFFF. */
const UNSAFE_CLASS = '\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\ufffe\\uffff';
const UNSAFE_OR_BACKSLASH = new RegExp(`[\\\\${UNSAFE_CLASS}]`, 'gu');
const HAS_UNSAFE_OR_BACKSLASH = new RegExp(`[\\\\${UNSAFE_CLASS}]`, 'u');
/** The same set without C0 controls, which JSON.stringify already escapes. */
const UNSAFE_BEYOND_C0 = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Cs}\ufffe\uffff]/gu;

/** `\xNN` (up to U+00FF) or `\u{N}`: how a character that does not display as itself is shown. */
export function visibleEscape(c: string): string {
  const cp = c.codePointAt(0)!;
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

/**
 * `"value"` for a message: the value made visible (see {@link visible}) between double quotes,
 * escaped once (JSON.stringify of a visible text escaped its backslashes twice).
 */
export function quoted(s: string): string {
  return `"${visible(s)}"`;
}

/**
 * Text for a person to read: unsafe characters (see the file comment) as `\xNN`/`\u{N}`, a
 * backslash as `\\`. `keep` lists characters to leave raw (a code block keeps its line breaks).
 * Undo with: `\\` → `\`, `\xNN` and `\u{N}` → the code point.
 */
export function visible(s: string, keep = ''): string {
  if (!HAS_UNSAFE_OR_BACKSLASH.test(s)) return s;
  return s.replace(UNSAFE_OR_BACKSLASH, (c) => (c === '\\' ? '\\\\' : keep.includes(c) ? c : visibleEscape(c)));
}

/** @deprecated the old name of {@link visible}. */
export const stripControl = (s: string): string => visible(s);

/**
 * One terminal table cell. Every renderer of terminal tables formats each cell with this function
 * only (width and truncation work on its result): null → `-`, numbers as they are, text visible.
 */
export function tableCell(v: Cell): string {
  if (v === null) return '-';
  return typeof v === 'number' ? String(v) : visible(v);
}

// ---------- Markdown (GitHub-flavoured) ----------

const MD_SYNTAX = /[\\`*_[\]|~$&<>@#]|:\/\/|www\./gi;
const MD_ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const WORD = /[A-Za-z0-9_]/;
const ALNUM = /[A-Za-z0-9]/;

/**
 * Inline Markdown text (a table cell, a heading, a note) that renders as exactly the data: one
 * line, no emphasis, code, links, images, HTML, math, table pipes, autolinked URLs or e-mail
 * addresses, and no @mention or #reference that GitHub would turn into a notification or a link.
 * GitHub finds mentions and references in the rendered text, after Markdown (html-pipeline's
 * MentionFilter and IssueMentionFilter: text nodes, `(?:^|\W)@name`, skipping pre, code and a), so
 * a backslash cannot stop them: their `@` or `#` goes in a code span, which GitHub leaves alone.
 * Everything else is a CommonMark backslash escape (GFM spec §2.4) or an entity.
 */
export function mdText(s: string): string {
  const v = visible(s);
  const out = v.replace(MD_SYNTAX, (m: string, at: number) => {
    const prev = at > 0 ? v[at - 1]! : '';
    const next = v[at + m.length] ?? '';
    if (m === '@') return (prev === '' || !WORD.test(prev)) && ALNUM.test(next) ? '`@`' : '\\@';
    if (m === '#') return /[0-9]/.test(next) || ((prev === '' || !WORD.test(prev)) && ALNUM.test(next)) ? '`#`' : '#';
    if (m === '://') return '\\://';
    if (m.length === 4) return prev !== '' && WORD.test(prev) ? m : `${m.slice(0, 3)}\\.`;
    return MD_ENTITY[m] ?? `\\${m}`;
  });
  // A table cell's leading and trailing spaces would be trimmed: they are kept as references.
  return out.replace(/^ +| +$/g, (sp) => '&#32;'.repeat(sp.length));
}

/** A fenced Markdown code block that shows `text` exactly (line breaks kept, the rest visible). */
export function mdCodeBlock(text: string, lang = ''): string {
  const body = visible(text, '\n').trimEnd();
  const longest = maxOf(body.matchAll(/`+/g), (r) => r[0].length, 0);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${visible(lang).replace(/[`\s]/g, '')}\n${body}\n${fence}`;
}

// ---------- CSV ----------

/**
 * Spreadsheets run a cell as a formula when it starts with = + - @ (or their full-width forms),
 * also after leading spaces or quotes, and treat a leading tab or CR as a formula start too (OWASP,
 * "CSV Injection").
 */
const FORMULA_START = /^(?:[\t\r]|[\s"']*[=+\-@\uff1d\uff0b\uff0d\uff20])/u;

/** The formula pattern's source, for the HTML report's own CSV download (the same rule in the page). */
export const FORMULA_START_SOURCE = FORMULA_START.source;

/**
 * One CSV cell (RFC 4180). Text is made visible like a terminal's except that tab and line feed
 * stay (a quoted cell may hold them), so a CSV printed to a terminal runs no escape sequence; a
 * cell a spreadsheet would run as a formula gets a leading `'`; then quotes as RFC 4180 needs.
 */
export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = visible(v, '\t\n');
  if (FORMULA_START.test(s)) s = `'${s}`;
  // Quoted also when it holds a semicolon or a tab: a spreadsheet in a locale whose list separator
  // is `;` (or that takes tabs) would otherwise split `a;=cmd` into a cell that is a formula.
  if (/[",;\t\n\r]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

/**
 * Writes the bytes of `csvCell(items.join(sep))` piece by piece, never joining the items: a cell
 * that lists every subject a check cites (a million at a million distinct users; issue 15). `sep`
 * must start with `;` (so a cell of two or more items is quoted, and no formula start runs past the
 * first item) and hold nothing visible() changes or CSV doubles.
 */
export function writeCsvListCell(write: (s: string) => void, items: Iterable<string> & { readonly length: number }, sep: string): void {
  if (!sep.startsWith(';') || visible(sep, '\t\n') !== sep || sep.includes('"')) throw new Error(`writeCsvListCell: separator ${JSON.stringify(sep)} is not a ;-separator`);
  if (items.length <= 1) {
    for (const x of items) write(csvCell(x));
    return;
  }
  let first = true;
  for (const x of items) {
    let v = visible(x, '\t\n');
    if (first && FORMULA_START.test(v)) v = `'${v}`;
    write(`${first ? '"' : sep}${v.replace(/"/g, '""')}`);
    first = false;
  }
  write('"');
}

export function csvRow(cells: (string | number | boolean | null | undefined)[]): string {
  return cells.map(csvCell).join(',') + '\n';
}

// ---------- HTML ----------

/** HTML text and attribute values: unsafe characters visible (tab and line feed kept), then & < > " ' as entities. */
export function escapeHtml(s: string): string {
  return visible(s, '\t\n').replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

// ---------- XML (JUnit) ----------

const XML_ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/**
 * XML 1.0 text or attribute value (XML 1.0 §2.2 Characters, §2.11 End-of-Line Handling, §3.3.3
 * Attribute-Value Normalization). Every character is kept, astral ones included, except those
 * that are not shown raw anywhere (control and format characters: visible, as `\xNN`/`\u{N}`,
 * since a CI page would run bidi controls and XML 1.0 cannot carry most C0 characters at all);
 * tab, line feed and CR are kept exactly as character references where a parser would normalise
 * them (CR everywhere, tab and line feed in attributes).
 */
export function xmlEscape(s: string, attribute = true): string {
  return visible(s, '\t\n\r').replace(attribute ? /[&<>"'\t\n\r]/g : /[&<>\r]/g, (c) => XML_ENTITY[c]!);
}

// ---------- JSON and YAML (exact formats) ----------

function jsonUnit(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * JSON text for a terminal: characters JSON.stringify leaves raw but a terminal would act on or
 * hide (DEL, C1, U+2028/U+2029, format characters, lone surrogates) as `\uXXXX`. Outside strings
 * JSON text holds none of them, so this is valid on any JSON text, and it parses to the same
 * values. Other formats never contain them raw, so it changes nothing there.
 */
export function jsonForTerminal(text: string): string {
  return text.replace(UNSAFE_BEYOND_C0, jsonUnit);
}

/** A YAML escape of one character (YAML 1.2 double-quoted: `\uXXXX`, `\UXXXXXXXX`); a lone surrogate, which YAML cannot carry, as U+FFFD. */
function yamlUnit(c: string): string {
  const cp = c.codePointAt(0)!;
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  return cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/**
 * Printable ASCII without `"` and `\\`: JSON.stringify writes such a string as itself in quotes and
 * UNSAFE_BEYOND_C0 (all of it at U+007F or above) finds nothing in it.
 */
const YAML_PLAIN = /^[ !#-[\]-~]*$/;

/** A YAML double-quoted scalar; escapes what JSON leaves raw but YAML treats as breaks or a terminal would act on. */
export function yamlStr(s: string): string {
  // The common case (names, namespaces, verbs, times) without JSON.stringify and the Unicode-class
  // scan: the same bytes (yamlStrReference, a property test compares the two; issue 15: a million
  // subjects' policies are millions of scalars).
  if (YAML_PLAIN.test(s)) return `"${s}"`;
  return yamlStrReference(s);
}

/** yamlStr without its fast path: the definition (exported for the differential test). */
export function yamlStrReference(s: string): string {
  return JSON.stringify(s).replace(UNSAFE_BEYOND_C0, yamlUnit);
}

const HAS_UNSAFE = new RegExp(`[${UNSAFE_CLASS}]`, 'u');

/**
 * Any value as YAML (js-yaml): a string holding a character that is not shown raw is written
 * double-quoted, and the characters js-yaml leaves raw there (bidi and other format characters)
 * are then escaped, so the document parses to exactly the value and displays safely.
 */
export async function renderYaml(value: unknown): Promise<string> {
  return (await yamlDumper())(value);
}

/**
 * The YAML dump renderYaml uses, as a synchronous function once js-yaml is loaded: for writers
 * that dump item by item (src/render/records.ts yamlWriter).
 */
export async function yamlDumper(): Promise<(value: unknown) => string> {
  const yaml = await import('js-yaml');
  const quoteUnsafe = (layout: { node: { value: string }; style: number; allowedStylesMask: number }): void => {
    if (HAS_UNSAFE.test(layout.node.value)) layout.style = yaml.SCALAR_STYLE.DOUBLE_QUOTED;
  };
  const options = {
    noRefs: true,
    lineWidth: -1,
    sortKeys: false,
    scalarStyleRules: [quoteUnsafe as never, ...Object.values(yaml.DEFAULT_SCALAR_STYLE_RULES)],
  } as Parameters<typeof yaml.dump>[1];
  return (value) => yaml.dump(value, options).replace(UNSAFE_BEYOND_C0, yamlUnit);
}
