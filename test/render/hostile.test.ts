// The hostile fixture (test/hostile.ts) through every command and every output format. Per format:
// the escaping rules of README "Output safety", and the output read back by a real parser (JSON,
// csv-parse, GFM via micromark, js-yaml, saxes for XML, the SARIF 2.1.0 schema). Each run is made
// twice: into a pipe (exact bytes) and into a terminal (nothing a terminal would act on).
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { SaxesParser } from 'saxes';
import * as yaml from 'js-yaml';
import { runCli, tmpDir } from '../helpers.js';
import { HOSTILE, HOSTILE_USERS, writeHostileFixture } from '../hostile.js';
import { renderGfm, sarifValidator, unsafeExcept } from './formats.js';
import { visible } from '../../src/render/sanitize.js';

type Kind = 'table' | 'markdown' | 'csv' | 'json' | 'jsonl' | 'yaml' | 'rbac-yaml' | 'sarif' | 'junit' | 'html';

const dir = tmpDir();
const { log, rbac } = writeHostileFixture(dir);

/** What each format may hold raw besides printable text (a terminal-safe output holds no other control or format character). */
const KEEP: Record<Kind, string> = { table: '\n', markdown: '\n', csv: '\n\t', json: '\n', jsonl: '\n', yaml: '\n', 'rbac-yaml': '\n', sarif: '\n', junit: '\n\t', html: '\n\t' };

const RUNS: [string, string[], Kind][] = [];
const add = (name: string, args: string[], kinds: [string, Kind][]): void => {
  for (const [format, kind] of kinds) RUNS.push([`${name} -o ${format}`, [...args, '-o', format], kind]);
};
const REPORT: [string, Kind][] = [
  ['table', 'table'],
  ['json', 'json'],
  ['markdown', 'markdown'],
];
const LISTING: [string, Kind][] = [...REPORT, ['jsonl', 'jsonl'], ['csv', 'csv'], ['yaml', 'yaml']];
add('summary', ['summary', log, '--top', '50'], REPORT);
add('investigate', ['investigate', log], LISTING);
add('investigate --group-by', ['investigate', log, '--group-by', 'user,namespace,ua'], LISTING);
add('investigate --timeline', ['investigate', log, '--timeline', 'hour'], LISTING);
add('commands', ['commands', log], [...REPORT, ['csv', 'csv']]);
add('commands --view api-calls', ['commands', log, '--view', 'api-calls'], [...REPORT, ['csv', 'csv']]);
RUNS.push(['baseline', ['baseline', log], 'json']);
add('anomalies', ['anomalies', log], [...REPORT, ['jsonl', 'jsonl'], ['sarif', 'sarif']]);
add('rbac-gen', ['rbac-gen', log], [['yaml', 'rbac-yaml'], ['json', 'json'], ['report', 'json']]);
add('rbac-gen --explain', ['rbac-gen', log, '--explain'], [['yaml', 'rbac-yaml']]);
add('drift', ['drift', '--rbac', rbac, log, '--suggest'], [...REPORT, ['sarif', 'sarif'], ['junit', 'junit']]);
add('compliance', ['compliance', '--rbac', rbac, log, '--now', '2026-03-03T00:00:00Z'], [...REPORT, ['html', 'html'], ['csv', 'csv']]);
add('export', ['export', log], [['csv', 'csv'], ['jsonl', 'jsonl'], ['json', 'json']]);
// The view page's markup holds no audit data (test/view/view.browser.test.ts checks the page); its report is exact JSON.
add('view', ['view', log], [['json', 'json']]);

