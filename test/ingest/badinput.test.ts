// Bad input never crashes and never vanishes: every kind of breakage is counted with a reason.
import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpDir, writeFiles, collect, event, expectBalanced, runCli } from '../helpers.js';

const good = (id: string): string => JSON.stringify(event({ auditID: id }));

describe('a fuzz set of broken lines', () => {
  const lines = [
    good('g1'),
    '{"kind":"Event","verb":', // malformed JSON
    'not json at all',
    '{"hello":"world"}', // JSON, not an audit event
    '[1,2,3]', // JSON array on a line: read like a top-level array, each item judged
    JSON.stringify(event({ auditID: 'bad-type', verb: 5 })), // wrong field type
    JSON.stringify(event({ auditID: 'bad-ts', requestReceivedTimestamp: 'tomorrow' })),
    '\u0000\u00ff\u00fe binary', // a NUL run (one rejection), then binary (another)
    good('g2'),
    'x'.repeat(5000), // longer than the limit set below
    '',
    '   ',
    good('g3'),
    JSON.stringify(event({ auditID: 'cut' })).slice(0, 60), // truncated last line, no newline
  ];
  const content = lines.join('\n');

  it('counts each breakage, reports file:line: reason, and keeps going', async () => {
    const dir = writeFiles(tmpDir(), { 'bad.log': content });
    const { records, acc, rejects } = await collect([join(dir, 'bad.log')], { read: { maxLineBytes: 1000 } });
    expect(records.map((r) => r.auditID)).toEqual(['g1', 'g2', 'g3']);
    expect(rejects.map((r) => [r.loc.line, r.reason.split(' (')[0]])).toEqual([
      [2, 'not JSON'],
      [3, 'not JSON'],
      [4, 'not an audit event'],
      [5, 'not an audit event'],
      [5, 'not an audit event'],
      [5, 'not an audit event'],
      [6, 'field verb: expected string, got number'],
      [7, 'field requestReceivedTimestamp: not a timestamp'],
      [8, "NUL bytes"],
      [8, 'not JSON'],
      [10, 'line longer than 1000 bytes'],
      [14, 'not JSON'],
    ]);
    expect(rejects.filter((r) => r.loc.line === 5).map((r) => r.loc.item)).toEqual([1, 2, 3]);
    expect(acc).toMatchObject({ lines: 15, events: 3, rejected: 12, requests: 3 });
    expectBalanced(acc);
  });

  it('skips a huge line spanning many read chunks without buffering it', async () => {
    const dir = writeFiles(tmpDir(), { 'huge.log': good('a') + '\n' + '{"x":"' + 'y'.repeat(3 << 20) + '"}\n' + good('b') + '\n' });
    const { records, rejects } = await collect([join(dir, 'huge.log')], { read: { maxLineBytes: 1 << 20 } });
    expect(records.map((r) => r.auditID)).toEqual(['a', 'b']);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.loc.line).toBe(2);
    expect(rejects[0]!.reason).toMatch(/longer than/);
  });

  it('a truncated gzip keeps what it could read and records the truncation', async () => {
    const body = Array.from({ length: 2000 }, (_, i) => good(`z${i}`)).join('\n') + '\n';
    const gz = gzipSync(body);
    const dir = writeFiles(tmpDir(), { 'cut.log.1.gz': gz.subarray(0, Math.floor(gz.length * 0.6)) });
    const { records, acc, rejects } = await collect([join(dir, 'cut.log.1.gz')]);
    expect(records.length).toBeGreaterThan(100);
    expect(records.length).toBeLessThan(2000);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.reason).toMatch(/ended early|truncated/);
    expectBalanced(acc);
  });

  it('a truncated EventList keeps the complete items and rejects the rest once', async () => {
    const doc = JSON.stringify({ kind: 'EventList', items: [event({ auditID: 'i1' }), event({ auditID: 'i2' }), event({ auditID: 'i3' })] }, null, 2);
    const dir = writeFiles(tmpDir(), { 'cut.json': doc.slice(0, Math.floor(doc.length * 0.8)) });
    const { records, rejects, acc } = await collect([join(dir, 'cut.json')]);
    expect(records.map((r) => r.auditID)).toEqual(['i1', 'i2']);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.reason).toMatch(/^truncated JSON: the document ends inside a value/);
    expect(acc.complete).toBe(false);
    expect(acc.files[0]!.incomplete).toMatch(/truncated/);
    expectBalanced(acc);
  });

  it('a JSON-lines file whose first two lines are junk is still read line by line', async () => {
    const dir = writeFiles(tmpDir(), { 'junk.log': '{"kind":"Event","verb":\nnot json\n{"kind":0}\n' + good('ok') + '\n' });
    const { records, acc } = await collect([join(dir, 'junk.log')]);
    expect(records.map((r) => r.auditID)).toEqual(['ok']);
    expect(acc).toMatchObject({ lines: 4, rejected: 3 });
    expect(acc.files[0]!.format).toBe('jsonl');
  });

  it('a syntax error deep inside a large document loses only the item it is in (reading resumes at the next item)', async () => {
    const items = Array.from({ length: 4000 }, (_, i) => JSON.stringify(event({ auditID: `d${i}`, requestObject: { pad: 'p'.repeat(500) } }), null, 2));
    const doc = '{\n "kind": "EventList",\n "items": [\n' + items.slice(0, 3000).join(',\n') + ',\n {"broken": ]\n' + items.slice(3000).join(',\n') + ']}';
    const dir = writeFiles(tmpDir(), { 'deep.json': doc, 'after.log': good('after') + '\n' });
    const { records, rejects, acc } = await collect([join(dir, 'deep.json'), join(dir, 'after.log')]);
    const fromDoc = records.filter((r) => r.auditID.startsWith('d'));
    expect(fromDoc.map((r) => r.auditID)).toEqual(Array.from({ length: 4000 }, (_, i) => `d${i}`));
    expect(records.at(-1)!.auditID).toBe('after');
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.loc).toMatchObject({ line: 3001, unit: 'item' });
    expect(rejects[0]!.reason).toMatch(/^malformed JSON at line \d+ .*reading resumed at the next value/);
    expect(acc.complete).toBe(true);
    expectBalanced(acc);
  });

  it('a `kind` nested deeper than JSON.stringify can go is a rejection, not an internal error (both parsers)', async () => {
    // JSON.parse reads any depth; the reason quoted the kind with JSON.stringify, which is recursive
    // and threw RangeError (Maximum call stack size exceeded) on 200 000 nested arrays: the whole
    // run stopped with "internal error in normalize". The line is no audit event: counted, kept going.
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const dir = writeFiles(tmpDir(), { 'deep.log': [good('d1'), `{"kind":${deep},"verb":"get","user":{"username":"a"}}`, `{"kind":{"a":${deep}},"user":{}}`, good('d2')].join('\n') + '\n' });
    for (const parser of ['fast', 'reference'] as const) {
      const { records, rejects, acc } = await collect([join(dir, 'deep.log')], { read: { parser } });
      expect(records.map((r) => r.auditID)).toEqual(['d1', 'd2']);
      expect(rejects.map((r) => [r.loc.line, r.reason])).toEqual([
        [2, 'not an audit event (kind array, nested too deep to quote)'],
        [3, 'not an audit event (kind object, nested too deep to quote)'],
      ]);
      expectBalanced(acc);
    }
  });

  it('a long `kind` is named in the reason, not copied (both parsers)', async () => {
    const long = 'K'.repeat(100_000);
    const dir = writeFiles(tmpDir(), { 'long.log': [good('l1'), JSON.stringify({ kind: long, verb: 'get', user: { username: 'a' } }), good('l2')].join('\n') + '\n' });
    for (const parser of ['fast', 'reference'] as const) {
      const { records, rejects, acc } = await collect([join(dir, 'long.log')], { read: { parser } });
      expect(records.map((r) => r.auditID)).toEqual(['l1', 'l2']);
      expect(rejects.map((r) => [r.loc.line, r.reason])).toEqual([[2, `not an audit event (kind "${'K'.repeat(119)}… (100002 characters))`]]);
      expectBalanced(acc);
    }
  });

  it('an empty file is read as nothing, not an error', async () => {
    const dir = writeFiles(tmpDir(), { 'empty.log': '' });
    const { acc } = await collect([join(dir, 'empty.log')]);
    expect(acc).toMatchObject({ lines: 0, events: 0, rejected: 0 });
    expect(acc.files[0]!.format).toBe('empty');
  });

  it('the CLI prints the first five rejects as file:line: reason, then a count', async () => {
    const dir = writeFiles(tmpDir(), { 'bad.log': content });
    const r = await runCli(['summary', '-o', 'json', '--max-line-bytes', '1000', join(dir, 'bad.log')]);
    expect(r.code).toBe(0);
    const shown = r.stderr.split('\n').filter((l) => l.includes('bad.log:'));
    expect(shown).toHaveLength(5);
    expect(shown[0]).toMatch(/bad\.log:2: not JSON/);
    expect(r.stderr).toMatch(/warning: 12 input lines rejected \(first 5 shown\); --strict makes this an error/);
    const rep = JSON.parse(r.stdout);
    expect(rep.input).toMatchObject({ lines: 15, events: 3, rejected: 12, requests: 3, used: 3 });
  });

  it('--strict exits 2 at the first bad line, naming it', async () => {
    const dir = writeFiles(tmpDir(), { 'bad.log': content });
    const r = await runCli(['summary', '--strict', join(dir, 'bad.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.log:2: not JSON/);
    expect(r.stdout).toBe('');
  });

  it('--strict also stops on a truncated document', async () => {
    const dir = writeFiles(tmpDir(), { 'cut.json': '{\n "kind": "EventList",\n "items": [\n' + good('a') + ',\n' });
    const r = await runCli(['summary', '--strict', join(dir, 'cut.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cut\.json: item 2: truncated JSON/);
  });
});
