// The kubectl corpus (fixtures/kubectl/corpus): a morning of four people typing 107 kubectl
// invocations (kubectl 1.28 and 1.33, two source IPs, two of them over a VPN), recorded with the real
// kubectl against the stub API server, with kubelets, controllers, a helm release and a k9s-like
// browser around them. truth.json holds what each invocation was and the auditIDs of its calls.
//
// The targets of issue 16, measured here and printed as the README's table:
// - at least 95% of the invocations that made calls are folded into exactly one command whose argv
//   is the typed one, modulo what leaves no trace in the API calls (`expectedArgv`: the typed argv
//   with those parts written as the tool writes them, `…`; `why` says what and why);
// - 100% of the calls are assigned to the command of the invocation that made them;
// - no command holds calls of two invocations (two users, or two kubectl processes of one user).
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir } from '../helpers.js';
// @ts-expect-error: plain ESM tool without type declarations
import { buildCorpus } from '../../tools/kubectl-corpus-events.mjs';
// @ts-expect-error: plain ESM tool without type declarations
import { score, table, loadTruth } from '../../tools/kubectl-corpus-score.mjs';
// @ts-expect-error: plain ESM tool without type declarations
import { USERS, INVOCATIONS, shellWords } from '../../tools/record-kubectl-corpus.mjs';

const DIR = 'fixtures/kubectl/corpus';

interface Invocation {
  id: string;
  user: string;
  sourceIP: string;
  line: string;
  auditIDs: string[];
}
interface Truth {
  versions: string[];
  invocations: Invocation[];
  otherTools: { id: string; tool: string; auditIDs: string[] }[];
}
interface Cmd {
  command: string;
  argv: string[];
  type: string;
  auditIDs: string[];
}

const truth = loadTruth() as Truth;

async function fold(files: string[], extra: string[] = []): Promise<Cmd[]> {
  const r = await runCli(['commands', ...files, '-o', 'json', '-q', ...extra]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { commands: Cmd[] }).commands;
}