/** Every string in a parsed value. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(k), strings(x, out);
  return out;
}

const FORMULA = /^[\s"']*[=+\-@\uff1d\uff0b\uff0d\uff20]/u;

/** `content`: the output names subjects (not a timeline of counts), so the hostile values must be in it. */
function checkParsed(kind: Kind, text: string, content: boolean): void {
  switch (kind) {
    case 'json': {
      const all = strings(JSON.parse(text));
      // Exact format: the hostile values are there exactly, bidi controls and all.
      if (content) expect(all.some((s) => s.includes(HOSTILE.bidi) || s.includes(HOSTILE.markdown))).toBe(true);
      break;
    }
    case 'jsonl':
      for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
      break;
    case 'sarif': {
      const doc = JSON.parse(text);
      const validate = sarifValidator();
      expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      break;
    }
    case 'csv': {
      const rows = parseCsv(text) as string[][];
      expect(rows.length).toBeGreaterThan(1);
      for (const r of rows) {
        expect(r).toHaveLength(rows[0]!.length);
        for (const cell of r) if (FORMULA.test(cell) && !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(cell)) expect(cell, cell).toMatch(/^'/);
      }
      break;
    }
    case 'markdown': {
      // kaudit's own notes are italic paragraphs: their wrapper is the only emphasis allowed.
      const html = renderGfm(text).replace(/<p><em>((?:[^<]|<code>[@#]<\/code>)*)<\/em><\/p>/g, '<p>$1</p>');
      expect(html).not.toMatch(/<(a|img|script|em|strong|del)\b/);
      for (const code of html.match(/<code>[^<]*<\/code>/g) ?? []) expect(['<code>@</code>', '<code>#</code>']).toContain(code);
      // GitHub leaves code blocks and code spans alone; mentions are looked for in the rest.
      const outside = html.replace(/<pre>[\s\S]*?<\/pre>/g, '').replace(/<code>[^<]*<\/code>/g, '\u0000').replace(/<[^>]+>/g, ' ');
      expect(outside).not.toMatch(/(^|[^A-Za-z0-9_&])@[A-Za-z0-9]/);
      expect(outside).not.toMatch(/#[0-9]/);
      // Table shape: every row of every table has as many cells as its header.
      for (const table of html.match(/<table>[\s\S]*?<\/table>/g) ?? []) {
        const rows = table.match(/<tr>[\s\S]*?<\/tr>/g)!;
        const width = (rows[0]!.match(/<th\b/g) ?? []).length;
        for (const row of rows.slice(1)) expect((row.match(/<td\b/g) ?? []).length).toBe(width);
      }
      break;
    }
    case 'yaml': {
      const all = strings(yaml.load(text));
      if (content) expect(all.some((s) => s.includes(HOSTILE.bidi) || s.includes(HOSTILE.control))).toBe(true);
      break;
    }
    case 'rbac-yaml': {
      const docs = yaml.loadAll(text) as { kind: string; subjects?: { name: string }[] }[];
      const subjects = docs.flatMap((d) => d?.subjects?.map((s) => s.name) ?? []);
      // Names are exact in the YAML (only object names are reduced to DNS labels).
      for (const u of [HOSTILE.control, HOSTILE.bidi, HOSTILE.formula]) expect(subjects).toContain(u);
      break;
    }
    case 'junit': {
      const names: string[] = [];
      const p = new SaxesParser();
      p.on('opentag', (t) => {
        if (t.name === 'testcase') names.push(t.attributes.name as string);
      });
      p.write(text).close();
      expect(names).toContain(visible(HOSTILE.formulaQuoted, '\t\n\r'));
      expect(names).toContain(`dormant-${HOSTILE.astral}`);
      break;
    }
    case 'html':
      expect(text).not.toMatch(/<img\b|<a b=/);
      break;
    case 'table':
      if (content) expect(text).toContain(visible(HOSTILE.bidi));
      break;
  }
}

describe('the hostile fixture through every command and format', () => {
  it.each(RUNS)('%s', async (_name, args, kind) => {
    const pipe = await runCli([...args, '-q']);
    expect(pipe.stderr).toBe('');
    expect(pipe.code).toBe(0);
    // Shown to a person: nothing a terminal, a browser or a CI page would act on or hide.
    if (!['json', 'jsonl', 'sarif'].includes(kind)) expect(pipe.stdout).not.toMatch(unsafeExcept(KEEP[kind]));
    checkParsed(kind, pipe.stdout, !args.includes('--timeline'));
    // On a terminal every format is terminal-safe, and JSON still parses to the same values.
    const tty = await runCli([...args, '-q'], { tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stdout).not.toMatch(unsafeExcept(KEEP[kind]));
    if (kind === 'json' || kind === 'sarif') expect(JSON.parse(tty.stdout)).toEqual(JSON.parse(pipe.stdout));
    else if (kind === 'jsonl') expect(tty.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))).toEqual(pipe.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    else expect(tty.stdout).toBe(pipe.stdout);
  });

  it('JSON into a pipe is exact: the bytes JSON.stringify gives, bidi controls included', async () => {
    const r = await runCli(['export', log, '-o', 'jsonl', '--fields', 'subject', '-q']);
    const subjects = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).subject as string);
    for (const u of HOSTILE_USERS) expect(subjects).toContain(u);
    expect(r.stdout).toContain(JSON.stringify({ subject: HOSTILE.bidi }));
    const tty = await runCli(['export', log, '-o', 'jsonl', '--fields', 'subject', '-q'], { tty: true });
    expect(tty.stdout).toContain('{"subject":"adm\\u202eni\\u202c\\u202a\\u202b\\u202d\\u2066\\u2067\\u2068\\u2069n"}');
  });

  it('hostile rule metadata (a user rule file, a downloaded Sigma rule) is escaped like audit data; SARIF stays valid', async () => {
    const t = `${HOSTILE.control} ${HOSTILE.bidi} ${HOSTILE.markdown}`;
    const rdir = tmpDir();
    writeFileSync(join(rdir, 'h.yaml'), JSON.stringify({ rules: [{ id: 'HOSTILE-1', title: t, description: t, severity: 'high', technique: ['T1609'], tags: [t], references: [t, 'javascript:alert(1)', 'https://example.com/ok'], falsePositives: [t], remediation: t, reason: `${t} {userAgent}`, match: { field: 'verb', equals: 'get' } }] }));
    writeFileSync(join(rdir, 's.yml'), JSON.stringify({ title: t, id: 'aaaaaaaa-2222-4333-8444-555555555555', author: t, description: t, references: [t], logsource: { product: 'kubernetes', service: 'audit' }, detection: { s: { verb: 'get' }, condition: 's' } }));
    const args = ['anomalies', log, '--rules', join(rdir, 'h.yaml'), '--sigma', join(rdir, 's.yml'), '--only-rules', 'HOSTILE-1,aaaaaaaa-*', '-q'];
    for (const [format, keep] of [['table', '\n'], ['markdown', '\n']] as const) {
      const r = await runCli([...args, '-o', format], { tty: true });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('HOSTILE-1');
      expect(r.stdout).not.toMatch(unsafeExcept(keep));
    }
    const sarif = await runCli([...args, '-o', 'sarif']);
    const doc = JSON.parse(sarif.stdout);
    const validate = sarifValidator();
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const rules = doc.runs[0].tool.driver.rules.filter((x: { id: string }) => x.id === 'HOSTILE-1' || x.id.startsWith('aaaaaaaa'));
    expect(rules).toHaveLength(2);
    // What viewers show as text (names, descriptions, help, messages) holds nothing a terminal or a page would act on.
    for (const x of rules) expect(JSON.stringify([x.name, x.shortDescription, x.fullDescription, x.help])).not.toMatch(/\\u001b|\u202e/);
    expect(rules.find((x: { id: string }) => x.id === 'HOSTILE-1').helpUri).toBe('https://example.com/ok');
    expect(rules.find((x: { id: string }) => x.id !== 'HOSTILE-1').helpUri).toBeUndefined();
    for (const res of doc.runs[0].results) expect(JSON.stringify([res.message, res.locations])).not.toMatch(/\\u001b|\u202e/);
  });

  it('warnings about rule files (a refused Sigma rule) and refused arguments on stderr are visible too', async () => {
    const rdir = tmpDir();
    writeFileSync(join(rdir, 'ok.yml'), JSON.stringify({ title: 'ok', id: 'bbbbbbbb-2222-4333-8444-555555555555', logsource: { product: 'kubernetes', service: 'audit' }, detection: { s: { verb: 'get' }, condition: 's' } }));
    // One usable rule and one refused, in one file: the refusal is a warning.
    const refused = JSON.stringify({ title: HOSTILE.control, logsource: { product: 'kubernetes', service: 'audit' }, detection: { s: { 'verb|base64': 'x' }, condition: 's' } });
    writeFileSync(join(rdir, 'bad.yml'), `${JSON.stringify({ title: 'ok2', id: 'cccccccc-2222-4333-8444-555555555555', logsource: { product: 'kubernetes', service: 'audit' }, detection: { s: { verb: 'list' }, condition: 's' } })}\n---\n${refused}\n`);
    for (const args of [
      ['anomalies', log, '--sigma', rdir, '-o', 'json'],
      ['rules', 'list', '--sigma', rdir],
      ['rules', 'test', join(rdir, 'bad.yml')],
    ]) {
      const r = await runCli(args);
      expect(r.stderr).toContain(visible(HOSTILE.control));
      expect(r.stderr).not.toMatch(unsafeExcept('\n'));
    }
    const bad = await runCli(['summary', log, '-o', HOSTILE.control]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(visible(HOSTILE.control));
    expect(bad.stderr).not.toMatch(unsafeExcept('\n'));
  });

  it('warnings and gate lines on stderr are visible too', async () => {
    const r = await runCli(['drift', '--rbac', rbac, log, '--fail-on', 'any']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(visible(HOSTILE.control));
    expect(r.stderr).not.toMatch(unsafeExcept('\n'));
  });

  it('rbac-gen --out-dir writes one DNS-safe file per subject inside the folder, each valid YAML', async () => {
    const out = join(tmpDir(), 'policies');
    const r = await runCli(['rbac-gen', log, '--out-dir', out]);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    expect(files.length).toBe(HOSTILE_USERS.length + 1);
    for (const f of files) {
      expect(f).toMatch(/\.yaml$/);
      // Generated names are DNS-1123 subdomains (src/rbac/names.ts): lowercase, no separator, no `..`.
      expect(f.slice(0, -5)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
      expect(f.length).toBeLessThanOrEqual(245);
      expect(() => yaml.loadAll(readFileSync(join(out, f), 'utf8'))).not.toThrow();
    }
    expect(r.stderr).not.toMatch(unsafeExcept('\n'));
  });
});
