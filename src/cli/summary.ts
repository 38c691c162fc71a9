// `audit summary FILES…`
import { NO_BODIES } from '../normalize/bodies.js';
import type { Command } from 'commander';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { addFilterOptions, addInputOptions, addJobsOption, addOutOption, addStateOptions, withOutput, outputOption, intOption, runReducer, type FilterFlags, type InputOptions } from './common.js';

export const SUMMARY_FORMATS = ['table', 'wide', 'json', 'markdown'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: string;
  top: number;
  approx?: boolean;
  out?: string;
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('summary')
    .summary('the first look at a log: window, counts, top subjects/verbs/resources, latency')
    .description('Summarise audit logs: time window, accounting, top subjects, verbs, resources, namespaces, clients, access methods, status classes and latency percentiles by verb.');
  addInputOptions(cmd);
  addJobsOption(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd);
  cmd
    .addOption(outputOption(SUMMARY_FORMATS, 'table'))
    .option('--top <n>', 'entries in each top-N list', intOption('--top'), 10)
    .option('--approx', 'count subjects, resources, paths, namespaces and clients in fixed memory with sketches (no temporary files): top-N counts become ranges that hold the true count, distinct counts HyperLogLog estimates with their standard error');
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit summary fixtures/sample
  $ audit summary audit.log audit.log.1.gz --since 24h -o markdown
  $ audit summary prod=logs/prod staging=logs/staging --top 5 -o json
  $ audit summary huge/ --approx`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      const { summary } = await import('../analyses/summary/index.js');
      const { summaryView } = await import('../analyses/summary/view.js');
      const { renderReport } = await import('../render/index.js');
      const options = { top: opts.top, ...(opts.approx ? { approx: true } : {}) };
      await withOutput(io, opts.out, opts.quiet, async (target) => {
        const { state, accounting } = await runReducer(io, inputs, { ...opts, outputs: target.outputs, bodies: NO_BODIES }, { command: 'summary', options, reducer: summary, state: summary.init(options) });
        const report = summary.finish(state, { input: accounting });
        target.io.stdout.write(await renderReport(opts.output, { report, view: summaryView }, renderContext(target.io)));
      });
      setExit(0);
    });
}
