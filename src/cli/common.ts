// Options every command shares (inputs, filters, output) and the one way to run the pipeline.
import { Option, type Command } from 'commander';
import type { AuditRecord, InputAccounting, Reducer } from '../types.js';
import type { IO } from './io.js';
import { UsageError } from '../util/errors.js';
import type { FilterOptions } from '../filter/index.js';
import type { PipelineOptions } from '../pipeline.js';
import { FORMAT_CHOICES, type FormatChoice } from '../ingest/detect.js';

export interface InputOptions {
  cluster: string[];
  format?: string;
  prefilter?: boolean;
  strict?: boolean;
  maxLineBytes?: number;
  quiet?: boolean;
  progress?: boolean;
  jobs?: number;
}

export interface FilterFlags {
  user: string[];
  group: string[];
  verb: string[];
  resource: string[];
  namespace: string[];
  name: string[];
  since?: string;
  until?: string;
  status: string[];
  denied?: boolean;
}

/** Commander collector for repeatable options. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a positive whole number`, `pass a number such as ${flag} 10`);
    return n;
  };
}

export const intOption = positiveInt;

function jobsOption(v: string): number {
  if (v === 'auto') return 0;
  return positiveInt('--jobs')(v);
}

/** --jobs auto: one worker per core, at most 8. */
export async function resolveJobs(v: number | string | undefined): Promise<number> {
  if (typeof v === 'number' && v > 0) return v;
  const { availableParallelism } = await import('node:os');
  return Math.max(1, Math.min(8, availableParallelism()));
}

export function addInputOptions(cmd: Command): Command {
  return cmd
    .argument('[inputs...]', 'audit logs: files, directories, globs, NAME=PATH (label with a cluster), or - for stdin')
    .option('--cluster <name>', 'label records of unlabelled inputs with NAME and keep only the named clusters; NAME=PATH adds PATH labelled NAME (repeatable)', collect, [])
    .option('--strict', 'exit 2 at the first malformed or non-audit line instead of counting it')
    .option('--max-line-bytes <n>', 'reject lines longer than this (default 64 MiB)', positiveInt('--max-line-bytes'))
    .addOption(new Option('--format <format>', 'input format, instead of detecting it per input: jsonl, json (EventList, arrays, wrappers), yaml, csv (Logs Insights, Log Analytics), cloudwatch-text (aws logs tail)').choices(FORMAT_CHOICES).default('auto'))
    .option('--no-prefilter', 'parse every line, even those a cheap text check shows cannot match the filters (full accounting of rejected lines)')
    .option('-q, --quiet', 'no progress bar, no accounting line and no warnings on stderr')
    .option('--no-progress', 'never show the progress bar');
}

/** Commands whose reducer runs in worker threads (see src/parallel). */
export function addJobsOption(cmd: Command): Command {
  return cmd.option('-j, --jobs <n>', "worker threads for inputs of 128 MB or more: a number, or 'auto' (one per core, at most 8); 1 reads in this thread", jobsOption, 'auto' as unknown as number);
}

export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--user <name>', 'effective user: exact name or glob, e.g. alice or system:serviceaccount:ci:* (repeatable, comma-separated)', collect, [])
    .option('--group <name>', 'a group of the user, exact or glob (repeatable)', collect, [])
    .option('--verb <verb>', 'get, list, watch, create, update, patch, delete, deletecollection… (repeatable, comma-separated)', collect, [])
    .option('--resource <resource>', 'pods (with subresources), pods/log, deployments.apps (repeatable, comma-separated)', collect, [])
    .option('-n, --namespace <ns>', 'namespace (repeatable, comma-separated)', collect, [])
    .option('--name <name>', 'object name, exact or glob (repeatable)', collect, [])
    .option('--since <time>', 'from this time: RFC 3339, a date, or a duration before now (24h, 7d)')
    .option('--until <time>', 'before this time: RFC 3339, a date, or a duration before now')
    .option('--status <code>', 'HTTP status code or class: 403, 4xx (repeatable, comma-separated)', collect, [])
    .option('--denied', 'only requests the authorizer denied');
}

export function outputOption(formats: readonly string[], dflt: string): Option {
  return new Option('-o, --output <format>', 'output format').choices(formats as string[]).default(dflt);
}

export interface RunInputs {
  inputs: string[];
  opts: InputOptions & FilterFlags;
}

/** Destinations to check against the inputs before any is read (src/cli/outfile.ts). */
export interface OutputCheck {
  checkInputs(paths: readonly string[]): void;
}

/** What a command passes besides its flags: rbac-gen's impersonator rule, and its output destinations. */
export interface RunExtras {
  userMatchesImpersonator?: boolean;
  outputs?: OutputCheck[];
}

export interface PipelineRun {
  accounting: InputAccounting;
}

/** A reducer that may run in worker threads: its name in the parallel registry and its options as plain data. */
export interface ParallelJob<S> {
  command: string;
  options: unknown;
  reducer: Reducer<S, unknown, any>;
  state: S;
}

/**
 * Resolves inputs and filters, then streams every record to `onRecord`. Prints the first rejects
 * and a progress bar on stderr. Throws UsageError/InputError/StrictError (exit 2).
 */
export async function runInputs(
  io: IO,
  inputs: string[],
  opts: InputOptions & FilterFlags & RunExtras,
  onRecord: (r: AuditRecord) => void,
  /** More filter sets, all of which must match too (investigate's extra flags and presets). */
  more: FilterOptions[] = [],
  /** Hash each input (compliance evidence). */
  hash = false,
  /** Records in time order across the inputs (see PipelineOptions.timeOrder); its stats are filled in. */
  timeOrder?: PipelineOptions['timeOrder'],
): Promise<InputAccounting> {
  return (await run(io, inputs, opts, onRecord, more, hash, null, timeOrder)).accounting;
}

