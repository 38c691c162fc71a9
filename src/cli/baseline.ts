// `audit baseline FILES… [--out baseline.json]`: per-subject behaviour profiles, versioned JSON.
// `audit baseline merge A.json B.json… [--out both.json]`: baselines merged into one.
import { NO_BODIES } from '../normalize/bodies.js';
import { collectSooner } from '../util/v8heap.js';
import type { Command } from 'commander';
import { visible } from '../render/sanitize.js';
import type { IO } from './io.js';
import { addFilterOptions, addInputOptions, addJobsOption, addOutOption, addStateOptions, outputOption, runReducer, withOutput, type FilterFlags, type InputOptions, collect } from './common.js';
import { UsageError } from '../util/errors.js';
import { displayWindow, plural } from '../render/format.js';

export const BASELINE_FORMATS = ['json'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: string;
  out?: string;
  merge: string[];
}

/**
 * Reads baseline files into one state, each subject by subject into a spilling state (any size,
 * bounded memory; readBaselineFile); any file that cannot be read or is not a baseline is a usage error.
 */
async function readBaselines(flag: string, files: string[]) {
  const { profiles, readBaselineFile } = await import('../analyses/baseline/index.js');
  let state = profiles.init({ examples: 0 });
  for (const f of files) state = profiles.merge(state, await readBaselineFile(f, flag));
  return state;
}

const BASELINE_MARK = /"kind"\s*:\s*"kaudit\.baseline"/;

/**
 * A baseline given where a log is expected (`--merge a.json b.json` reads b.json as a log, whose
 * lines would all be rejected): a usage error naming the file and the way to merge it.
 */
async function refuseBaselinesAsLogs(inputs: string[]): Promise<void> {
  const { open, stat } = await import('node:fs/promises');
  for (const p of inputs) {
    if (p === '-' || p.includes('=')) continue;
    try {
      if (!(await stat(p)).isFile()) continue;
      const fh = await open(p, 'r');
      try {
        const buf = Buffer.alloc(512);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        if (BASELINE_MARK.test(buf.subarray(0, bytesRead).toString('utf8'))) {
          throw new UsageError(`${visible(p)} is a baseline, not an audit log`, `merge baselines with --merge ${visible(p)} (once per file) or audit baseline merge FILE…`);
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      // Unreadable paths are reported by the reader, with the others.
    }
  }
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('baseline')
    .summary('per-subject behaviour profiles (what, where, from where, when, how much) as versioned JSON')
    .description(
      'Build one profile per subject: (verb, resource, namespace) tuples with counts and first/last seen, namespaces, source IPs and /24 networks, clients and user agents, activity by hour and weekday, daily volume and denied rate. The JSON goes to standard output, or to --out FILE. Baselines merge: --merge FILE (repeatable) adds a baseline to the logs read, and `audit baseline merge A B…` merges baseline files only.',
    );
  // Options after `merge` are merge's own (its --out, -o, -q), not baseline's.
  cmd.enablePositionalOptions();
  addInputOptions(cmd);
  addJobsOption(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd);
  cmd
    .addOption(outputOption(BASELINE_FORMATS, 'json'))
    .option('--merge <file>', 'merge this baseline file in (repeatable: --merge a.json --merge b.json; with no log input, merges files only)', collect, []);
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit baseline logs/last-30-days/ --out baseline.json
  $ audit baseline merge march.json april.json --out spring.json
  $ audit baseline logs/may/ --merge spring.json --out to-may.json
  $ audit anomalies logs/today/ --baseline baseline.json`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Per-subject state up to the memory budget, spilled and merged back: it outlives V8's young
      // generation, and V8's default growth let the heap reach several times what was live (issue 15).
      collectSooner();
      const { profiles } = await import('../analyses/baseline/index.js');
      // Each shard's state would carry the merged files again: merge them once, in audit merge.
      if (opts.saveState && opts.merge.length) throw new UsageError('--merge cannot be combined with --save-state', 'save the shards without --merge, then merge the baseline files in the final step: audit merge --command baseline --merge old.json STATE…');
      if (!opts.mergeStates) await refuseBaselinesAsLogs(inputs);
      // A --merge file may be the output (updating a baseline in place): it is read whole first,
      // and the output replaces it atomically.
      await withOutput(
        io,
        opts.saveState ? undefined : opts.out,
        opts.quiet,
        async (target) => {
          let state = await readBaselines('--merge', opts.merge);
          let acc = (await import('../pipeline.js')).emptyAccounting();
          if (!opts.merge.length || inputs.length > 0) ({ state, accounting: acc } = await runReducer(io, inputs, { ...opts, outputs: target.outputs, bodies: NO_BODIES }, { command: 'baseline', options: { examples: 0 }, reducer: profiles, state }));
          await write(target.io, io, opts, profiles.finish(state, { input: acc }), target.path);
        },
        false,
      );
      setExit(0);
    });

  const merge = cmd
    .command('merge')
    .summary('merge baseline files into one')
    .description('Merge baselines (of other periods or clusters) into one: the result equals the baseline of all their logs at once. Every file must be a baseline written by audit baseline; anything else is an error.')
    .argument('<files...>', 'baseline files');
  merge.addOption(outputOption(BASELINE_FORMATS, 'json')).option('-q, --quiet', 'no summary line on stderr');
  addOutOption(merge)
    .addHelpText(
      'after',
      `
Examples:
  $ audit baseline merge march.json april.json --out spring.json
  $ audit baseline merge prod.json staging.json > all.json`,
    )
    .action(async (files: string[], opts: { output: string; out?: string; quiet?: boolean }) => {
      const { profiles } = await import('../analyses/baseline/index.js');
      await withOutput(
        io,
        opts.out,
        opts.quiet,
        async (target) => {
          const state = await readBaselines('audit baseline merge', files);
          await write(target.io, io, opts, profiles.finish(state, { input: (await import('../pipeline.js')).emptyAccounting() }), target.path);
        },
        false,
      );
      setExit(0);
    });
}

/** Writes the baseline subject by subject (a baseline of a million subjects is never one string), then the summary line. */
async function write(out: IO, io: IO, opts: { quiet?: boolean }, file: import('../analyses/baseline/index.js').BaselineFile, path: string | undefined): Promise<void> {
  const [{ writeJson, memberCount }, { Out }] = await Promise.all([import('../render/stream.js'), import('./out.js')]);
  const sink = new Out(out.stdout);
  writeJson(sink, file);
  sink.flush();
  if (!opts.quiet) {
    const to = path !== undefined ? `; written to ${visible(path)}` : '';
    io.stderr.write(`baseline: ${plural(memberCount(file.subjects), 'subject')}, ${plural(file.requests, 'request')}, ${displayWindow(file.window.from, file.window.to)} (${plural(file.days, 'day')})${to}\n`);
  }
}
