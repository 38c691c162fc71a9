// `audit` / `kaudit`: registers subcommands lazily (only the one being run is loaded) and maps
// every failure to an exit code. Returns the code; only bin/ sets process.exitCode.
import { Command, CommanderError, Help, type Option } from 'commander';
import { visible } from '../render/sanitize.js';
import { createRequire } from 'node:module';
import { processIO, terminalSafe, type IO } from './io.js';
import { availableParallelism } from 'node:os';
import { discardPrestarted, likelyWorkers, minRange, prestartWorkers, workersFor } from '../parallel/pool.js';

/**
 * A message for stderr: made visible, its own line breaks kept but every line after the first
 * indented, so that text from a file name or audit data cannot start a line that reads as
 * kaudit's (`note:`, `audit: error:`).
 */
function block(msg: string): string {
  return msg
    .split('\n')
    .map((l, i) => (i === 0 || /^\s/.test(l) ? visible(l) : `    ${visible(l)}`))
    .join('\n');
}
import { isKauditError, UsageError, InputError, InternalError, asInternal } from '../util/errors.js';

export interface CommandModule {
  register(program: Command, io: IO, setExit: (code: number) => void): void;
}

interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

/** The command table: name, one-line summary, lazy loader. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'summary', summary: 'the first look at a log: window, counts, top subjects/verbs/resources, latency', load: () => import('./summary.js') },
  { name: 'investigate', summary: 'filter, group and export API calls: who did what, when, from where, how', load: () => import('./investigate.js') },
  { name: 'commands', summary: 'fold API calls back into the kubectl commands people typed, with latency', load: () => import('./commands.js') },
  { name: 'view', summary: 'the audit trail as one offline HTML page: commands or API calls, filters, CSV export', load: () => import('./view.js') },
  { name: 'baseline', summary: 'per-subject behaviour profiles as versioned JSON (mergeable)', load: () => import('./baseline.js') },
  { name: 'anomalies', summary: 'first-time or risky access against a baseline, plus detection rules (built-in, yours, Sigma)', load: () => import('./anomalies.js') },
  { name: 'rules', summary: 'list the detection rules, or test a rule file against its own examples', load: () => import('./rules.js') },
  { name: 'rbac-gen', summary: 'least-privilege Roles/ClusterRoles and bindings from what each subject did', load: () => import('./rbac-gen.js') },
  { name: 'drift', summary: 'granted minus used, per subject: unused and sensitive grants, scores, CI gates', load: () => import('./drift.js') },
  { name: 'compliance', summary: 'a scored, evidence-carrying least-privilege report (HTML, Markdown, JSON, CSV)', load: () => import('./compliance.js') },
  { name: 'export', summary: 'normalized records after the filters, as CSV, JSON lines, JSON or Parquet', load: () => import('./export.js') },
  { name: 'follow', summary: 'tail live audit logs and forward them to a SIEM, with checkpoints and nothing lost', load: () => import('./follow.js') },
  { name: 'merge', summary: 'merge the states of sharded runs (--save-state) into the result of one pass', load: () => import('./merge.js') },
  { name: 'sql', summary: 'SQL over the normalized records of logs or of a Parquet dataset (needs DuckDB)', load: () => import('./sql.js') },
];

const PACKAGE = createRequire(import.meta.url)('../../package.json') as { version: string; homepage?: string; repository?: string | { url?: string } };

export const VERSION: string = PACKAGE.version;

/**
 * Where kaudit lives, for SARIF's informationUri: package.json's homepage, else its repository
 * (a `git+https://…/x.git` URL as the https page); undefined when it names neither.
 */