/**
 * Runs a reducer over the inputs: in worker threads when --jobs allows and the inputs are large
 * enough to pay for them (the merged state is the one a single pass gives), else in this thread.
 */
export async function runReducer<S>(io: IO, inputs: string[], opts: InputOptions & FilterFlags & RunExtras, job: ParallelJob<S>): Promise<{ state: S; accounting: InputAccounting }> {
  const r = await run(io, inputs, opts, (rec) => job.reducer.add(job.state, rec), [], false, job);
  return { state: r.state ?? job.state, accounting: r.accounting };
}

async function run<S>(
  io: IO,
  inputs: string[],
  opts: InputOptions & FilterFlags & RunExtras,
  onRecord: (r: AuditRecord) => void,
  more: FilterOptions[],
  hash: boolean,
  job: ParallelJob<S> | null,
  timeOrder?: PipelineOptions['timeOrder'],
): Promise<{ accounting: InputAccounting; state?: S }> {
  const [{ expandInputs }, { compileFilterSets }, { runPipeline }, { makeProgress }, { RejectReporter }, { visible }] = await Promise.all([
    import('../ingest/sources.js'),
    import('../filter/sets.js'),
    import('../pipeline.js'),
    import('./progress.js'),
    import('./report.js'),
    import('../render/sanitize.js'),
  ]);
  const pairs = opts.cluster.filter((c) => c.includes('='));
  const names = opts.cluster.filter((c) => !c.includes('='));
  let args = [...inputs, ...pairs];
  if (args.length === 0) {
    if (io.stdin.isTTY) throw new UsageError('no input given', 'pass audit log files, directories or globs, or pipe a log into stdin (or pass -)');
    args = ['-'];
  }
  const now = io.now();
  const { outputs: _outputs, ...flags } = opts;
  const filterSets: FilterOptions[] = [{ ...flags, cluster: names }, ...more];
  const { filter, prefilter } = compileFilterSets(filterSets, now, opts.prefilter !== false);
  const { markDuplicateInputs } = await import('../ingest/duplicates.js');
  const sources = await markDuplicateInputs(await expandInputs(args, names[0] ?? ''));
  if (sources.length === 0) throw new UsageError('the inputs hold no files', 'pass files, or directories that contain audit logs');
  for (const o of opts.outputs ?? []) o.checkInputs(sources.map((s) => s.path));
  if (!opts.quiet) {
    for (const s of sources) if (s.duplicateOf !== undefined) io.stderr.write(`note: ${visible(s.path)} has the same content as ${visible(s.duplicateOf)}; read once, this copy skipped\n`);
  }
  const total = sources.reduce((n, s) => n + s.size, 0);
  const progress = makeProgress(io, !opts.quiet && opts.progress !== false, total);
  const reporter = new RejectReporter(io, opts.quiet ? 0 : undefined);
  const read = {
    ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
    ...(opts.format ? { format: opts.format as FormatChoice } : {}),
  };
  try {
    if (job && !hash && !timeOrder && !sources.some((s) => s.path === '-')) {
      const jobs = await resolveJobs(opts.jobs);
      const { minRange } = await import('../parallel/plan.js');
      if (jobs > 1 && total >= 2 * minRange()) {
        const { runParallel, workerOldMb } = await import('../parallel/run.js');
        const filterData = filterSets.map((f) => JSON.parse(JSON.stringify(f)) as FilterOptions);
        const r = await runParallel<S>({
          state: job.state,
          sources,
          jobs,
          spec: { command: job.command, options: job.options, filters: filterData, now, prefilter: opts.prefilter !== false, strict: !!opts.strict, read },
          filter,
          onReject: reporter.reject,
          onProgress: (b, e) => progress.update(b, e),
        });
        if (r === 'out-of-memory') {
          if (!opts.quiet) io.stderr.write(`note: a worker thread ran out of memory (more than ${workerOldMb()} MB); reading again in one thread (--jobs 1 skips this)\n`);
        } else if (r === 'repeats') {
          if (!opts.quiet) io.stderr.write('note: the same requests appear in more than one part of the inputs; reading again in one thread so that they are collapsed exactly as --jobs 1 does (--jobs 1 skips this)\n');
        } else if (r === 'auditid-reuse') {
          if (!opts.quiet) io.stderr.write('note: an Audit-ID is reused across parts of the inputs; reading again in one thread so that it is reported exactly as --jobs 1 does (--jobs 1 skips this)\n');
        } else if (r === 'window') {
          if (!opts.quiet) io.stderr.write('note: more requests wait for their completion across parts of the inputs than one pass holds; reading again in one thread so that they are collapsed exactly as --jobs 1 does (--jobs 1 skips this)\n');
        } else if (r) {
          reporter.count = r.acc.rejected;
          if (!opts.quiet) reporter.notes(r.acc);
          return { accounting: r.acc, state: r.state };
        }
      }
    }
    const accounting = await runPipeline({
      sources,
      filter,
      strict: opts.strict,
      onRecord,
      ...(timeOrder ? { timeOrder } : {}),
      onReject: reporter.reject,
      onProgress: (b, e) => progress.update(b, e),
      read: {
        ...read,
        ...(io.stdin !== process.stdin ? { stdin: io.stdin } : {}),
        ...(hash ? { hash: true } : {}),
        ...(prefilter ? { prefilter } : {}),
      },
    });
    if (!opts.quiet) reporter.notes(accounting);
    return { accounting };
  } finally {
    progress.done();
    if (!opts.quiet) reporter.finish();
  }
}
