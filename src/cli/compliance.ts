// `audit compliance FILES… --rbac RBAC.yaml`: a scored, evidence-carrying least-privilege report.
import { RBAC_WRITE_BODIES } from '../normalize/bodies.js';
import { Option, type Command } from 'commander';
import { visible } from '../render/sanitize.js';
import type { IO } from './io.js';
import { useColor } from './io.js';
import { addFilterOptions, addInputOptions, addStateOptions, runReducer, type FilterFlags, type InputOptions, collect } from './common.js';
import { UsageError } from '../util/errors.js';

export const COMPLIANCE_FORMATS = ['html', 'markdown', 'json', 'csv', 'table'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: (typeof COMPLIANCE_FORMATS)[number];
  rbac: string[];
  framework: string;
  period?: string;
  now?: string;
  includeSystem?: boolean;
  out?: string;
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
  addFilterOptions(cmd);
  cmd
    .option('--rbac <file>', 'RBAC export: YAML or JSON, a file or a directory (repeatable; required)', collect, [])
    .option('--framework <list>', 'frameworks to show: soc2,iso27001,pci,nist,cis', 'soc2,iso27001,pci,nist,cis')
    .option('--period <from..to>', 'the period under review, e.g. 2026-03-01..2026-04-01; gaps in log coverage within it are reported')
    .option('--now <time>', 'pin the "generated at" time (RFC 3339) for reproducible reports')
    .option('--include-system', 'also judge system components')
    .option('--out <file>', 'write the report to FILE instead of stdout')
    .addOption(new Option('-o, --output <format>', 'output format').choices(COMPLIANCE_FORMATS as unknown as string[]).default('html'))
    .addHelpText(
      'after',
      `
Examples:
  $ audit compliance logs/ --rbac rbac.yaml --out report.html
  $ audit compliance logs/ --rbac rbac.yaml --framework soc2,cis --period 2026-03-01..2026-04-01 -o markdown
  $ audit compliance logs/ --rbac rbac.yaml --now 2026-04-01T00:00:00Z -o json > evidence.json`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      if (opts.rbac.length === 0) throw new UsageError('--rbac is required', 'pass the RBAC export: kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml > rbac.yaml, then --rbac rbac.yaml');
      const { FRAMEWORKS } = await import('../rules/compliance.js');
      const frameworks = opts.framework.split(',').map((f) => f.trim()).filter(Boolean);
      for (const f of frameworks) if (!(FRAMEWORKS as readonly string[]).includes(f)) throw new UsageError(`--framework: unknown framework ${JSON.stringify(f)}`, `use ${FRAMEWORKS.join(',')}`);
      const { parseTimeArg } = await import('../filter/index.js');
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
      if (out) out.checkInputs((await (await import('../ingest/sources.js')).expandInputs(opts.rbac)).map((s) => s.path));
      const [{ loadRbac, rbacDigest }, { Authorizer }, { compliance }, { renderComplianceHtml }, view, { renderReport }, { csvRow }, { VERSION }, { createHash }, { readFile }] = await Promise.all([
        import('../rbac/load.js'),
        import('../rbac/authorizer.js'),
        import('../analyses/compliance/index.js'),
        import('../analyses/compliance/html.js'),
        import('../analyses/compliance/view.js'),
        import('../render/index.js'),
        import('../render/sanitize.js'),
        import('./index.js'),
        import('node:crypto'),
        import('node:fs/promises'),
      ]);
      const snap = await loadRbac(opts.rbac);
      const authz = new Authorizer(snap);
      if (!opts.quiet) for (const w of [...snap.warnings, ...authz.missing.map((m) => m.message)]) io.stderr.write(`warning: ${visible(w)}\n`);
      const rbacFiles = await Promise.all(snap.files.map(async (p) => ({ path: p, sha256: createHash('sha256').update(await readFile(p)).digest('hex') })));
      const plain = {
        includeSystem: !!opts.includeSystem,
        subjectKinds: [],
        onlyDrift: false,
        suggest: false,
        maxNames: 50,
        frameworks: frameworks as import('../rules/compliance.js').Framework[],
        period,
        generatedAt: new Date(Math.floor(nowMs)).toISOString(),
        version: VERSION,
        rbacFiles,
        rbacDigest: await rbacDigest(snap),
      };
      const { state, accounting: acc } = await runReducer(io, inputs, { ...opts, outputs: out ? [out] : [], bodies: RBAC_WRITE_BODIES }, { command: 'compliance', options: { ...plain, rbac: opts.rbac }, reducer: compliance, state: compliance.init({ ...plain, authz }) }, true);
      const report = compliance.finish(state, { input: acc });
      let text: string;
      if (opts.output === 'html') text = renderComplianceHtml(report);
      else if (opts.output === 'csv') text = csvRow(view.CHECK_CSV_COLUMNS) + view.checkCsvRows(report).map((r) => csvRow(r)).join('');
      else text = await renderReport(opts.output, { report, view: view.complianceView }, { color: useColor(io) });
      if (out) {
        await out.write(text);
        if (!opts.quiet) io.stderr.write(`compliance: ${report.summary.checks.fail} fail, ${report.summary.checks.warn} warn, ${report.summary.checks.pass} pass; written to ${visible(out.path)}\n`);
      } else io.stdout.write(text);
      setExit(0);
    });
}
