// Many distinct subjects (issue 15) at a modest size: baseline and anomalies spill their per-subject
// state past the memory budget and give exactly the bytes of an unbounded run (differential), read
// baseline files member by member, and their views show a capped number of rows with the exact
// count of the rest.
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { event, jsonl, runCli, tmpDir, writeFiles } from '../helpers.js';
import { resetLedger, spillCount } from '../../src/scale/ledger.js';
import { setBudget } from '../../src/scale/budget.js';
import { JsonShapeError, readJsonObject } from '../../src/scale/jsonobject.js';
import { anomaliesView } from '../../src/analyses/anomalies/view.js';
import { VIEW_ROWS } from '../../src/scale/lazy.js';
import { renderViewTable } from '../../src/render/table.js';

afterEach(() => setBudget(null));

const USERS = 600;
/** Day 1: users 0…USERS/2; day 2: every user (half of them new), each with a few requests. */
function log(): string {
  const events = [];
  let i = 0;
  for (const [day, users] of [['2026-03-02', USERS / 2], ['2026-03-03', USERS]] as const) {
    for (let u = 0; u < users; u++) {
      for (let k = 0; k < 2; k++) {
        const t = `${day}T${String(10 + (u % 8)).padStart(2, '0')}:${String(u % 60).padStart(2, '0')}:0${k}.000000Z`;
        events.push(event({ auditID: `id-${i++}`, user: { username: `user-${u}@example.com`, groups: ['system:authenticated'] }, verb: k ? 'list' : 'get', objectRef: { resource: k ? 'secrets' : 'pods', namespace: `ns-${u % 7}`, name: k ? undefined : `p-${u}`, apiVersion: 'v1' }, requestReceivedTimestamp: t, stageTimestamp: t }));
      }
    }
  }
  return jsonl(events);
}

