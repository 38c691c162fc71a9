// Options every command shares (inputs, filters, output) and the one way to run the pipeline.
import { commandCollapse } from '../util/v8heap.js';
import { Option, type Command } from 'commander';
import type { AuditRecord, InputAccounting, Reducer } from '../types.js';
import type { IO } from './io.js';
import { UsageError } from '../util/errors.js';
import type { FilterOptions } from '../filter/index.js';
import { listOf, ACCEPT_ALL } from '../filter/index.js';
import type { PipelineOptions } from '../pipeline.js';
import { FORMAT_CHOICES, type FormatChoice } from '../ingest/detect.js';
import { budgetBytes, MIN_BUDGET, parseSize, setBudget } from '../scale/budget.js';
import { spillDir } from '../scale/tempdir.js';
import type { BodyNeeds } from '../normalize/bodies.js';
import { didYouMean } from '../util/suggest.js';
import { visible } from '../render/sanitize.js';

/**
 * The budget is process-wide. While worker threads read, the main thread keeps MAIN_SHARE of it for
 * the partial states it merges, and the `jobs` workers divide the rest (each also carries its own
 * heap, reader and collapse windows, so that their budgets must add up to the budget, not each
 * take it). Once the workers are done the main thread has the whole budget again for finish().
 * Two thirds: the workers' spills are what the main thread merges, and a worker's fixed cost (about
 * 90 MB) is paid per worker; at 1M distinct users, half (48 MiB each of 192M) peaked at 405–419 MB
 * for drift and baseline, a third (32 MiB each) at 388–400 MB.
 */
export const MAIN_SHARE = 2 / 3;

/**
 * Each worker thread's budget in bytes when `jobs` workers read under a process-wide `budget`:
 * budget × (1 − MAIN_SHARE) ÷ jobs (the whole budget for one), at least MIN_BUDGET.
 */
export function workerBudget(budget: number, jobs: number): number {
  const share = jobs > 1 ? (1 - MAIN_SHARE) / jobs : 1;
  return Math.max(MIN_BUDGET, Math.floor(budget * share));
}

/** What worker threads need to spill: their share of the budget (workerBudget) and the main thread's spill folder. */
function spillSpec(jobs: number, spills: boolean): { memory: number; spillDir: string } {
  // A state that never spills (--approx: sketches in fixed memory) needs no folder, and runs where none can be made.
  return { memory: workerBudget(budgetBytes(), jobs), spillDir: spills ? spillDir() : '' };
}

export interface InputOptions {
  cluster: string[];
  format?: string;
  prefilter?: boolean;
  strict?: boolean;
  maxLineBytes?: number;
  quiet?: boolean;
  progress?: boolean;
  jobs?: number;
  /** --memory: the budget for analysis state, in bytes (src/scale/budget.ts). */
  memory?: number;
  parser?: string;
  /** --save-state FILE: save the partial state instead of printing (see addStateOptions). */
  saveState?: string;
  /** --shard I/N, parsed. */
  shard?: { index: number; count: number };
  /** Set by `audit merge`: the inputs are state files. */
  mergeStates?: boolean;
  /** Set by addStateOptions' hook: the command and its options as given. */
  stateContext?: StateContext;
}

