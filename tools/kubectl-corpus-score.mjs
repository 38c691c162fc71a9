#!/usr/bin/env node
// Scores `audit commands` on the kubectl corpus (fixtures/kubectl/corpus) against its truth and
// prints the table the README shows. `node tools/kubectl-corpus-score.mjs [--misses]`.
//
// - exact: the invocation's calls are exactly one command, whose argv is the typed argv modulo what
//   leaves no trace in the API calls (truth.json `expectedArgv`, with `why`);
// - typed: … and identical to the typed argv itself;
// - calls: each call is in the command whose calls are exactly its invocation's;
// - spanning: commands holding calls of two invocations (two users, or two processes of one user).
import { readFileSync, realpathSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CORPUS = join(root, 'fixtures', 'kubectl', 'corpus');

export function loadTruth() {
  return JSON.parse(readFileSync(join(CORPUS, 'truth.json'), 'utf8'));
}

/** Scores commands (the `commands` array of `audit commands -o json`) against the truth. */
export function score(cmds, truth = loadTruth()) {
  const byCall = new Map();
  for (const c of cmds) for (const id of c.auditIDs) byCall.set(id, c);
  const owner = new Map();
  for (const t of [...truth.invocations, ...truth.otherTools]) for (const id of t.auditIDs) owner.set(id, t.id);
  const s = { invocations: truth.invocations.length, withCalls: 0, exact: 0, typed: 0, calls: 0, callsRight: 0, spanning: 0, misses: [] };
  for (const t of truth.invocations) {
    if (t.auditIDs.length === 0) continue;
    s.withCalls++;
    const ids = new Set(t.auditIDs);
    const same = (c) => !!c && c.auditIDs.length === ids.size && c.auditIDs.every((id) => ids.has(id));
    for (const id of t.auditIDs) {
      s.calls++;
      if (same(byCall.get(id))) s.callsRight++;
    }
    const c = byCall.get(t.auditIDs[0]);
    const folded = same(c);
    if (folded && JSON.stringify(c.argv) === JSON.stringify(t.expectedArgv)) s.exact++;
    else s.misses.push({ id: t.id, line: t.line, expected: t.expected, got: [...new Set(t.auditIDs.map((id) => byCall.get(id)))].map((x) => (x ? `${x.command} (${x.auditIDs.length} of ${ids.size} calls)` : 'nothing')).join(' | ') });
    if (folded && JSON.stringify(c.argv) === JSON.stringify(t.argv)) s.typed++;
  }
  for (const c of cmds) if (new Set(c.auditIDs.map((id) => owner.get(id) ?? 'cluster')).size > 1) s.spanning++;
  return s;
}

const pct = (a, b) => `${((100 * a) / b).toFixed(1)}%`;

/** The README's table. */
export function table(s) {
  return [
    '| kubectl corpus                                                          | measured           | target         |',
    '|-------------------------------------------------------------------------|--------------------|----------------|',
    `| invocations (that made API calls)                                       | ${`${s.invocations} (${s.withCalls})`.padEnd(18)} | ≥ 60 distinct  |`,
    `| one command, the typed line modulo what leaves no trace (written …)     | ${`${s.exact}/${s.withCalls} ${pct(s.exact, s.withCalls)}`.padEnd(18)} | ≥ 95%          |`,
    `| … and identical to the typed line                                       | ${`${s.typed}/${s.withCalls} ${pct(s.typed, s.withCalls)}`.padEnd(18)} |                |`,
    `| API calls assigned to the command that made them                        | ${`${s.callsRight}/${s.calls} ${pct(s.callsRight, s.calls)}`.padEnd(18)} | 100%           |`,
    `| commands spanning two users or two kubectl processes                    | ${String(s.spanning).padEnd(18)} | 0              |`,
  ].join('\n');
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = execFileSync(process.execPath, [join(root, 'bin', 'audit.js'), 'commands', join(CORPUS, 'audit.jsonl'), '-o', 'json', '-q'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = score(JSON.parse(out).commands);
  process.stdout.write(`${table(s)}\n`);
  for (const m of s.misses) process.stdout.write(`miss ${m.id}: ${m.line}\n  expected ${m.expected}\n  got      ${m.got}\n`);
}
