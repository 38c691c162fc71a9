// `audit anomalies FILES… (--baseline FILE | --train-until TIME)`: first-time and risky access.
import { visible } from '../render/sanitize.js';
import { collectSooner, SPILLED_STATE_GROWING_PERCENT } from '../util/v8heap.js';
import { Option, type Command } from 'commander';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { addFilterOptions, addInputOptions, addOutOption, addStateOptions, outputOption, runReducer, withOutput, type FilterFlags, type InputOptions } from './common.js';
import { addRuleOptions, ruleLoadOptions, type RuleFlags } from './rules.js';
import { UsageError } from '../util/errors.js';
import { plural } from '../render/format.js';

export const ANOMALY_FORMATS = ['table', 'wide', 'json', 'jsonl', 'markdown', 'sarif'] as const;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

interface Opts extends InputOptions, FilterFlags, RuleFlags {
  output: (typeof ANOMALY_FORMATS)[number];
  baseline?: string;
  trainUntil?: string;
  allow?: string;
  minSeverity: string;
  failOn?: string;
  spike: number;
  deniedBurst: string;
  out?: string;
}

function positiveNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a positive number`, `e.g. ${flag} 3`);
    return n;
  };
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('anomalies')
    .summary('first-time or risky access: behaviour against a baseline, plus detection rules (built-in, yours, Sigma)')
    .description(
      'Compare behaviour with a baseline (--baseline FILE, or --train-until TIME to learn from the same logs before TIME) and report first-seen tuples, new namespaces, resources, networks and clients, off-hours activity and volume spikes; and run detection rules with or without a baseline: the built-in rules (audit rules list), your rule files (--rules) and Sigma rules for Kubernetes audit (--sigma).',
    );
  addInputOptions(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd);
  addRuleOptions(cmd);
  cmd
    .option('--baseline <file>', 'a baseline written by audit baseline')
    .option('--train-until <time>', 'learn the baseline from requests before TIME in the same logs; judge the rest (RFC 3339, a date, or a duration before now)')
    .option('--allow <file>', 'YAML allowlist of known-good findings (subject, rule, namespace, resource, verb, severity; globs)')
    .addOption(new Option('--min-severity <s>', 'hide findings below this severity').choices(SEVERITIES as unknown as string[]).default('low'))
    .addOption(new Option('--fail-on <s>', 'exit 1 when a finding of this severity or higher remains').choices(SEVERITIES as unknown as string[]))
    .option('--spike <factor>', 'volume spike: a day with more than FACTOR times the subject’s mean daily requests', positiveNumber('--spike'), 3)
    .option('--denied-burst <n/minutes>', 'the K8S-DENIED-BURST rule: N denials from one subject within M minutes', '10/5')
    .addOption(outputOption(ANOMALY_FORMATS, 'table'));
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit anomalies logs/ --train-until 2026-03-03
  $ audit baseline logs/march/ --out baseline.json && audit anomalies logs/april/ --baseline baseline.json --fail-on high
  $ audit anomalies logs/ --allow known-good.yaml --min-severity medium -o sarif > anomalies.sarif
  $ audit anomalies logs/ --rules my-rules/ --sigma sigma/kubernetes/ --disable-rule K8S-PORT-FORWARD`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Per-subject state up to the memory budget, spilled and merged back: it outlives V8's young
      // generation, and V8's default growth let the heap reach several times what was live (issue 15).
      collectSooner(SPILLED_STATE_GROWING_PERCENT);
      const { anomalies } = await import('../analyses/anomalies/index.js');
      const { loadRuleSet, ruleInfo } = await import('../rules/detections.js');
      const { readBaselineFile } = await import('../analyses/baseline/index.js');
      const { Out } = await import('./out.js');
      const { compileAllow, loadAllow } = await import('../analyses/anomalies/allow.js');
      const view = await import('../analyses/anomalies/view.js');
      const { writeReport } = await import('../render/index.js');
      const { parseTimeArg } = await import('../filter/index.js');
      const { SEVERITY_RANK } = await import('../rules/sensitive.js');
      if (opts.baseline && opts.trainUntil) throw new UsageError('--baseline and --train-until cannot be combined', 'compare with a baseline file, or learn one from the same logs, not both');
      const burst = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(opts.deniedBurst);
      if (!burst || Number(burst[1]) < 1 || Number(burst[1]) > 10_000 || !(Number(burst[2]) > 0)) throw new UsageError(`--denied-burst: ${JSON.stringify(opts.deniedBurst)} is not N/MINUTES`, 'e.g. --denied-burst 10/5 (10 denials within 5 minutes; N from 1 to 10000)');
      // A baseline file is read subject by subject into a spilling state (any size, bounded memory).
      const baseline = opts.baseline ? await readBaselineFile(opts.baseline, '--baseline') : null;
      const allow = opts.allow ? compileAllow(await loadAllow(opts.allow)) : null;
      const ruleLoad = { ...ruleLoadOptions(opts), thresholds: { 'K8S-DENIED-BURST': { count: Number(burst[1]), withinMs: Number(burst[2]) * 60_000 } } };
      const rules = await loadRuleSet(ruleLoad);
      if (!opts.quiet) for (const w of rules.warnings) io.stderr.write(`${visible(w)}\n`);
      const min = SEVERITY_RANK[opts.minSeverity as 'low'];
      const plain = {
        trainUntilMs: opts.trainUntil ? parseTimeArg('--train-until', opts.trainUntil, io.now()) : null,
        spikeFactor: opts.spike,
        spikeMin: 50,
        offHoursMinRequests: 50,
      };
      const init = anomalies.init({
        ...plain,
        baseline,
        rules,
        // --allow and --min-severity apply in finish (this thread's state), before findings are sorted and counted.
        select: (f) => (allow && allow(f) ? 'suppress' : SEVERITY_RANK[f.severity] >= min ? 'keep' : 'drop'),
      });
      const over = await withOutput(io, opts.out, opts.quiet, async (target) => {
        // Detection rules judge requests that never complete: their waiting stages keep their bodies.
        const { state, accounting: acc } = await runReducer(io, inputs, { ...opts, outputs: target.outputs, keepWaitingBodies: true, ...(rules.bodies ? { bodies: rules.bodies } : {}) }, { command: 'anomalies', options: { ...plain, ruleLoad, baseline: opts.baseline ?? null }, reducer: anomalies, state: init });
        const report = anomalies.finish(state, { input: acc });
        const suppressed = report.summary.suppressed;
        // Findings stream (a LazyList past the memory budget): JSON lines and SARIF one at a time.
        const out = new Out(target.io.stdout);
        if (opts.output === 'jsonl') for (const f of report.findings) out.write(JSON.stringify(f) + '\n');
        else if (opts.output === 'sarif') {
          const { sarifDocument } = await import('../render/sarif.js');
          const { writeJson } = await import('../render/stream.js');
          const { TOOL } = await import('./index.js');
          const sarif = view.anomaliesSarif(report, rules.rules.map((r) => ruleInfo(r.doc)));
          writeJson(out, sarifDocument(TOOL, sarif.rules, sarif.results, report.input));
        } else await writeReport(out, opts.output, { report, view: view.anomaliesView }, renderContext(target.io));
        out.flush();
        if (!opts.quiet && report.rules.notEvaluated.length) io.stderr.write(`anomalies: ${view.notEvaluatedLine(report)}: see "Not evaluated" in the report\n`);
        if (!opts.quiet && suppressed) io.stderr.write(`anomalies: ${plural(suppressed, 'finding')} suppressed by --allow\n`);
        if (!opts.failOn) return 0;
        const bar = SEVERITY_RANK[opts.failOn as 'low'];
        const by = report.summary.bySeverity;
        return (Object.keys(by) as (keyof typeof by)[]).filter((sev) => SEVERITY_RANK[sev] >= bar).reduce((n, sev) => n + by[sev], 0);
      });
      if (over > 0) {
        if (!opts.quiet) io.stderr.write(`anomalies: ${plural(over, 'finding')} at ${opts.failOn} or above (--fail-on ${opts.failOn})\n`);
        setExit(1);
        return;
      }
      setExit(0);
    });
}
