// `audit drift --rbac RBAC FILES…`: granted minus used, per subject, made for CI.
import { RBAC_WRITE_BODIES } from '../normalize/bodies.js';
import { collectSooner } from '../util/v8heap.js';
import type { Command } from 'commander';
import { visible } from '../render/sanitize.js';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { GRANT_USER_HELP, addFilterOptions, partialUseNote, addInputOptions, addJobsOption, addOutOption, addStateOptions, outputOption, runReducer, withOutput, type FilterFlags, type InputOptions, collect } from './common.js';
import { plural } from '../render/format.js';
import { UsageError } from '../util/errors.js';

export const DRIFT_FORMATS = ['table', 'wide', 'json', 'markdown', 'sarif', 'junit'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: (typeof DRIFT_FORMATS)[number];
  rbac: string[];
  subjectKind: string[];
  onlyDrift?: boolean;
  includeSystem?: boolean;
  suggest?: boolean;
  failOn: string[];
  maxUnused?: number;
  out?: string;
}

const KINDS = ['User', 'ServiceAccount', 'Group'];

function percent(v: string): number {
  const n = Number(v.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`--max-unused: ${JSON.stringify(v)} is not a percentage`, 'pass a number from 0 to 100, e.g. --max-unused 40');
  return n;
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('drift')
    .summary('granted minus used, per subject: unused and sensitive grants, scores, CI gates')
    .description(
      'Compare an RBAC export (kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml) with what each subject did in the logs: effective grants (bindings, aggregated ClusterRoles, groups), used and unused rules, sensitive unused grants, requests the export does not allow, dormant subjects, and a least-privilege score.',
    );
  addInputOptions(cmd);
  addJobsOption(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd, GRANT_USER_HELP);
  cmd
    .option('--rbac <file>', 'RBAC export: YAML or JSON, a file or a directory (repeatable; required)', collect, [])
    .option('--subject-kind <kinds>', 'only these subject kinds: User, ServiceAccount, Group (repeatable, comma-separated)', collect, [])
    .option('--only-drift', 'hide subjects with no excess')
    .option('--include-system', 'also judge system components (control plane, nodes, kube-system controllers, system: groups)')
    .option('--suggest', 'add, per drifted subject, the least-privilege replacement rbac-gen would write (from its allowed requests)')
    .option('--fail-on <what>', 'exit 1 when any subject has: sensitive (sensitive excess), red, yellow (or red), any (any unused rule); comma-separated', collect, [])
    .option('--max-unused <pct>', 'exit 1 when any subject leaves more than PCT% of its grants unused', percent)
    .addOption(outputOption(DRIFT_FORMATS, 'table'));
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit drift --rbac rbac.yaml audit.log*
  $ audit drift --rbac rbac/ logs/ --only-drift --suggest -o markdown > drift.md
  $ audit drift --rbac rbac.yaml logs/ --fail-on sensitive,red -o sarif > drift.sarif

Exit codes: 0 no threshold crossed (or none set), 1 a --fail-on/--max-unused threshold crossed, 2 usage or input error.`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Per-subject state up to the memory budget, spilled and merged back: it outlives V8's young
      // generation, and V8's default growth let the heap reach several times what was live (issue 15).
      collectSooner();
      if (opts.rbac.length === 0) throw new UsageError('--rbac is required', 'pass the RBAC export: kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml > rbac.yaml, then --rbac rbac.yaml');
      const { FAIL_ON, gate } = await import('../analyses/drift/gate.js');
      const failOn = opts.failOn.flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
      for (const f of failOn) if (!(FAIL_ON as readonly string[]).includes(f)) throw new UsageError(`--fail-on: ${JSON.stringify(f)} is not a threshold`, `use ${FAIL_ON.join(', ')} (comma-separated)`);
      const kinds = opts.subjectKind.flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean);
      for (const k of kinds) if (!KINDS.includes(k)) throw new UsageError(`--subject-kind: ${JSON.stringify(k)} is not a subject kind`, `use ${KINDS.join(', ')}`);
      const [{ loadRbac }, { Authorizer }, { drift }, view, { writeReport }, { sarifDocument }, { writeJunit }, { TOOL }, { writeJson }, { releaseLists }] = await Promise.all([
        import('../rbac/load.js'),
        import('../rbac/authorizer.js'),
        import('../analyses/drift/index.js'),
        import('../analyses/drift/view.js'),
        import('../render/index.js'),
        import('../render/sarif.js'),
        import('../render/junit.js'),
        import('./index.js'),
        import('../render/stream.js'),
        import('../scale/spilled.js'),
      ]);
      // The destination is checked before anything is read, against the RBAC export and the logs.
      const verdict = await withOutput(io, opts.out, opts.quiet, async (target) => {
        if (target.outputs.length) target.outputs[0]!.checkInputs((await (await import('../rbac/load.js')).expandRbacInputs(opts.rbac, '--rbac')).map((s) => s.path));
        const snap = await loadRbac(opts.rbac);
        const authz = new Authorizer(snap);
        if (!opts.quiet) {
          for (const w of [...snap.warnings, ...authz.missing.map((m) => m.message)]) io.stderr.write(`warning: ${visible(w)}\n`);
          const ignored = Object.entries(snap.ignored).map(([k, n]) => `${n} ${k}`);
          if (ignored.length) io.stderr.write(`note: --rbac: ignored objects that are not RBAC: ${visible(ignored.join(', '))}\n`);
        }
        const subjects = (await import('../filter/index.js')).identityPatterns(opts);
        const options = { includeSystem: !!opts.includeSystem, subjectKinds: kinds, onlyDrift: !!opts.onlyDrift, suggest: !!opts.suggest, maxNames: 50, ...(subjects.length ? { subjects } : {}) };
        const { state, accounting } = await runReducer(io, inputs, { ...opts, ...(subjects.length ? { userMatchesImpersonator: true } : {}), outputs: target.outputs, bodies: RBAC_WRITE_BODIES }, { command: 'drift', options: { ...options, rbac: opts.rbac }, reducer: drift, state: drift.init({ ...options, authz }) });
        const report = drift.finish(state, { input: accounting });
        try {
          const partial = partialUseNote(opts);
          if (partial && !opts.quiet) io.stderr.write(`${partial}\n`);
          // Lines cited from byte ranges (--jobs) are made absolute: the same report whatever --jobs.
          await (await import('../ingest/locate.js')).resolveLines(report);
          const g = { failOn: failOn as ('sensitive' | 'red' | 'yellow' | 'any')[], maxUnused: opts.maxUnused };
          // Every format is written piece by piece (issue 15: a report of a million subjects is
          // longer than a JavaScript string, and its subjects may be read back from disk).
          const { Out } = await import('./out.js');
          const out = new Out(target.io.stdout);
          if (opts.output === 'sarif') {
            const { rules, results } = view.driftSarif(report);
            writeJson(out, sarifDocument(TOOL, rules, results, report.input));
          } else if (opts.output === 'junit') {
            const { inputJunitCase } = await import('../render/accounting.js');
            const first = inputJunitCase(report.input);
            writeJunit(out, 'kaudit drift', function* () {
              yield first;
              yield* view.driftJunit(report, g);
            });
          } else await writeReport(out, opts.output, { report, view: view.driftView }, renderContext(target.io));
          out.flush();
          return gate(report, g);
        } finally {
          releaseLists(report);
        }
      });
      if (verdict.failed) {
        if (!opts.quiet) {
          io.stderr.write(`drift: thresholds crossed by ${plural(verdict.count, 'subject')}:\n`);
          for (const l of verdict.lines.slice(0, 20)) io.stderr.write(`  ${visible(l)}\n`);
        }
        setExit(1);
        return;
      }
      setExit(0);
    });
}
