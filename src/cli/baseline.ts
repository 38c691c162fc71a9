// `audit baseline FILES… -o baseline.json`: per-subject behaviour profiles, versioned JSON.
import { NO_BODIES } from '../normalize/bodies.js';
import type { Command } from 'commander';
import { visible } from '../render/sanitize.js';
import type { IO } from './io.js';
import { addFilterOptions, addInputOptions, addJobsOption, addStateOptions, runReducer, type FilterFlags, type InputOptions, collect } from './common.js';
import { UsageError } from '../util/errors.js';

interface Opts extends InputOptions, FilterFlags {
  output?: string;
  merge: string[];
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('baseline')
    .summary('per-subject behaviour profiles (what, where, from where, when, how much) as versioned JSON')
    .description('Build one profile per subject: (verb, resource, namespace) tuples with counts and first/last seen, namespaces, source IPs and /24 networks, clients and user agents, activity by hour and weekday, daily volume and denied rate. Baselines merge: --merge a.json b.json.');
  addInputOptions(cmd);
  addJobsOption(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd);
  cmd
    .option('-o, --output <file>', 'write the baseline to FILE (default: stdout)')
    .option('--merge <file>', 'merge this baseline file in (repeatable; with no log input, merges files only)', collect, [])
    .addHelpText(
      'after',
      `
Examples:
  $ audit baseline logs/last-30-days/ -o baseline.json
  $ audit baseline --merge march.json april.json -o spring.json
  $ audit anomalies logs/today/ --baseline baseline.json`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      const { profiles, fromFile } = await import('../analyses/baseline/index.js');
      const { readFile } = await import('node:fs/promises');
      const { prepareOutputFile } = await import('./outfile.js');
      // Each shard's state would carry the merged files again: merge them once, in audit merge.
      if (opts.saveState && opts.merge.length) throw new UsageError('--merge cannot be combined with --save-state', 'save the shards without --merge, then merge the baseline files in the final step: audit merge --command baseline --merge old.json STATE…');
      // Checked before anything is read. A --merge file may be the output (updating a baseline in
      // place): it is read whole first, and the output replaces it atomically.
      // '-' is standard output, as for inputs (it was a file named '-').
      const out = opts.output && opts.output !== '-' && !opts.saveState ? prepareOutputFile('-o', opts.output) : null;
      let state = profiles.init({ examples: 0 });
      for (const f of opts.merge) {
        let text: string;
        try {
          text = await readFile(f, 'utf8');
        } catch (e) {
          throw new UsageError(`--merge: cannot read ${f} (${(e as Error).message})`, 'pass baseline files written by audit baseline -o');
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new UsageError(`--merge: ${f} is not JSON`, 'pass baseline files written by audit baseline -o');
        }
        profiles.merge(state, fromFile(parsed, f));
      }
      let acc = (await import('../pipeline.js')).emptyAccounting();
      if (!opts.merge.length || inputs.length > 0) ({ state, accounting: acc } = await runReducer(io, inputs, { ...opts, outputs: out ? [out] : [], bodies: NO_BODIES }, { command: 'baseline', options: { examples: 0 }, reducer: profiles, state }));
      const file = profiles.finish(state, { input: acc });
      const text = JSON.stringify(file, null, 2) + '\n';
      if (out) {
        await out.write(text);
        if (!opts.quiet) io.stderr.write(`baseline: ${Object.keys(file.subjects).length} subjects, ${file.requests} requests, ${file.window.from ?? '-'} → ${file.window.to ?? '-'} (${file.days} days) written to ${visible(out.path)}\n`);
      } else io.stdout.write(text);
      setExit(0);
    });
}