/** What a state records about the command that saved it. */
export interface StateContext {
  command: string;
  /** saveState: the options as given (without the state options); mergeStates: unused. */
  options: Record<string, unknown>;
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
  impersonator: string[];
  actor: string[];
  serviceaccount: string[];
  allNamespaces?: boolean;
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

function memoryOption(v: string): number {
  const n = parseSize(v);
  if (!Number.isFinite(n) || n < MIN_BUDGET) throw new UsageError(`--memory: ${JSON.stringify(v)} is not a size of at least 1k`, 'pass a size such as --memory 512M or --memory 2G');
  return n;
}

/** `--limit N`: a whole number; 0 means no limit (Infinity), on every command that has --limit. */
export function limitOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--limit: ${JSON.stringify(v)} is not a whole number`, 'pass a number such as --limit 20, or --limit 0 for no limit');
  return n === 0 ? Infinity : n;
}

function jobsOption(v: string): number {
  if (v === 'auto') return 0;
  return positiveInt('--jobs')(v);
}

/** --jobs auto: one worker per core, at most 8 (commands without --jobs read in one thread). */
export async function resolveJobs(v: number | string | undefined): Promise<number> {
  if (v === undefined) return 1;
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
    .option('--memory <size>', "V8 heap the analysis state may take (worker threads divide it among them) before it spills to temporary files: 192M (default), 1G, 64k…; also KAUDIT_MEMORY", memoryOption)
    .addOption(new Option('--parser <parser>', 'fast: read native events with the field extractor (only the fields the command uses); reference: JSON.parse every line (the same records, slower)').choices(['fast', 'reference']).default('fast'))
    .option('-q, --quiet', 'no progress bar, no accounting line and no warnings on stderr')
    .option('--no-progress', 'never show the progress bar');
}

/** Commands whose reducer runs in worker threads (see src/parallel). */
export function addJobsOption(cmd: Command): Command {
  return cmd.option('-j, --jobs <n>', "worker threads for inputs of 128 MB or more: a number, or 'auto' (one per core, at most 8); 1 reads in this thread", jobsOption, 'auto' as unknown as number);
}

/** Options a state does not record: they say how to run, not what to compute. */
const UNRECORDED = new Set(['saveState', 'shard', 'mergeStates', 'stateContext', 'jobs', 'quiet', 'progress', 'out']);

function shardOption(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UsageError(`--shard: ${JSON.stringify(v)} is not I/N with 0 ≤ I < N`, 'pass the share and the number of shares, counting from 0: --shard 0/4 … --shard 3/4 (a Kubernetes Indexed Job: --shard $JOB_COMPLETION_INDEX/N)');
  return { index, count };
}

/** The state files named by audit merge's arguments: files, directories (walked) and globs. */
async function stateFiles(args: string[]): Promise<string[]> {
  const { expandInputs } = await import('../ingest/sources.js');
  if (args.includes('-')) throw new UsageError('audit merge cannot read states from stdin', 'pass the state files or their directory');
  return args.length ? (await expandInputs(args)).map((s) => s.path) : [];
}

/**
 * Sharded runs (docs/scale.md): --save-state FILE saves the partial state instead of printing,
 * --shard I/N reads only the I-th of N stable shares of the inputs, and `audit merge --command NAME`
 * runs the command with the hidden --merge-states, reading state files instead of logs and taking
 * the options the shards ran with unless given again.
 */
export function addStateOptions(cmd: Command): Command {
  cmd
    .option('--save-state <file>', 'save the partial state to FILE (.gz: compressed) instead of printing; audit merge --command ' + cmd.name() + ' prints the result (reads in one thread)')
    .option('--shard <i/n>', 'with --save-state: read only the I-th of N stable shares of the inputs (0 ≤ I < N): whole files, and byte ranges of large JSON-lines files', shardOption)
    .addOption(new Option('--merge-states', 'the inputs are state files to merge (set by audit merge)').hideHelp());
  cmd.hook('preAction', async (c) => {
    const opts = c.opts() as InputOptions & Record<string, unknown>;
    if (opts.shard && !opts.saveState) throw new UsageError('--shard needs --save-state FILE', 'a shard saves its partial state; audit merge prints the result of all shards');
    if (opts.mergeStates) {
      if (opts.saveState || opts.shard) throw new UsageError('audit merge cannot save a state or read a shard', 'merge the states, then run the command on the merged result');
      // The options the shards ran with are the defaults; options given to audit merge win.
      const files = await stateFiles((c.processedArgs.at(-1) ?? []) as string[]);
      if (files.length === 0) throw new UsageError('no state files given', `pass the files written by --save-state, or their directory: audit merge --command ${c.name()} STATE…`);
      const { readStateHeader } = await import('../state/file.js');
      const h = await readStateHeader(files[0]!);
      if (h.command !== c.name()) throw new UsageError(`${files[0]}: a state of audit ${h.command}, not of audit ${c.name()}`, `merge it with --command ${h.command}`);
      for (const [k, v] of Object.entries(h.options)) {
        const src = c.getOptionValueSource(k);
        if (src !== 'cli' && src !== 'env' && !UNRECORDED.has(k)) c.setOptionValueWithSource(k, v, 'config');
      }
    }
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.opts())) if (!UNRECORDED.has(k) && v !== undefined) options[k] = JSON.parse(JSON.stringify(v)) as unknown;
    c.setOptionValue('stateContext', { command: c.name(), options } satisfies StateContext);
  });
  return cmd;
}

/** What --user matches on most commands; rbac-gen, drift and compliance pass their own wording. */
export const USER_HELP = 'the subject: the effective user after impersonation (requests alice made as someone else are --impersonator alice); exact name or glob, e.g. alice or system:serviceaccount:ci:* (repeatable, comma-separated)';

/**
 * What --user matches on drift and compliance: the identities whose grants are judged. Their
 * requests, and the impersonate checks of what they did as someone else, count as their use; other
 * subjects are not reported (filtered out, they would only look dormant).
 */
export const GRANT_USER_HELP = 'the subjects to judge: their own requests, and the impersonate checks of requests they made as someone else, count as their use; only the users and service accounts selected by --user, --serviceaccount and --actor are reported; exact or glob (repeatable, comma-separated)';

/**
 * The note drift and compliance print when filters other than the subject selection and the time
 * window narrowed the requests: use is counted from those requests only, so a grant used outside
 * them is reported unused. null when no such filter is set.
 */
export function partialUseNote(opts: FilterFlags): string | null {
  const flags: string[] = [];
  for (const [k, flag] of [['group', '--group'], ['verb', '--verb'], ['resource', '--resource'], ['namespace', '--namespace'], ['name', '--name'], ['status', '--status'], ['impersonator', '--impersonator']] as const) if (opts[k].length) flags.push(flag);
  if (opts.denied) flags.push('--denied');
  if (flags.length === 0) return null;
  return `note: use is counted only from the requests that ${flags.join(', ')} kept: a grant used only by other requests shows as unused here`;
}

export function addFilterOptions(cmd: Command, userHelp: string = USER_HELP): Command {
  return cmd
    .option('--user <name>', userHelp, collect, [])
    .option('--serviceaccount <ns:name>', 'the service account NS:NAME as the subject (system:serviceaccount:NS:NAME); alternatives to --user (repeatable)', collect, [])
    .option('--impersonator <name>', 'the real user behind an impersonated request (Impersonate-User), exact or glob (repeatable)', collect, [])
    .option('--actor <name>', 'the subject or the impersonator: everything NAME did, as itself or as someone else (repeatable)', collect, [])
    .option('--group <name>', 'a group of the user, exact or glob (repeatable)', collect, [])
    .option('--verb <verb>', 'get, list, watch, create, update, patch, delete, deletecollection…, any case (repeatable, comma-separated)', collect, [])
    .option('--resource <resource>', 'plural, singular, Kind or short name, with a subresource or group: pods, po/log, Deployment, deploy.apps, sts… (repeatable, comma-separated)', collect, [])
    .option('-n, --namespace <ns>', 'namespace (repeatable, comma-separated)', collect, [])
    .option('-A, --all-namespaces', 'every namespace (the default, said as kubectl says it)')
    .option('--name <name>', 'object name, exact or glob (repeatable)', collect, [])
    .option('--since <time>', 'from this time: RFC 3339, a date, or a duration before now (24h, 7d)')
    .option('--until <time>', 'before this time: RFC 3339, a date, or a duration before now')
    .option('--status <code>', 'HTTP status code or class: 403, 4xx (repeatable, comma-separated)', collect, [])
    .option('--denied', 'only requests the authorizer denied');
}

/** The client filters of commands and view (a command's calls share their client): --client, --access-method, --source-ip. */
export interface ClientFlags {
  client: string[];
  accessMethod: string[];
  sourceIp: string[];
}

export function addClientFilterOptions(cmd: Command): Command {
  return cmd
    .option('--client <name>', 'only this client (kubectl, browser, helm, a controller…; glob; repeatable)', collect, [])
    .option('--access-method <m>', 'kubectl, browser, controller, automation, other (repeatable)', collect, [])
    .option('--source-ip <ip>', 'source address or CIDR block (repeatable)', collect, []);
}

/**
 * `--cluster` values: `NAME=PATH` pairs (inputs labelled NAME) and plain names, split on commas
 * and trimmed exactly as the cluster filter reads them (src/filter listOf): the first names the
 * unlabelled inputs, and all of them are the clusters kept. (The label was the raw value and the
 * filter the trimmed one: `--cluster 'a,b'` or a name ending in a space labelled the records with
 * a name the filter then dropped: 0 used.)
 */
export function clusterFlags(values: readonly string[]): { pairs: string[]; names: string[] } {
  return { pairs: values.filter((c) => c.includes('=')), names: listOf(values.filter((c) => !c.includes('='))) };
}

/** The filter set of the client flags, for runInputs' `more`. */
export function clientFilters(o: ClientFlags): FilterOptions {
  return { client: o.client, accessMethod: o.accessMethod, sourceIP: o.sourceIp };
}

/**
 * `-o, --output FORMAT`: always a format, never a file. A value that is no format of this
 * command is a usage error with the closest formats, and, when it looks like a path, the flag
 * that writes files (--out).
 */
export function outputOption(formats: readonly string[], dflt: string, what = 'output format'): Option {
  return new Option('-o, --output <format>', `${what}: ${formats.join(', ')}`)
    .default(dflt)
    .argParser((v: string) => parseFormat(formats, v));
}

export function parseFormat(formats: readonly string[], v: string): string {
  const l = v.toLowerCase();
  if (formats.includes(l)) return l;
  const looksLikeFile = /[./\\]/.test(v);
  throw new UsageError(
    // Raw: the CLI's printer makes the message and the fix visible (escaped once).
    `-o: "${v}" is not an output format of this command${didYouMean(l, formats)}`,
    looksLikeFile ? `-o takes a format (${formats.join(', ')}); to write a file, pass --out ${v}` : `use one of ${formats.join(', ')}`,
  );
}

/** `--out FILE`: write what would go to stdout to FILE instead, safely (src/cli/outfile.ts). */
export function addOutOption(cmd: Command): Command {
  return cmd.option('--out <file>', 'write the output to FILE instead of standard output (checked before reading; written to a temporary file and renamed)');
}

/** Where a command's output goes: standard output, or --out FILE through a temporary file. */
export interface OutputTarget {
  /** The IO to write the output to (its stdout is the file when --out is given). */
  io: IO;
  /** Destinations to check against the inputs before reading (RunExtras.outputs). */
  outputs: OutputCheck[];
  /** The file's path, when --out was given. */
  path?: string;
  /** Puts the file in place (no-op for stdout). */
  commit(): Promise<void>;
  /** Removes the temporary file (no-op for stdout). */
  abort(): void;
}

/** Opens --out FILE (checked now, before anything is read), or standard output when `path` is undefined or `-`. */
export async function openOutput(io: IO, path: string | undefined): Promise<OutputTarget> {
  // '-' is standard output, as for inputs (it would be a file named '-').
  if (path === undefined || path === '-') return { io, outputs: [], commit: async () => {}, abort: () => {} };
  const { prepareOutputFile } = await import('./outfile.js');
  const file = prepareOutputFile('--out', path);
  let stream: import('./outfile.js').OutputStream | null = null;
  const get = (): import('./outfile.js').OutputStream => (stream ??= file.open());
  // The commands write strings, in order, and never wait for a drain: a synchronous sink will do.
  const stdout = {
    isTTY: false,
    write(chunk: string | Uint8Array): boolean {
      get().write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
  } as unknown as IO['stdout'];
  return {
    io: { ...io, stdout },
    outputs: [file],
    path,
    commit: async () => {
      await get().commit();
    },
    abort: () => {
      if (stream) stream.abort();
    },
  };
}

/**
 * Runs `fn` with the output target of --out (or stdout): the file is checked before `fn` reads
 * anything, put in place when `fn` succeeds (with `wrote PATH` on stderr unless quiet or
 * `announce` is false) and removed when it fails.
 */
export async function withOutput<T>(io: IO, path: string | undefined, quiet: boolean | undefined, fn: (t: OutputTarget) => Promise<T>, announce = true): Promise<T> {
  const t = await openOutput(io, path);
  let r: T;
  try {
    r = await fn(t);
    await t.commit();
  } catch (e) {
    t.abort();
    throw e;
  }
  if (t.path !== undefined && announce && !quiet) io.stderr.write(`wrote ${visible(t.path)}\n`);
  return r;
}

/**
 * `--order-window DURATION` (investigate, export, commands): records come out by
 * requestReceivedTimestamp, held at most this long for an earlier one that completes later (a
 * watch or an exec session is logged when it ends); `0` keeps the order of the log.
 */
export function addOrderWindowOption(cmd: Command): Command {
  return cmd.option('--order-window <duration>', 'print requests in time order (requestReceivedTimestamp), waiting up to this long for one logged late (a watch or exec session is logged when it ends); 0 keeps the order of the log', '30m');
}

/** The pipeline's time order for --order-window, or undefined for `0` (the log's own order). */
export async function timeOrderOf(window: string): Promise<PipelineOptions['timeOrder']> {
  if (/^0+(\.0+)?(ms|s|m|h)?$/.test(window.trim())) return undefined;
  const [{ parseDurationMs }, { DEFAULT_REORDER }] = await Promise.all([import('../util/duration.js'), import('../order/reorder.js')]);
  return { reorder: { ...DEFAULT_REORDER, windowMs: parseDurationMs('--order-window', window) } };
}

/** The note for requests that came later than --order-window and were printed out of order. */
export function reportLate(io: IO, quiet: boolean | undefined, window: string, t: PipelineOptions['timeOrder'], what = 'request'): void {
  const late = t?.stats?.late ?? 0;
  if (late === 0 || quiet) return;
  const one = late === 1;
  io.stderr.write(`note: ${late} ${what}${one ? ' was' : 's were'} logged more than --order-window (${window}) after later ones (up to ${Math.round((t!.stats!.maxLateMs ?? 0) / 1000)} s) and ${what === 'call' ? 'folded' : 'printed'} where ${one ? 'it' : 'they'} came; a larger --order-window${what === 'call' ? '' : ', or --sort time,'} puts them in place\n`);
}

export interface RunInputs {
  inputs: string[];
  opts: InputOptions & FilterFlags;
}

/** Destinations to check against the inputs before any is read (src/cli/outfile.ts). */
export interface OutputCheck {
  checkInputs(paths: readonly string[]): void;
}

/** What a command passes besides its flags: rbac-gen's impersonator rule, its output destinations, the bodies it reads. */
export interface RunExtras {
  userMatchesImpersonator?: boolean;
  outputs?: OutputCheck[];
  /** The request and response bodies the command reads (src/normalize/bodies.ts); default: all. */
  bodies?: BodyNeeds;
  /** Keep the bodies of requests waiting for their completing stage (detection rules judge requests that never complete). */
  keepWaitingBodies?: boolean;
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
export async function runReducer<S>(
  io: IO,
  inputs: string[],
  opts: InputOptions & FilterFlags & RunExtras,
  job: ParallelJob<S>,
  /** Hash each input (compliance evidence): reads in this thread, and shards take whole files. */
  hash = false,
): Promise<{ state: S; accounting: InputAccounting }> {
  const r = await run(io, inputs, opts, (rec) => job.reducer.add(job.state, rec), [], hash, job);
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
  const [{ expandInputs }, { compileFilterSets }, { runPipeline }, { makeProgress }, { RejectReporter }, { FilterHints }, { accountingLine }] = await Promise.all([
    import('../ingest/sources.js'),
    import('../filter/sets.js'),
    import('../pipeline.js'),
    import('./progress.js'),
    import('./report.js'),
    import('../filter/hints.js'),
    import('../render/accounting.js'),
  ]);
  setBudget(opts.memory ?? null);
  if (opts.mergeStates || opts.saveState) return runState(io, inputs, opts, onRecord, more, hash, job, timeOrder);
  const { pairs, names } = clusterFlags(opts.cluster);
  let args = [...inputs, ...pairs];
  if (args.length === 0) {
    if (io.stdin.isTTY) throw new UsageError('no input given', 'pass audit log files, directories or globs, or pipe a log into stdin (or pass -)');
    args = ['-'];
  }
  const now = io.now();
  const { bodies, keepWaitingBodies } = opts;
  const filterSets = filterSetsOf(opts, more);
  const { filter, prefilter, prefilterFlags } = compileFilterSets(filterSets, now, opts.prefilter !== false);
  const hints = new FilterHints(filterSets[0]!, now);
  /** After a run: the accounting line, then why the filters matched nothing (when the log can tell). */
  const report = (accounting: InputAccounting, observed: boolean): void => {
    if (opts.quiet) return;
    io.stderr.write(`${accountingLine(accounting)}\n`);
    if (observed) for (const h of hints.hints({ accounting, prefilterFlags })) io.stderr.write(`${h.level}: ${h.text}\n`);
    else if (accounting.used === 0 && accounting.requests > 0) io.stderr.write('note: no request matched the filters; --jobs 1 reads in one thread and says why when the log can tell\n');
  };
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
  let done = (): void => {};
  const read = {
    ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
    ...(opts.format ? { format: opts.format as FormatChoice } : {}),
    ...(opts.parser === 'reference' ? { parser: 'reference' as const } : {}),
  };
  try {
    if (job && !hash && !timeOrder && !sources.some((s) => s.path === '-')) {
      const jobs = await resolveJobs(opts.jobs);
      const { minRange } = await import('../parallel/plan.js');
      if (jobs > 1 && total >= 2 * minRange()) {
        const { runParallel, workerOldMb } = await import('../parallel/run.js');
        const filterData = filterSets.map((f) => JSON.parse(JSON.stringify(f)) as FilterOptions);
        const whole = budgetBytes();
        const spec = spillSpec(jobs, !(job.options as { approx?: unknown }).approx);
        // The main thread's share while the workers read (spillSpec); the whole budget again after.
        setBudget(Math.max(MIN_BUDGET, Math.floor(whole * MAIN_SHARE)));
        const r = await runParallel<S>({
          state: job.state,
          sources,
          jobs,
          spec: { command: job.command, options: job.options, filters: filterData, now, prefilter: opts.prefilter !== false, strict: !!opts.strict, read, ...(bodies ? { bodies } : {}), ...(keepWaitingBodies ? { keepWaitingBodies } : {}), ...spec },
          filter,
          onReject: reporter.reject,
          onProgress: (b, e) => progress.update(b, e),
        }).finally(() => setBudget(whole));
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
          done = () => report(r.acc, false);
          return { accounting: r.acc, state: r.state };
        }
      }
    }
    const accounting = await runPipeline({
      sources,
      // Filters that select every request are no filter: the pipeline then needs no window of
      // its own for the Audit-ID reuse check (AuditIDReuse.checkSlot), and the hints, which only
      // speak of filters, have nothing to observe.
      filter:
        filter === ACCEPT_ALL
          ? undefined
          : (rec) => {
              hints.observe(rec);
              return filter(rec);
            },
      strict: opts.strict,
      onRecord,
      ...(bodies ? { bodies } : {}),
      collapse: commandCollapse(keepWaitingBodies),
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
    done = () => report(accounting, true);
    return { accounting };
  } finally {
    progress.done();
    if (!opts.quiet) reporter.finish();
    done();
  }
}

/** The filter sets of a run: the common flags (clusters named, not NAME=PATH) and the command's own. */
function filterSetsOf(opts: InputOptions & FilterFlags & RunExtras, more: FilterOptions[]): FilterOptions[] {
  const { outputs: _outputs, keepWaitingBodies: _keep, memory: _memory, ...flags } = opts;
  return [{ ...flags, cluster: clusterFlags(opts.cluster).names }, ...more];
}

/** --save-state and audit merge (src/state/run.ts). */
async function runState<S>(
  io: IO,
  inputs: string[],
  opts: InputOptions & FilterFlags & RunExtras,
  onRecord: (r: AuditRecord) => void,
  more: FilterOptions[],
  hash: boolean,
  job: ParallelJob<S> | null,
  timeOrder?: PipelineOptions['timeOrder'],
): Promise<{ accounting: InputAccounting; state?: S }> {
  const [{ saveState, mergeStates, StateSaved }, { compileFilterSets }, { parallelCommand }, { VERSION }, { RejectReporter }] = await Promise.all([
    import('../state/run.js'),
    import('../filter/sets.js'),
    import('../parallel/commands.js'),
    import('./index.js'),
    import('./report.js'),
  ]);
  const ctx = opts.stateContext;
  if (!ctx) throw new Error('runState: the command did not call addStateOptions');
  const filters = filterSetsOf(opts, more);
  const stateJob = job ? { mode: 'reducer' as const, cmd: await parallelCommand(job.command), spec: job.options, state: job.state } : { mode: 'records' as const };
  const reporter = new RejectReporter(io, opts.quiet ? 0 : undefined);
  try {
    if (opts.mergeStates) {
      const files = await stateFiles(inputs);
      for (const o of opts.outputs ?? []) o.checkInputs(files);
      const merged = await mergeStates<S>({
        files,
        command: ctx.command,
        job: stateJob,
        onRecord,
        filters,
        compile: (now) => compileFilterSets(filters, now, false).filter,
        kauditVersion: VERSION,
        onReject: reporter.reject,
        ...(timeOrder ? { timeOrder } : {}),
      });
      reporter.count = merged.accounting.rejected;
      return { accounting: merged.accounting, ...(merged.state !== undefined ? { state: merged.state } : {}) };
    }
    // --save-state [--shard I/N]
    // A saved state is read by another process (audit merge), after this one has removed its spill
    // files: the state is kept whole in memory, never spilled (src/scale/budget.ts).
    setBudget(Infinity);
    if (opts.memory !== undefined && !opts.quiet) io.stderr.write('note: --memory does not apply with --save-state: a saved state is held whole in memory (it cannot refer to temporary spill files)\n');
    const [{ expandInputs }, { makeProgress }] = await Promise.all([import('../ingest/sources.js'), import('./progress.js')]);
    const { pairs, names } = clusterFlags(opts.cluster);
    const args = [...inputs, ...pairs];
    if (args.length === 0) throw new UsageError('--save-state: no input given', 'pass the audit logs (files, directories or globs); a saved state records which inputs it read');
    if (args.includes('-')) throw new UsageError('--save-state cannot read stdin', 'pass files: a state records which inputs it read, so that audit merge can order and check them');
    // The state file is checked like every file kaudit writes (src/cli/outfile.ts): before reading,
    // not a link, a folder or one of the inputs.
    const { prepareOutputFile } = await import('./outfile.js');
    const dest = prepareOutputFile('--save-state', opts.saveState!);
    let sources = await expandInputs(args, names[0] ?? '');
    dest.checkInputs(sources.map((s) => s.path));
    const readOpts = {
      ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
      ...(opts.format ? { format: opts.format as FormatChoice } : {}),
    };
    // A command that reads in time order (commands) reads its inputs oldest first: the shares are
    // cut from that order, and the merge puts the states back in it.
    if (timeOrder) {
      const { DEFAULT_READ_OPTIONS } = await import('../ingest/reader.js');
      sources = await (await import('../order/sources.js')).sortSourcesByTime(sources, { ...DEFAULT_READ_OPTIONS, ...readOpts });
    }
    let shard = null;
    if (opts.shard) {
      const { planShard } = await import('../parallel/plan.js');
      const { createHash } = await import('node:crypto');
      const plan = createHash('sha256')
        .update(JSON.stringify(sources.map((s) => [s.path, s.size, s.cluster])))
        .digest('hex')
        .slice(0, 16);
      shard = { ...opts.shard, plan };
      // Compliance hashes every input: its shares are whole files.
      sources = await planShard(sources, opts.shard.index, opts.shard.count, { format: opts.format ?? 'auto', split: !hash });
    }
    const now = io.now();
    const { filter, prefilter } = compileFilterSets(filters, now, opts.prefilter !== false);
    const progress = makeProgress(io, !opts.quiet && opts.progress !== false, sources.reduce((n, s) => n + s.size, 0));
    let header;
    try {
      header = await saveState<S>({
        path: opts.saveState!,
        command: ctx.command,
        job: stateJob,
        sources,
        shard,
        filters,
        filter,
        now,
        strict: !!opts.strict,
        read: {
          ...readOpts,
          ...(hash ? { hash: true } : {}),
          ...(prefilter ? { prefilter } : {}),
        },
        timeOrdered: !!timeOrder,
        ...(opts.keepWaitingBodies ? { keepWaitingBodies: true } : {}),
        cliOptions: ctx.options,
        kauditVersion: VERSION,
        onReject: reporter.reject,
        onProgress: (b, e) => progress.update(b, e),
      });
    } finally {
      progress.done();
    }
    if (!opts.quiet) {
      const a = header.accounting;
      const share = shard ? `shard ${shard.index}/${shard.count}: ` : '';
      io.stderr.write(`audit ${ctx.command}: saved the state of ${share}${a.files.length} input${a.files.length === 1 ? '' : 's'}, ${a.requests} request${a.requests === 1 ? '' : 's'} (${a.used} used) to ${opts.saveState}\n`);
    }
    throw new StateSaved(opts.saveState!);
  } finally {
    if (!opts.quiet) reporter.finish();
  }
}