describe('baseline and anomalies with many distinct subjects', () => {
  const dir = writeFiles(tmpDir(), { 'audit.log': log() });
  const file = join(dir, 'audit.log');

  it('baseline: a tiny --memory spills and writes the same file', async () => {
    resetLedger();
    const plain = await runCli(['baseline', file, '-q']);
    expect(plain.code).toBe(0);
    expect(spillCount()).toBe(0);
    const spilled = await runCli(['baseline', file, '-q', '--memory', '4k']);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(Object.keys(JSON.parse(plain.stdout).subjects).length).toBe(USERS);
  });

  it('--save-state never spills (another process reads the state after this one removed its spill files); audit merge spills and equals one pass', async () => {
    const state = join(tmpDir(), 's.json');
    resetLedger();
    const saved = await runCli(['baseline', file, '--shard', '0/1', '--save-state', state, '--memory', '4k']);
    expect(saved.code).toBe(0);
    expect(spillCount()).toBe(0);
    expect(saved.stderr).toContain('--memory does not apply with --save-state');
    const merged = await runCli(['merge', '--command', 'baseline', state, '-q', '--memory', '4k']);
    expect(merged.code).toBe(0);
    expect(spillCount()).toBeGreaterThan(0);
    expect(merged.stdout).toBe((await runCli(['baseline', file, '-q'])).stdout);
  });

  it.each([['-o json', ['-o', 'json']], ['--top 1000 -o json', ['--top', '1000', '-o', 'json']], ['table', []]])('summary %s: a tiny --memory spills its counters and gives the same exact top-N', async (_n, flags) => {
    resetLedger();
    const plain = await runCli(['summary', file, '-q', '--jobs', '1', ...flags]);
    expect(plain.code).toBe(0);
    expect(spillCount()).toBe(0);
    const spilled = await runCli(['summary', file, '-q', '--jobs', '1', '--memory', '4k', ...flags]);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.stdout).toBe(plain.stdout);
    if (flags.includes('--top')) expect(JSON.parse(plain.stdout).top.subjects.length).toBe(USERS);
  });

  it('rbac-gen: stdout written object by object is the one-string JSON; stderr lists 50 sensitive permissions and counts the rest', async () => {
    const json = await runCli(['rbac-gen', file, '-o', 'json']);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout);
    expect(json.stdout).toBe(JSON.stringify(list, null, 2) + '\n');
    const subjects = new Set(list.items.map((o: { subjects?: { name: string }[] }) => o.subjects?.[0]?.name).filter(Boolean));
    expect(subjects.size).toBe(USERS);
    const report = JSON.parse((await runCli(['rbac-gen', file, '-q', '-o', 'report'])).stdout);
    expect(report.sensitive.length).toBeGreaterThan(50);
    const listed = json.stderr.split('\n').filter((l) => /^ {2}KAUDIT-/.test(l));
    expect(listed.length).toBe(50);
    expect(json.stderr).toContain(`sensitive permissions in the output (${report.sensitive.length}; review before applying):`);
    expect(json.stderr).toContain(`… and ${report.sensitive.length - 50} more (-o report lists every one)`);
    const yaml = await runCli(['rbac-gen', file, '-q']);
    // The header comment, then one document per object.
    expect(yaml.stdout.split('\n---\n').length).toBe(list.items.length + 1);
  }, 120_000);

  it('baseline --merge of a file read member by member equals the file (and a spilled merge too)', async () => {
    const out = join(tmpDir(), 'b.json');
    expect((await runCli(['baseline', file, '-q', '--out', out])).code).toBe(0);
    const merged = await runCli(['baseline', '--merge', out, '-q', '--memory', '4k']);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(readFileSync(out, 'utf8'));
  });

  it('readJsonObject: the streaming path gives what JSON.parse gives (members in order, __proto__ kept)', async () => {
    const f = join(tmpDir(), 'o.json');
    // A key named __proto__ at the member level and inside a member (a resource or user named so).
    writeFileSync(f, '{"kind":"k","subjects":{"b":{"x":[1,{"y":null}],"__proto__":{"n":2}},"__proto__":{"z":"\\u00e9"},"a":{}},"version":1}');
    const whole: [string, unknown][] = [];
    const streamed: [string, unknown][] = [];
    const h1 = await readJsonObject(f, 'subjects', (k, v) => whole.push([k, v]));
    const h2 = await readJsonObject(f, 'subjects', (k, v) => streamed.push([k, v]), 0);
    expect(streamed).toEqual(whole);
    expect(streamed.map(([k]) => k)).toEqual(['b', '__proto__', 'a']);
    expect(Object.keys(streamed[0]![1] as object)).toEqual(['x', '__proto__']);
    expect(h2).toEqual(h1);
    writeFileSync(f, '{"kind":"k","subjects":{"a":');
    await expect(readJsonObject(f, 'subjects', () => {}, 0)).rejects.toBeInstanceOf(JsonShapeError);
  });

  it('anomalies --baseline: a tiny --memory spills and gives the same JSON; the table shows the most severe findings and counts the rest', async () => {
    const base = join(tmpDir(), 'base.json');
    expect((await runCli(['baseline', file, '-q', '--until', '2026-03-03', '--out', base])).code).toBe(0);
    const args = ['anomalies', file, '--since', '2026-03-03', '--baseline', base, '-q', '--disable-rule', '*'];
    resetLedger();
    const plain = await runCli([...args, '-o', 'json']);
    expect(plain.code).toBe(0);
    expect(spillCount()).toBe(0);
    const spilled = await runCli([...args, '-o', 'json', '--memory', '4k']);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.stdout).toBe(plain.stdout);
    const report = JSON.parse(plain.stdout);
    const fresh = report.findings.filter((f: { rule: string }) => f.rule === 'new-subject');
    expect(fresh.length).toBe(USERS / 2);
    expect(report.summary.findings).toBe(report.findings.length);
    expect(report.baseline.subjects).toBe(USERS / 2);
    // JSON lines has every finding, one a line, in the same order.
    const lines = (await runCli([...args, '-o', 'jsonl', '--memory', '4k'])).stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(report.findings);
    // The table of a report with more findings than a view shows: the first VIEW_ROWS, the exact rest.
    const copies = Math.ceil((VIEW_ROWS + 1) / report.findings.length);
    const doubled = { ...report, findings: Array.from({ length: copies }, () => report.findings).flat() };
    const section = anomaliesView(doubled).sections.find((x) => x.title === 'Findings')!;
    expect(section.rows.length).toBe(VIEW_ROWS);
    expect(section.omitted).toBe(doubled.findings.length - VIEW_ROWS);
    // One line, with one exact count, under the table (src/render/cap.ts).
    const drawn = renderViewTable({ title: 't', sections: [section] }, { color: false });
    expect(drawn.split(`${doubled.findings.length - VIEW_ROWS} more rows not shown; -o json has them all.`)).toHaveLength(2);
    expect(drawn).not.toContain('more not shown');
  }, 180_000);
});
