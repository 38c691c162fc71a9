import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpDir, writeFiles, collect, event, jsonl, expectBalanced, runCli } from '../helpers.js';
import { detectFormat } from '../../src/ingest/detect.js';

const three = [event({ auditID: 'e1' }), event({ auditID: 'e2', verb: 'get' }), event({ auditID: 'e3', verb: 'delete' })];

describe('input formats are detected from content, not names', () => {
  const variants: [string, string | Buffer, string][] = [
    ['JSON lines', jsonl(three), 'jsonl'],
    ['JSON lines with CRLF and blank lines', '\r\n' + three.map((e) => JSON.stringify(e)).join('\r\n\r\n') + '\r\n', 'jsonl'],
    ['JSON lines with a UTF-8 BOM', '\uFEFF' + jsonl(three), 'jsonl'],
    ['gzip under a name without .gz', gzipSync(jsonl(three)), 'jsonl'],
    ['EventList, pretty-printed', JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: three }, null, 2), 'eventlist'],
    ['EventList on one line (small)', JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: three }), 'eventlist'],
    ['JSON array', JSON.stringify(three, null, 1), 'json-array'],
    ['pretty-printed events, concatenated', three.map((e) => JSON.stringify(e, null, 2)).join('\n'), 'json'],
    ['pretty-printed event with BOM', '\uFEFF' + JSON.stringify(three[0], null, 2) + '\n' + JSON.stringify(three[1], null, 2) + '\n' + JSON.stringify(three[2], null, 2), 'json'],
    ['gzipped EventList', gzipSync(JSON.stringify({ kind: 'EventList', items: three }, null, 2)), 'eventlist'],
    ['AKS diagnostic records with log as string', JSON.stringify({ records: three.map((e) => ({ category: 'kube-audit', properties: { log: JSON.stringify(e), stream: 'stdout' } })) }, null, 2), 'azure-records'],
    ['YAML, multi-document', three.map((e) => `---\nkind: Event\napiVersion: audit.k8s.io/v1\nauditID: ${e.auditID}\nstage: ResponseComplete\nverb: ${e.verb}\nrequestURI: /api/v1/pods\nuser:\n  username: alice\n`).join(''), 'yaml'],
  ];

  it.each(variants)('%s', async (_name, content, format) => {
    const dir = writeFiles(tmpDir(), { 'input.dat': content });
    const { records, acc, rejects } = await collect([join(dir, 'input.dat')]);
    expect(rejects).toEqual([]);
    expect(records.map((r) => r.auditID)).toEqual(['e1', 'e2', 'e3']);
    expect(acc.files[0]!.format).toBe(format);
    expectBalanced(acc);
  });

  it('keeps reading a JSON-lines file whose first line is malformed', async () => {
    const dir = writeFiles(tmpDir(), { 'a.log': '{"kind":"Event", broken\n' + jsonl(three) });
    const { records, acc, rejects } = await collect([join(dir, 'a.log')]);
    expect(records).toHaveLength(3);
    expect(rejects.map((r) => r.loc.line)).toEqual([1]);
    expect(acc.files[0]!.format).toBe('jsonl');
  });

  it('streams a large EventList element by element (items > detection window)', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => event({ auditID: `id-${i}`, requestObject: { pad: 'x'.repeat(400) } }));
    const dir = writeFiles(tmpDir(), { 'big.json': JSON.stringify({ kind: 'EventList', items: many }) });
    const { records, acc } = await collect([join(dir, 'big.json')]);
    expect(records).toHaveLength(3000);
    expect(records[2999]!.auditID).toBe('id-2999');
    expect(acc.files[0]!.format).toBe('eventlist');
  });
});

describe('detectFormat', () => {
  it.each([
    ['', true, 'empty'],
    ['   \n  ', true, 'empty'],
    ['[{"a":1}]', true, 'jsonl'],
    ['[\n{"a":1}\n]\n', true, 'document'],
    ['{"verb":"get"}\n{"verb":"list"}\n', false, 'jsonl'],
    ['{\n  "kind": "EventList",\n  "items": [', false, 'document'],
    ['{"items":[' + 'x'.repeat(100), false, 'jsonl'],
    ['# comment\nkind: Event\n', true, 'yaml'],
    ['kind: Event\nverb: get\n', true, 'yaml'],
    ['garbage that is not json\n', true, 'jsonl'],
    ['{"kind":"Event", broken\nnot json\n{"verb":"get"}\n', true, 'jsonl'],
    ['{"kind":"EventList","items":[\n{"verb":"get"},\n{"verb":"list"}\n]}\n', true, 'document'],
    ['{\n  "verb": "get"\n}\n', true, 'document'],
  ] as const)('%j (complete=%s) → %s', (head, complete, want) => {
    expect(detectFormat(head, complete)).toBe(want);
  });
});

describe('inputs', () => {
  it('walks directories recursively in name order and skips dotfiles', async () => {
    const dir = writeFiles(tmpDir(), {
      'b/2.log': jsonl([event({ auditID: 'b2' })]),
      'a.log': jsonl([event({ auditID: 'a' })]),
      'b/1.log.gz': gzipSync(jsonl([event({ auditID: 'b1' })])),
      '.hidden': 'not read',
    });
    const { records, acc } = await collect([dir]);
    expect(records.map((r) => r.auditID)).toEqual(['a', 'b1', 'b2']);
    expect(acc.files.map((f) => f.gzip)).toEqual([false, true, false]);
  });

  it('expands quoted globs', async () => {
    const dir = writeFiles(tmpDir(), { 'x1.log': jsonl([event({ auditID: '1' })]), 'x2.log': jsonl([event({ auditID: '2' })]), 'y.log': jsonl([event({ auditID: 'y' })]) });
    const { records } = await collect([join(dir, 'x*.log')]);
    expect(records.map((r) => r.auditID)).toEqual(['1', '2']);
  });

  it('labels inputs with NAME=PATH and keeps stage collapsing per cluster', async () => {
    const dir = writeFiles(tmpDir(), { 'p.log': jsonl([event({ auditID: 'same' })]), 's.log': jsonl([event({ auditID: 'same' })]) });
    const { records, acc } = await collect([`prod=${join(dir, 'p.log')}`, `staging=${join(dir, 's.log')}`]);
    expect(records.map((r) => r.cluster)).toEqual(['prod', 'staging']);
    expect(acc.duplicates).toBe(0);
  });

  it('reads stdin with -', async () => {
    const r = await runCli(['summary', '-o', 'json', '-'], { stdin: gzipSync(jsonl(three)) });
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.input.requests).toBe(3);
    expect(rep.input.files[0]).toMatchObject({ path: '-', gzip: true, format: 'jsonl' });
  });

  it('reads stdin when no input is given and stdin is not a terminal', async () => {
    const r = await runCli(['summary', '-o', 'json'], { stdin: jsonl(three) });
    expect(JSON.parse(r.stdout).input.requests).toBe(3);
  });
});
