// `audit compliance FILES… --rbac RBAC.yaml`: a scored, evidence-carrying least-privilege report.
import { RBAC_WRITE_BODIES } from '../normalize/bodies.js';
import { collectSooner, SPILLED_STATE_GROWING_PERCENT } from '../util/v8heap.js';
import { Option, type Command } from 'commander';
import { visible } from '../render/sanitize.js';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { GRANT_USER_HELP, addFilterOptions, partialUseNote, addInputOptions, addStateOptions, outputOption, runReducer, type FilterFlags, type InputOptions, collect } from './common.js';
import { UsageError } from '../util/errors.js';

export const COMPLIANCE_FORMATS = ['html', 'markdown', 'json', 'csv', 'table', 'wide'] as const;

/** --fail-on: the worst status that still passes CI is the one below the level named. */
export const FAIL_ON_LEVELS = ['fail', 'warn'] as const;

function score(v: string): number {
  const n = Number(v.replace(/%$/, ''));
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`--min-score: ${JSON.stringify(v)} is not a score`, 'pass a number from 0 to 100, e.g. --min-score 60');
  return n;
}

interface Opts extends InputOptions, FilterFlags {
  output: (typeof COMPLIANCE_FORMATS)[number];
  rbac: string[];
  framework: string;
  period?: string;
  now?: string;
  includeSystem?: boolean;
  out?: string;
  failOn?: 'fail' | 'warn';
  minScore?: number;
}


