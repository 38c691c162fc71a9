// The escaping rules of every output medium (src/render/sanitize.ts, README "Output safety"),
// checked value by value over the hostile strings, each output read back with a real parser:
// micromark with GFM (Markdown, as GitHub renders it), csv-parse, saxes (a conformant XML parser),
// js-yaml, JSON.parse.
import { describe, it, expect } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { SaxesParser } from 'saxes';
import * as yaml from 'js-yaml';
import fc from 'fast-check';
import { csvCell, csvRow, writeCsvListCell, escapeHtml, jsonForTerminal, mdCodeBlock, mdText, renderYaml, tableCell, visible, xmlEscape, yamlStr } from '../../src/render/sanitize.js';
import { HOSTILE, HOSTILE_VALUES } from '../hostile.js';
import { decodeEntities, renderGfm, UNSAFE, unsafeExcept, unvisible } from './formats.js';

const ALL = [...HOSTILE_VALUES, 'plain', '', 'a\\x1b literal', 'lone \ud800 surrogate', 'tab\there'];

describe('visible: what a person sees', () => {
  it.each([
    ['\u001b[2J', '\\x1b[2J'],
    ['a\u202eb', 'a\\u{202e}b'],
    ['\u2066x\u2069', '\\u{2066}x\\u{2069}'],
    ['zw\u200b', 'zw\\u{200b}'],
    ['\u009b', '\\x9b'],
    ['\u007f', '\\x7f'],
    ['tag\u{E0041}', 'tag\\u{e0041}'],
    ['\ud800', '\\u{d800}'],
    ['ls\u2028', 'ls\\u{2028}'],
    ['back\\slash', 'back\\\\slash'],
    ['emoji😀𝒳', 'emoji😀𝒳'],
    ['é日本', 'é日本'],
  ])('%j → %j', (input, shown) => {
    expect(visible(input)).toBe(shown);
  });

  it.each(ALL.map((v) => [v]))('%j: nothing unsafe is left, and it can be undone', (v) => {
    expect(visible(v)).not.toMatch(UNSAFE);
    expect(unvisible(visible(v))).toBe(v);
  });

  it('a table cell is the visible text; null is -', () => {
    expect(tableCell(null)).toBe('-');
    expect(tableCell(12.5)).toBe('12.5');
    expect(tableCell(HOSTILE.control)).toBe(visible(HOSTILE.control));
  });
});

describe('Markdown: data renders as exactly itself, inert', () => {
  it.each(ALL.map((v) => [v]))('%j in a table cell', (v) => {
    const html = renderGfm(`| h |\n|---|\n| ${mdText(v)} |\n`);
    // One header row and one data row of one cell: the table shape held.
    expect(html.match(/<tr>/g)).toHaveLength(2);
    expect(html.match(/<td>/g) ?? []).toHaveLength(1);
    // No link, image, HTML, emphasis, strike-through or math came alive.
    expect(html).not.toMatch(/<(a|img|script|em|strong|del|span)\b/);
    const td = /<td>([\s\S]*)<\/td>/.exec(html)![1]!;
    // Code spans are only the single @ or # that keep GitHub from mentioning or referencing.
    expect(td.match(/<code>[^<]*<\/code>/g)?.every((c) => c === '<code>@</code>' || c === '<code>#</code>') ?? true).toBe(true);
    const text = decodeEntities(td.replace(/<\/?code>/g, ''));
    expect(text).toBe(visible(v));
    // GitHub finds mentions and references in the text outside code.
    const outside = decodeEntities(td.replace(/<code>[^<]*<\/code>/g, '\u0000'));
    expect(outside).not.toMatch(/(^|[^A-Za-z0-9_])@[A-Za-z0-9]/);
    expect(outside).not.toMatch(/#[0-9]/);
  });

  it('a code block shows its text exactly, whatever backticks it holds', () => {
    const text = 'a: "```"\nb: ````x\n' + HOSTILE.control;
    const html = renderGfm(mdCodeBlock(text, 'yaml'));
    expect(decodeEntities(/<code[^>]*>([\s\S]*)<\/code>/.exec(html)![1]!)).toBe(`${visible(text, '\n')}\n`);
  });
});

describe('CSV: a spreadsheet gets text, never a formula; a terminal gets no escape sequence', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['  =1+1', "'  =1+1"],
    ['"=1+1"', `"'""=1+1"""`],
    ["'@SUM(A1)", "''@SUM(A1)"],
    ['\t-2', `"'\t-2"`],
    // A locale whose list separator is ';' must not split this into a formula cell: quoted.
    ['a;=cmd', '"a;=cmd"'],
    ['a\t=cmd', '"a\t=cmd"'],
    ['+cmd', "'+cmd"],
    ['-2', "'-2"],
    ['\uff1d1', "'\uff1d1"],
    ['\r=1', '\\x0d=1'],
    ['a,b', '"a,b"'],
    ['multi\nline', '"multi\nline"'],
    ['plain', 'plain'],
  ])('%j → %j', (v, cell) => {
    expect(csvCell(v)).toBe(cell);
  });

  it('writeCsvListCell writes the bytes of csvCell(items.join("; ")), piece by piece (property; hostile items included)', () => {
    const item = fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_VALUES.filter((x): x is string => typeof x === 'string'), '', ' ', '=1', ' "@x', '\t', '\r=1', 'a"b', 'a;b'));
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), (items) => {
        const pieces: string[] = [];
        writeCsvListCell((x) => void pieces.push(x), items, '; ');
        expect(pieces.join('')).toBe(csvCell(items.join('; ')));
      }),
      { numRuns: 2000 },
    );
    const many = Array.from({ length: 10_000 }, (_, i) => `User u-${i}`);
    const pieces: string[] = [];
    writeCsvListCell((x) => void pieces.push(x), many, '; ');
    expect(pieces.join('')).toBe(csvCell(many.join('; ')));
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(40);
    expect(() => writeCsvListCell(() => {}, many, ', ')).toThrow(/separator/);
  });

  it.each(ALL.map((v) => [v]))('%j parses back as one cell that shows it', (v) => {
    const text = csvRow([v, 'next']);
    expect(text).not.toMatch(unsafeExcept('\n\t'));
    const rows = parseCsv(text, { relax_quotes: false }) as string[][];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveLength(2);
    const cell = rows[0]![0]!;
    const shown = visible(v, '\t\n');
    expect(cell === shown || cell === `'${shown}`).toBe(true);
    if (/^[\s"']*[=+\-@]/.test(shown) || shown.startsWith('\t')) expect(cell.startsWith("'")).toBe(true);
    expect(unvisible(cell.startsWith("'") && cell !== shown ? cell.slice(1) : cell)).toBe(v);
  });
});

