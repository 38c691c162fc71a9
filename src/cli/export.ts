// `audit export FILES…`: the normalized records after the filters, streamed.
import { NO_BODIES } from '../normalize/bodies.js';
import type { IO } from './io.js';
import type { AuditRecord } from '../types.js';
import { Option, type Command } from 'commander';
import { addFilterOptions, addInputOptions, addOrderWindowOption, intOption, outputOption, reportLate, runInputs, timeOrderOf, withOutput, type FilterFlags, type InputOptions } from './common.js';
import { UsageError } from '../util/errors.js';
import { collectSooner } from '../util/v8heap.js';
import { Out } from './out.js';

export const EXPORT_FORMATS = ['csv', 'jsonl', 'json', 'parquet'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: string;
  fields?: string;
  out?: string;
  compression: string;
  targetFileSize: string;
  rowGroupSize: number;
  overwrite?: boolean;
  append?: boolean;
  orderWindow: string;
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('export')
    .summary('normalized records after the filters, as CSV, JSON lines, JSON or Parquet')
    .description(
      'Export one normalized record per request (stages collapsed) after the filters, in time order (requestReceivedTimestamp) and streamed. CSV cells that a spreadsheet would run as formulas are neutralised. Parquet (-o parquet --out DIR) is a Hive-partitioned dataset (DIR/cluster=NAME/date=YYYY-MM-DD/part-N.parquet) with the versioned schema of docs/schema.md, for DuckDB, Athena/Trino, BigQuery and Spark; it needs the optional DuckDB engine.',
    );
  addInputOptions(cmd);
  addFilterOptions(cmd);
  cmd
    .addOption(outputOption(EXPORT_FORMATS, 'jsonl'))
    .option('--fields <list>', 'comma-separated record fields to keep, in order (default: all; not with parquet)')
    .option('--out <path>', 'write to FILE instead of standard output (checked before reading; written to a temporary file and renamed); with -o parquet, the dataset directory (required)')
    .addOption(new Option('--compression <codec>', 'parquet: compression codec').choices(['zstd', 'snappy', 'gzip', 'uncompressed']).default('zstd'))
    .option('--target-file-size <size>', 'parquet: start a new file in a partition after about this size', '256MB')
    .option('--row-group-size <rows>', 'parquet: rows per row group', intOption('--row-group-size'), 122880)
    .option('--overwrite', 'parquet: replace the dataset already in --out')
    .option('--append', 'parquet: add files to the dataset already in --out (new file names)');
  addOrderWindowOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit export fixtures/sample -o csv --out records.csv
  $ audit export audit.log --verb delete --resource namespaces -o json
  $ audit export audit.log --fields time,subject,verb,resource,namespace,name,code -o csv
  $ audit export logs/ -o parquet --out dataset/            # then: audit sql "SELECT …" dataset/`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Records wait in the time-order window (30 minutes of log by default) long enough to outlive
      // V8's young generation: with its default heap growth a 1M-event log peaked at 0.45–0.48 GB,
      // with collectSooner (src/util/v8heap.ts) at 0.26 GB, for about 15% more CPU time.
      collectSooner();
      if (opts.output === 'parquet') return exportParquet(io, inputs, opts, setExit);
      for (const f of ['overwrite', 'append'] as const) if (opts[f] !== undefined) throw new UsageError(`--${f} is for -o parquet`, `add -o parquet, or drop --${f}`);
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
        await runInputs(io, inputs, { ...opts, outputs: target.outputs, bodies: NO_BODIES }, (r) => out.write(writer.row(r)), [], false, timeOrder);
        out.write(writer.footer());
        out.flush();
      });
      reportLate(io, opts.quiet, opts.orderWindow, timeOrder);
      setExit(0);
    });
}

/** `-o parquet`: stage the records, then write the dataset with DuckDB (loaded only here). */
async function exportParquet(io: IO, inputs: string[], opts: Opts, setExit: (code: number) => void): Promise<void> {
  if (!opts.out) throw new UsageError('-o parquet needs --out DIR', 'pass the dataset directory: audit export logs/ -o parquet --out dataset/');
  // '-' is standard output everywhere else: a dataset is a directory, never a stream.
  if (opts.out === '-') throw new UsageError('-o parquet writes a directory, not standard output (--out -)', 'pass the dataset directory: audit export logs/ -o parquet --out dataset/');
  if (opts.fields) throw new UsageError('--fields does not apply to -o parquet', 'Parquet keeps every column (readers only read the columns a query uses); drop --fields');
  if (opts.overwrite && opts.append) throw new UsageError('--overwrite and --append cannot be combined', 'replace the dataset, or add to it, not both');
  const { parseBytes } = await import('../util/size.js');
  const { ParquetWriter } = await import('../export/parquet.js');
  const { loadDuckDB } = await import('../export/duckdb.js');
  const { VERSION } = await import('./index.js');
  const targetFileBytes = parseBytes('--target-file-size', opts.targetFileSize);
  // Fail before reading gigabytes when the engine is missing.
  await loadDuckDB('audit export -o parquet');
  const writer = new ParquetWriter({
    outDir: opts.out,
    compression: opts.compression as 'zstd',
    targetFileBytes,
    rowGroupRows: opts.rowGroupSize,
    existing: opts.overwrite ? 'overwrite' : opts.append ? 'append' : 'error',
    toolVersion: VERSION,
  });
  try {
    // The accounting line is printed by the runner when reading ends (src/cli/common.ts).
    await runInputs(io, inputs, opts, (r) => writer.add(r));
  } catch (e) {
    writer.abort();
    throw e;
  }
  const res = await writer.finish();
  if (!opts.quiet) {
    io.stderr.write(`parquet: ${res.rows} rows in ${res.files.length} file${res.files.length === 1 ? '' : 's'} (${res.partitions} partition${res.partitions === 1 ? '' : 's'}, ${(res.bytes / 1e6).toFixed(1)} MB) under ${opts.out}\n`);
  }
  setExit(0);
}