export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('compliance')
    .summary('a scored, evidence-carrying least-privilege report (HTML, Markdown, JSON, CSV)')
    .description(
      'Evaluate least-privilege checks mapped to SOC 2, ISO 27001, PCI DSS, NIST 800-53 and the CIS Kubernetes Benchmark from the logs and the RBAC export, with per-subject scores (as audit drift), sensitive excess, dormant subjects, use of cluster-admin and system:masters, log coverage, input digests and sample auditIDs as evidence. Anyone can re-run it on the same inputs and get the same report.',
    );
  addInputOptions(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd, GRANT_USER_HELP);
  cmd
    .option('--rbac <file>', 'RBAC export: YAML or JSON, a file or a directory (repeatable; required)', collect, [])
    .option('--framework <list>', 'frameworks to show: soc2,iso27001,pci,nist,cis', 'soc2,iso27001,pci,nist,cis')
    .option('--period <from..to>', 'the period under review, e.g. 2026-03-01..2026-04-01; gaps in log coverage within it are reported')
    .option('--now <time>', 'pin the "generated at" time (RFC 3339) for reproducible reports')
    .option('--include-system', 'also judge system components')
    .option('--out <file>', 'write the report to FILE instead of stdout')
    .addOption(new Option('--fail-on <level>', 'exit 1 when a check has this status or a worse one: fail, or warn (warn or fail)').choices(FAIL_ON_LEVELS as unknown as string[]))
    .option('--min-score <n>', 'exit 1 when the average least-privilege score is below N (0–100)', score)
    .addOption(outputOption(COMPLIANCE_FORMATS, 'html'))
    .addHelpText(
      'after',
      `
Examples:
  $ audit compliance logs/ --rbac rbac.yaml --out report.html
  $ audit compliance logs/ --rbac rbac.yaml --framework soc2,cis --period 2026-03-01..2026-04-01 -o markdown
  $ audit compliance logs/ --rbac rbac.yaml --now 2026-04-01T00:00:00Z -o json > evidence.json
  $ audit compliance logs/ --rbac rbac.yaml --period 2026-03-01..2026-04-01 --fail-on fail --min-score 60 --out report.html

Exit codes: 0 no threshold crossed (or none set), 1 a --fail-on/--min-score threshold crossed, 2 usage or input error.`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Per-subject state up to the memory budget, spilled and merged back: it outlives V8's young
      // generation, and V8's default growth let the heap reach several times what was live (issue 15).
      collectSooner(SPILLED_STATE_GROWING_PERCENT);
      if (opts.rbac.length === 0) throw new UsageError('--rbac is required', 'pass the RBAC export: kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml > rbac.yaml, then --rbac rbac.yaml');
      const { FRAMEWORKS } = await import('../rules/compliance.js');
      const { didYouMean } = await import('../util/suggest.js');
      const frameworks = [...new Set(opts.framework.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean))];
      for (const f of frameworks) if (!(FRAMEWORKS as readonly string[]).includes(f)) throw new UsageError(`--framework: unknown framework ${JSON.stringify(f)}${didYouMean(f, FRAMEWORKS)}`, `use ${FRAMEWORKS.join(',')}`);
      const { parseTimeArg, identityPatterns } = await import('../filter/index.js');
      let period: { fromMs: number; toMs: number } | null = null;
      if (opts.period) {
        const parts = opts.period.split('..');
        if (parts.length !== 2) throw new UsageError(`--period: ${JSON.stringify(opts.period)} is not FROM..TO`, 'e.g. --period 2026-03-01..2026-04-01');
        period = { fromMs: parseTimeArg('--period', parts[0]!, io.now()), toMs: parseTimeArg('--period', parts[1]!, io.now()) };
        if (period.toMs <= period.fromMs) throw new UsageError('--period: the end is not after the start', 'give FROM..TO with FROM before TO');
      }
      const nowMs = opts.now ? parseTimeArg('--now', opts.now, io.now()) : io.now();
      // The destination is checked before anything is read, against the RBAC export and the logs.
      const { prepareOutputFile } = await import('./outfile.js');
      // '-' is standard output, as for inputs (it was a file named '-').
      const out = opts.out && opts.out !== '-' && !opts.saveState ? prepareOutputFile('--out', opts.out) : null;
      if (out) out.checkInputs((await (await import('../rbac/load.js')).expandRbacInputs(opts.rbac, '--rbac')).map((s) => s.path));
      const [{ loadRbac, rbacDigest }, { Authorizer }, { compliance }, { writeComplianceHtml }, view, { renderReport }, { VERSION }, { createHash }, { readFile }] = await Promise.all([
        import('../rbac/load.js'),
        import('../rbac/authorizer.js'),
        import('../analyses/compliance/index.js'),
        import('../analyses/compliance/html.js'),
        import('../analyses/compliance/view.js'),
        import('../render/index.js'),
        import('./index.js'),
        import('node:crypto'),
        import('node:fs/promises'),
      ]);
      const snap = await loadRbac(opts.rbac);
      const authz = new Authorizer(snap);
      if (!opts.quiet) for (const w of [...snap.warnings, ...authz.missing.map((m) => m.message)]) io.stderr.write(`warning: ${visible(w)}\n`);
      const rbacFiles = await Promise.all(snap.files.map(async (p) => ({ path: p, sha256: createHash('sha256').update(await readFile(p)).digest('hex') })));
      const subjects = identityPatterns(opts);
      const plain = {
        includeSystem: !!opts.includeSystem,
        subjectKinds: [],
        onlyDrift: false,
        suggest: false,
        maxNames: 50,
        ...(subjects.length ? { subjects } : {}),
        frameworks: frameworks as import('../rules/compliance.js').Framework[],
        period,
        generatedAt: new Date(Math.floor(nowMs)).toISOString(),
        version: VERSION,
        rbacFiles,
        rbacDigest: await rbacDigest(snap),
      };
      const { state, accounting: acc } = await runReducer(io, inputs, { ...opts, ...(subjects.length ? { userMatchesImpersonator: true } : {}), outputs: out ? [out] : [], bodies: RBAC_WRITE_BODIES }, { command: 'compliance', options: { ...plain, rbac: opts.rbac }, reducer: compliance, state: compliance.init({ ...plain, authz }) }, true);
      const report = compliance.finish(state, { input: acc });
      const { Out } = await import('./out.js');
      const { writeJson } = await import('../render/stream.js');
      const { releaseLists } = await import('../scale/spilled.js');
      try {
        const partial = partialUseNote(opts);
        if (partial && !opts.quiet) io.stderr.write(`${partial}\n`);
        // Written piece by piece (issue 15): the lists of a million subjects are read from disk as
        // they are written, and the page or the JSON is never one string.
        const file = out ? out.open() : null;
        const sink = new Out(file ?? io.stdout);
        try {
          if (opts.output === 'html') writeComplianceHtml(sink, report);
          else if (opts.output === 'csv') view.writeCheckCsv(sink, report);
          else if (opts.output === 'json') writeJson(sink, report);
          else sink.write(await renderReport(opts.output, { report, view: view.complianceView }, renderContext(out ? { ...io, stdout: { isTTY: false } as IO['stdout'] } : io)));
          sink.flush();
          await file?.commit();
        } catch (e) {
          file?.abort();
          throw e;
        }
        if (out && !opts.quiet) io.stderr.write(`compliance: ${view.checkCounts(report)}; written to ${visible(out.path)}\n`);
      } finally {
        releaseLists(report);
      }
      // CI gates (like drift's): the worst status at or above --fail-on, an average score below --min-score.
      const crossed: string[] = [];
      if (opts.failOn) {
        const bad = report.checks.filter((c) => c.status === 'fail' || (opts.failOn === 'warn' && c.status === 'warn'));
        if (bad.length) crossed.push(`${bad.map((c) => `${c.id} ${c.status}`).join(', ')} (--fail-on ${opts.failOn})`);
      }
      if (opts.minScore !== undefined) {
        const avg = report.summary.averageScore;
        if (avg === null) crossed.push(`no subject holds grants of its own, so there is no average score to hold to --min-score ${opts.minScore}`);
        else if (avg < opts.minScore) crossed.push(`average score ${avg}% is below --min-score ${opts.minScore}`);
      }
      if (crossed.length) {
        if (!opts.quiet) for (const c of crossed) io.stderr.write(`compliance: threshold crossed: ${visible(c)}\n`);
        setExit(1);
        return;
      }
      setExit(0);
    });
}