describe('XML (JUnit): what an XML parser reads back', () => {
  function parseXml(xml: string): { attr: string; text: string } {
    const p = new SaxesParser();
    let attr = '';
    let text = '';
    let inside = false;
    p.on('opentag', (t) => {
      if (t.name === 'r') attr = t.attributes.a as string;
      inside = true;
    });
    p.on('text', (t) => {
      if (inside) text += t;
    });
    p.write(xml).close();
    return { attr, text };
  }

  it.each(ALL.map((v) => [v]))('%j as an attribute and as text', (v) => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<r a="${xmlEscape(v)}">${xmlEscape(v, false)}</r>`;
    const back = parseXml(xml);
    // Tab, LF and CR survive attribute normalisation and end-of-line handling exactly; astral
    // characters are kept; what XML cannot carry or a CI page would act on is shown visibly.
    expect(back.attr).toBe(visible(v, '\t\n\r'));
    expect(back.text).toBe(visible(v, '\t\n\r'));
  });

  it('keeps astral characters and CR/TAB exactly', () => {
    expect(parseXml(`<r a="${xmlEscape('😀\t\r\n𝒳')}">${xmlEscape('😀\r\n', false)}</r>`)).toEqual({ attr: '😀\t\r\n𝒳', text: '😀\r\n' });
  });
});

describe('HTML', () => {
  it.each(ALL.map((v) => [v]))('%j is inert and visible', (v) => {
    const h = escapeHtml(v);
    expect(h).not.toMatch(/[<>"']/);
    expect(h).not.toMatch(unsafeExcept('\n\t'));
    expect(decodeEntities(h.replace(/&#39;/g, "'"))).toBe(visible(v, '\t\n'));
  });
});

describe('exact formats: JSON on a terminal, YAML', () => {
  it.each(ALL.map((v) => [v]))('%j: JSON for a terminal parses to the same value and holds nothing unsafe', (v) => {
    const text = jsonForTerminal(JSON.stringify({ v }));
    expect(text).not.toMatch(UNSAFE);
    expect(JSON.parse(text)).toEqual({ v });
  });

  it.each(ALL.filter((v) => !/[\ud800-\udfff]/.test(v.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))).map((v) => [v]))('%j: YAML scalars and documents load back exactly', async (v) => {
    expect(yaml.load(yamlStr(v))).toBe(v);
    const doc = await renderYaml({ [v || 'empty']: v, list: [v, { k: v }] });
    expect(doc).not.toMatch(unsafeExcept('\n'));
    expect(yaml.load(doc)).toEqual({ [v || 'empty']: v, list: [v, { k: v }] });
  });
});
