// Real parsers for the tests of the output formats: GFM (micromark, as GitHub renders it), the SARIF
// 2.1.0 schema (Ajv for draft-04 with formats), and the inverse of `visible`.
import { readFileSync } from 'node:fs';
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

/** Characters no person-facing output may hold raw. */
export const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\ufffe\uffff]/u;

/** UNSAFE, allowing the characters in `keep` (line feed, tab). */
export function unsafeExcept(keep: string): RegExp {
  const allowed = [...keep].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  return new RegExp(`(?![${allowed || '\\u{10ffff}'}])[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\ufffe\\uffff]`, 'u');
}

/** Undoes `visible`: `\\` → `\`, `\xNN` and `\u{N}` → the character. */
export function unvisible(s: string): string {
  return s.replace(/\\(\\|x[0-9a-f]{2}|u\{[0-9a-f]+\})/g, (_m, e: string) => (e === '\\' ? '\\' : String.fromCodePoint(parseInt(e[0] === 'x' ? e.slice(1) : e.slice(2, -1), 16))));
}

export function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#(\d+)|#x([0-9a-f]+));/gi, (m, name: string, dec?: string, hex?: string) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : ({ amp: '&', lt: '<', gt: '>', quot: '"' } as Record<string, string>)[name.toLowerCase()] ?? m,
  );
}

/** GitHub-flavoured Markdown → HTML, as GitHub's renderer (cmark-gfm) does it. */
export function renderGfm(md: string): string {
  return micromark(md, { extensions: [gfm()], htmlExtensions: [gfmHtml()] });
}

let validator: ValidateFunction | null = null;

/** A validator for the OASIS SARIF 2.1.0 schema (test/schemas, vendored). */
export function sarifValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(new URL('../schemas/sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object;
  const ajv = new (Ajv as unknown as typeof import('ajv-draft-04').default)({ allErrors: true, strict: false });
  (addFormats as unknown as (a: unknown) => void)(ajv);
  validator = ajv.compile(schema);
  return validator;
}