describe('the kubectl corpus', () => {
  let cmds: Cmd[];
  let s: { withCalls: number; exact: number; callsRight: number; calls: number; spanning: number; misses: { id: string; line: string; expected: string; got: string }[] };
  beforeAll(async () => {
    cmds = await fold([join(DIR, 'audit.jsonl')]);
    s = score(cmds);
    process.stdout.write(`\nkubectl corpus:\n${table(s)}\n${s.misses.map((m) => `miss ${m.id}: ${m.line}\n  expected ${m.expected}\n  got      ${m.got}\n`).join('')}`);
  });

  it('is what the issue asks for: ≥ 60 distinct invocations, 4 users on 2 source IPs, 2 kubectl versions, other clients around them', () => {
    expect(new Set(truth.invocations.map((t) => t.line)).size).toBeGreaterThanOrEqual(60);
    expect(new Set(truth.invocations.map((t) => t.user)).size).toBe(4);
    expect(new Set(truth.invocations.map((t) => t.sourceIP)).size).toBe(2);
    expect(truth.versions).toEqual(['kubectl/v1.33.1', 'kubectl/v1.28.15']);
    expect(truth.otherTools.map((t) => t.tool).sort()).toEqual(['helm', 'helm', 'k9s']);
    const events = readFileSync(join(DIR, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user: { username: string } });
    const background = new Set(events.map((e) => e.user.username).filter((u) => u.startsWith('system:')));
    expect([...background].sort()).toEqual(['system:kube-controller-manager', 'system:kube-scheduler', 'system:node:node-1', 'system:node:node-2', 'system:serviceaccount:kube-system:deployment-controller', 'system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccount:kube-system:replicaset-controller']);
    // Every kind of command the issue lists is in it.
    const lines = truth.invocations.map((t) => t.line).join('\n');
    for (const re of [/get pods -A -o wide/, /-o yaml/, /-o json\b/, /jsonpath/, /-w\b/, /-l app=web/, /--field-selector/, /get pods,services/, /get all/, /describe pod/, /describe node/, /describe deployment/, /apply -f/, /apply --server-side/, /apply -k/, /create -f/, /create deployment/, /create secret generic/, /create secret tls/, /create configmap .*--from-file/, /create role /, /create rolebinding/, /create token/, /delete pod /, /delete pods .*-l/, /delete -f/, /--all/, /--cascade/, /edit /, /patch /, /replace -f/, /scale /, /rollout status/, /rollout restart/, /rollout undo/, /rollout history/, /set image/, /label /, /annotate /, /expose /, /run /, /logs web-0 -n staging$/m, /logs .* -f/, /--previous/, /exec -it/, /exec web-0 -n staging -c app -- ls/, /kubectl cp /, /port-forward/, /attach /, /debug -it/, /auth can-i delete/, /auth can-i --list/, /auth whoami/, /top pods/, /top nodes/, /cordon/, /uncordon/, /drain/, /taint/, /api-resources/, /api-versions/, /kubectl version/, /config view/]) {
      expect(lines, String(re)).toMatch(re);
    }
  });

  it('folds at least 95% of the invocations to the typed command line (modulo what leaves no trace)', () => {
    expect(s.exact / s.withCalls).toBeGreaterThanOrEqual(0.95);
    // What is measured today, so that a regression shows: only api-versions is told apart from api-resources by nothing.
    expect(s.misses.map((m) => m.id)).toEqual(['d02']);
  });

  it('assigns every API call to the command of the invocation that made it', () => {
    expect(s.callsRight).toBe(s.calls);
  });

  it('never folds two invocations (two users, or two kubectl processes of one user) into one command', () => {
    expect(s.spanning).toBe(0);
  });

  it("a discovery 404 (the server has no /openapi/v3) is not the status of a kubectl edit whose get and patch succeeded", async () => {
    const r = await runCli(['commands', join(DIR, 'audit.jsonl'), '-o', 'json', '-q']);
    const edits = (JSON.parse(r.stdout) as { commands: { command: string; status: number }[] }).commands.filter((c) => c.command.startsWith('kubectl edit '));
    expect(edits.length).toBeGreaterThan(0);
    for (const e of edits) expect(e.status, e.command).toBe(200);
  });

  it('makes no command of what made no call (config commands), and gives other tools their own bursts', () => {
    for (const t of truth.invocations.filter((x) => x.auditIDs.length === 0)) expect(t.line).toMatch(/^kubectl config /);
    const byCall = new Map<string, Cmd>();
    for (const c of cmds) for (const id of c.auditIDs) byCall.set(id, c);
    for (const t of truth.otherTools) {
      const folded = new Set(t.auditIDs.map((id) => byCall.get(id)));
      for (const c of folded) expect(c!.type, t.id).toBe('burst');
      if (t.tool === 'helm') expect(folded.size, `${t.id}: one burst`).toBe(1);
    }
  });

  it('every line splits, as a shell splits it, into the argv the JSON gives', () => {
    for (const c of cmds.filter((x) => x.argv.length)) expect(shellWords(c.command), c.command).toEqual(c.argv);
  });

  it('gives the same commands whatever the order of its inputs (the log cut in three, given newest first)', async () => {
    const lines = readFileSync(join(DIR, 'audit.jsonl'), 'utf8').trim().split('\n');
    const dir = tmpDir();
    const third = Math.ceil(lines.length / 3);
    const files = [0, 1, 2].map((k) => {
      const f = join(dir, `part-${k}.jsonl`);
      writeFileSync(f, lines.slice(k * third, (k + 1) * third).join('\n') + '\n');
      return f;
    });
    expect(await fold([files[2]!, files[0]!, files[1]!])).toEqual(cmds);
  });

  it('gives the same commands when the log is written in another order within the reorder window (seeded shuffle)', async () => {
    const lines = readFileSync(join(DIR, 'audit.jsonl'), 'utf8').trim().split('\n');
    // Move each line by up to 200 positions (a few seconds of this log), deterministically; the stages
    // of one request keep their order, as one API server writes them.
    let seed = 16;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const keyed = lines.map((l, i) => ({ l, k: i + rand() * 200, id: (JSON.parse(l) as { auditID: string }).auditID }));
    const byId = new Map<string, typeof keyed>();
    for (const x of keyed) byId.set(x.id, [...(byId.get(x.id) ?? []), x]);
    for (const same of byId.values()) {
      const ks = same.map((x) => x.k).sort((a, b) => a - b);
      same.forEach((x, i) => (x.k = ks[i]!));
    }
    keyed.sort((a, b) => a.k - b.k);
    expect(keyed.map((x) => x.l)).not.toEqual(lines);
    const f = join(tmpDir(), 'shuffled.jsonl');
    writeFileSync(f, keyed.map((x) => x.l).join('\n') + '\n');
    expect(await fold([f])).toEqual(cmds);
  });

  it('audit.jsonl and truth.json are what tools/kubectl-corpus-events.mjs builds from recording.json', () => {
    const recording = JSON.parse(readFileSync(join(DIR, 'recording.json'), 'utf8'));
    const built = buildCorpus(recording, { users: USERS, invocations: INVOCATIONS, shellWords });
    expect(built.events.map((e: unknown) => JSON.stringify(e)).join('\n') + '\n').toBe(readFileSync(join(DIR, 'audit.jsonl'), 'utf8'));
    expect(JSON.stringify(built.truth, null, 1) + '\n').toBe(readFileSync(join(DIR, 'truth.json'), 'utf8'));
  });
});
