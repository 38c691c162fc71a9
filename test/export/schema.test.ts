// The record schema is versioned: a change to the columns without a new version, a history entry
// and a documented row fails here. The columns must also be exactly the fields of export -o jsonl,
// with the types the normalizer actually produces.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLUMNS, FIELD_TYPES, FILE_COLUMNS, SCHEMA_VERSION, schemaFingerprint, type SqlType } from '../../src/export/schema.js';
import { RECORD_FIELDS } from '../../src/render/records.js';
import { runPipeline } from '../../src/pipeline.js';
import { expandInputs } from '../../src/ingest/sources.js';
import type { AuditRecord } from '../../src/types.js';

const root = join(__dirname, '..', '..');
const history = JSON.parse(readFileSync(join(__dirname, 'schema-history.json'), 'utf8')) as Record<string, string>;
const doc = readFileSync(join(root, 'docs', 'schema.md'), 'utf8');

describe('schema versioning', () => {
  it('the current columns are the ones recorded for the current version (bump SCHEMA_VERSION and append to schema-history.json when they change)', () => {
    expect(history[String(SCHEMA_VERSION)], `no history entry for schema ${SCHEMA_VERSION}`).toBeDefined();
    expect(schemaFingerprint(), `the columns changed: set SCHEMA_VERSION to ${SCHEMA_VERSION + 1}, add "${SCHEMA_VERSION + 1}": "${schemaFingerprint()}" to test/export/schema-history.json, and document the change in docs/schema.md`).toBe(history[String(SCHEMA_VERSION)]);
  });

  it('versions are consecutive and each has its own column set', () => {
    const versions = Object.keys(history).filter((k) => /^\d+$/.test(k)).map(Number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    const prints = versions.map((v) => history[String(v)]);
    expect(new Set(prints).size).toBe(prints.length);
  });

  it('a changed column changes the fingerprint', () => {
    const renamed = COLUMNS.map((c) => (c.name === 'verb' ? { ...c, name: 'verb2' } : c));
    const retyped = COLUMNS.map((c) => (c.name === 'code' ? { ...c, type: 'DOUBLE' as SqlType } : c));
    const added = [...COLUMNS, { name: 'sourceFile', type: 'VARCHAR' as SqlType }];
    const moved = [COLUMNS[1]!, COLUMNS[0]!, ...COLUMNS.slice(2)];
    for (const cols of [renamed, retyped, added, moved]) expect(schemaFingerprint(cols)).not.toBe(schemaFingerprint());
  });
});

describe('columns', () => {
  it('are the fields of export -o jsonl, in the same order, then date', () => {
    expect(COLUMNS.map((c) => c.name)).toEqual([...RECORD_FIELDS, 'date']);
    // Every AuditRecord field is either a column or deliberately left out (null).
    const flat = Object.entries(FIELD_TYPES).filter(([, t]) => t !== null).map(([f]) => f);
    expect(new Set(flat)).toEqual(new Set(RECORD_FIELDS));
  });

  it('partition columns are cluster and date; the files hold the rest', () => {
    expect(COLUMNS.filter((c) => c.partition).map((c) => c.name)).toEqual(['cluster', 'date']);
    expect(FILE_COLUMNS.map((c) => c.name)).toEqual(RECORD_FIELDS.filter((f) => f !== 'cluster'));
  });

  it('every field of a normalized record has a decided column type that matches its values', async () => {
    const records: AuditRecord[] = [];
    const sources = await expandInputs([join(root, 'fixtures/sample'), join(root, 'fixtures/cloud'), join(root, 'fixtures/kubectl')]);
    await runPipeline({ sources, onRecord: (r) => records.push(r) });
    expect(records.length).toBeGreaterThan(1000);
    const check: Record<SqlType, (v: unknown) => boolean> = {
      VARCHAR: (v) => typeof v === 'string',
      'VARCHAR[]': (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
      INTEGER: (v) => Number.isInteger(v) && Math.abs(v as number) < 2 ** 31,
      DOUBLE: (v) => v === null || typeof v === 'number',
      BOOLEAN: (v) => typeof v === 'boolean',
      'TIMESTAMP WITH TIME ZONE': (v) => typeof v === 'string',
      DATE: () => true,
    };
    for (const r of records) {
      for (const k of Object.keys(r)) expect(k in FIELD_TYPES, `record field ${k} has no entry in FIELD_TYPES`).toBe(true);
      for (const c of FILE_COLUMNS) expect(check[c.type](r[c.name as keyof AuditRecord]), `${c.name} = ${JSON.stringify(r[c.name as keyof AuditRecord])} is not ${c.type}`).toBe(true);
    }
  });
});

describe('docs/schema.md', () => {
  const rows = [...doc.matchAll(/^\| `([A-Za-z]+)` \| ([A-Z][A-Z \[\]]+?) \| (.+) \|$/gm)].map((m) => ({ name: m[1]!, type: m[2]!, text: m[3]! }));

  it('documents every column, in order, with its type and a meaning', () => {
    expect(rows.map((r) => [r.name, r.type])).toEqual(COLUMNS.map((c) => [c.name, c.type]));
    for (const r of rows) expect(r.text.length, r.name).toBeGreaterThan(20);
  });

  it('states the current version and has a history line for every version', () => {
    expect(doc).toContain(`**Schema version: ${SCHEMA_VERSION}.**`);
    for (let v = 1; v <= SCHEMA_VERSION; v++) expect(doc).toMatch(new RegExp(`^\\| ${v} \\| .+ \\|$`, 'm'));
  });
});