export const HOMEPAGE: string | undefined = (() => {
  if (PACKAGE.homepage) return PACKAGE.homepage;
  const repo = typeof PACKAGE.repository === 'string' ? PACKAGE.repository : PACKAGE.repository?.url;
  if (!repo || !/^(git\+)?https:\/\//.test(repo)) return undefined;
  return repo.replace(/^git\+/, '').replace(/\.git$/, '');
})();

/** The tool as SARIF names it. */
export const TOOL = { name: 'kaudit', version: VERSION, ...(HOMEPAGE ? { uri: HOMEPAGE } : {}) };

function findCommand(argv: string[]): CommandEntry | undefined {
  let i = 0;
  if (argv[0] === 'help') i = 1;
  const word = argv.slice(i).find((a) => !a.startsWith('-'));
  return COMMANDS.find((c) => c.name === word);
}

/** Commands whose partial state audit merge can merge. */
export const MERGEABLE = ['summary', 'rbac-gen', 'drift', 'baseline', 'anomalies', 'compliance', 'commands'] as const;

/**
 * `audit merge --command NAME [options] STATE…` is `audit NAME --merge-states [options] STATE…`:
 * the command itself parses its options and prints, reading states instead of logs.
 */
function rewriteMerge(argv: string[]): string[] {
  if (argv[0] !== 'merge') return argv;
  const i = argv.findIndex((a) => a === '--command' || a.startsWith('--command='));
  if (i < 0) return argv;
  const name = argv[i]!.startsWith('--command=') ? argv[i]!.slice('--command='.length) : argv[i + 1];
  if (name === undefined || !(MERGEABLE as readonly string[]).includes(name)) {
    throw new UsageError(`--command: ${JSON.stringify(name ?? '')} is not a command whose states merge`, `use one of ${MERGEABLE.join(', ')}`);
  }
  const skip = argv[i]!.startsWith('--command=') ? [i] : [i, i + 1];
  const rest = argv.filter((_, k) => k !== 0 && !skip.includes(k));
  return [name, '--merge-states', ...rest];
}

/**
 * The IO with a stdout that remembers whether anything was written (an internal error then says
 * that what was printed is incomplete: streamed outputs cannot take back what they wrote).
 */
function watchStdout(io: IO): { io: IO; wrote: () => boolean } {
  let wrote = false;
  const out = io.stdout;
  const stdout = new Proxy(out, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: string | Uint8Array, ...rest: unknown[]) => {
          if (chunk.length > 0) wrote = true;
          return (target.write as (...a: unknown[]) => boolean)(chunk, ...rest);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { io: { ...io, stdout }, wrote: () => wrote };
}

export async function main(argv: string[], given: IO = processIO()): Promise<number> {
  const watched = watchStdout(terminalSafe(given));
  const io = watched.io;
  try {
    argv = rewriteMerge(argv);
  } catch (e) {
    io.stderr.write(`audit: error: ${block((e as Error).message)}\n  fix: ${block((e as UsageError).fix)}\n`);
    return 2;
  }
  // A split run's workers load while the command does (src/parallel/pool.ts); the run takes them, or they are discarded.
  const workers = likelyWorkers(argv, 2 * minRange(), availableParallelism());
  if (workers > 1) prestartWorkers(argv[0]!, workersFor(workers));
  try {
    return await run(argv, io, watched.wrote, given.stdout === process.stdout);
  } finally {
    discardPrestarted();
  }
}

/** main() once the argv is rewritten: `processStdout` when io writes to the process's stdout. */
async function run(argv: string[], io: IO, wrote: () => boolean, processStdout: boolean): Promise<number> {
  let exit = 0;
  const program = new Command('audit')
    .description('kaudit: offline analysis of Kubernetes API-server audit logs')
    .version(VERSION, '-V, --version')
    // Options after a subcommand are the subcommand's (audit baseline merge … --out F).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      // Commander repeats the arguments it refuses: they are shown like any other data.
      writeErr: (s) => io.stderr.write(visible(s, '\n')),
      // One error prefix for every error, commander's own included.
      outputError: (s, write) => write(s.replace(/^error: /, 'audit: error: ')),
    })
    .configureHelp({
      // Repeatable options start from an empty list; "(default: [])" says nothing.
      optionDescription(option: Option): string {
        const d = option.defaultValue as unknown;
        if (Array.isArray(d) && d.length === 0) return Help.prototype.optionDescription.call(this, Object.assign(Object.create(option) as Option, { defaultValue: undefined }));
        return Help.prototype.optionDescription.call(this, option);
      },
    })
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText(
      'after',
      `
Examples:
  $ audit summary /var/log/kubernetes/audit/          # everything in a directory, gzip included
  $ audit export --user alice -o csv audit.log > alice.csv
  $ zcat audit.log.1.gz | audit summary -o json

Exit codes: 0 ok, 1 findings over a threshold you set, 2 usage or input error.`,
    );

  const chosen = findCommand(argv);
  for (const c of COMMANDS) {
    if (c === chosen) {
      const mod = await c.load();
      mod.register(program, io, (code) => (exit = code));
    } else program.command(c.name).summary(c.summary).description(c.summary);
  }

  if (processStdout) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(exit);
    });
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    // --save-state: the state is written, the command prints nothing more.
    if ((e as { kauditStateSaved?: boolean })?.kauditStateSaved === true) return 0;
    if (isKauditError(e)) {
      io.stderr.write(`audit: error: ${block(e.message)}\n`);
      if (e instanceof UsageError || e instanceof InputError) io.stderr.write(`  fix: ${block(e.fix)}\n`);
      return 2;
    }
    io.stderr.write(formatInternalError(asInternal(e, 'command', '') as InternalError, argv, wrote()));
    return 2;
  }
}

/** A shell word as the user would type it again (POSIX single quotes when needed). */
function shellWord(a: string): string {
  return /^[\w./@%+=:,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The message of an internal error: it says "internal error", names the command, the component and
 * the input position, says that nothing was written, and asks for a report with the exact command.
 */
export function formatInternalError(e: InternalError, argv: string[], printed = false): string {
  const clean = (s: string): string => visible(s);
  const command = argv.find((a) => !a.startsWith('-')) ?? '';
  const where = e.where ? `, at ${clean(e.where)}` : '';
  const stack = e.origin
    .split('\n')
    .slice(1, 8)
    .map((l) => `  ${clean(l.trim())}\n`)
    .join('');
  return (
    `audit: internal error in \`audit ${clean(command)}\` (component: ${clean(e.component)}${where}): ${clean(e.message)}\n` +
    (printed
      ? `audit: this is a bug in kaudit, not a problem with the input; the run stopped, and what was printed above is incomplete: do not use it (exit 2).\n`
      : `audit: this is a bug in kaudit, not a problem with the input; the run stopped and no result was written (exit 2).\n`) +
    `audit: please report it with the exact command you ran: audit ${clean(argv.map(shellWord).join(' '))}\n` +
    stack
  );
}
