// `audit export FILES…`: the normalized records after the filters, streamed.
import type { Command } from 'commander';
import type { IO } from './io.js';
import type { AuditRecord } from '../types.js';
import { addFilterOptions, addInputOptions, addOrderWindowOption, addOutOption, outputOption, reportLate, runInputs, timeOrderOf, withOutput, type FilterFlags, type InputOptions } from './common.js';
import { UsageError } from '../util/errors.js';
import { Out } from './out.js';

export const EXPORT_FORMATS = ['csv', 'jsonl', 'json'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: string;
  fields?: string;
  out?: string;
  orderWindow: string;
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('export')
    .summary('normalized records after the filters, as CSV, JSON lines or JSON')
    .description('Export one normalized record per request (stages collapsed) after the filters, in time order (requestReceivedTimestamp) and streamed. CSV cells that a spreadsheet would run as formulas are neutralised.');
  addInputOptions(cmd);
  addFilterOptions(cmd);
  cmd
    .addOption(outputOption(EXPORT_FORMATS, 'jsonl'))
    .option('--fields <list>', 'comma-separated record fields to keep, in order (default: all)');
  addOrderWindowOption(cmd);
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit export fixtures/sample -o csv > records.csv
  $ audit export audit.log --verb delete --resource namespaces -o json
  $ audit export audit.log --fields time,subject,verb,resource,namespace,name,code -o csv`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      const { RECORD_FIELDS, RECORD_WRITERS } = await import('../render/records.js');
      let fields = RECORD_FIELDS;
      if (opts.fields) {
        const wanted = opts.fields.split(',').map((f) => f.trim()).filter(Boolean);
        const bad = wanted.filter((f) => !(RECORD_FIELDS as readonly string[]).includes(f));
        if (bad.length) throw new UsageError(`--fields: unknown field ${bad.map((b) => JSON.stringify(b)).join(', ')}`, `choose from ${RECORD_FIELDS.join(',')}`);
        fields = wanted as (keyof AuditRecord)[];
      }
      const writer = RECORD_WRITERS[opts.output]!(fields);
      const timeOrder = await timeOrderOf(opts.orderWindow);
      await withOutput(io, opts.out, opts.quiet, async (target) => {
        const out = new Out(target.io.stdout);
        out.write(writer.header());
        await runInputs(io, inputs, { ...opts, outputs: target.outputs }, (r) => out.write(writer.row(r)), [], false, timeOrder);
        out.write(writer.footer());
        out.flush();
      });
      reportLate(io, opts.quiet, opts.orderWindow, timeOrder);
      setExit(0);
    });
}
