// `audit baseline FILES… -o baseline.json`: per-subject behaviour profiles, versioned JSON.
import type { Command } from 'commander';
import { visible } from '../render/sanitize.js';
import type { IO } from './io.js';
import { addFilterOptions, addInputOptions, addJobsOption, runReducer, type FilterFlags, type InputOptions, collect } from './common.js';

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
      const { profiles, readBaselineFile } = await import('../analyses/baseline/index.js');
      const { writeJson, memberCount } = await import('../render/stream.js');
      const { Out } = await import('./out.js');
      const { prepareOutputFile } = await import('./outfile.js');
      // Checked before anything is read. A --merge file may be the output (updating a baseline in
      // place): it is read whole first (into the state, which spills past the memory budget), and
      // the output replaces it atomically.
      const out = opts.output ? prepareOutputFile('-o', opts.output) : null;
      let state = profiles.init({ examples: 0 });
      for (const f of opts.merge) profiles.merge(state, await readBaselineFile(f, '--merge'));
      let acc = (await import('../pipeline.js')).emptyAccounting();
      if (!opts.merge.length || inputs.length > 0) ({ state, accounting: acc } = await runReducer(io, inputs, { ...opts, outputs: out ? [out] : [], bodies: false }, { command: 'baseline', options: { examples: 0 }, reducer: profiles, state }));
      const file = profiles.finish(state, { input: acc });
      // Written subject by subject: a baseline of a million subjects is never one string.
      if (out) {
        const stream = out.open();
        try {
          const sink = new Out(stream);
          writeJson(sink, file);
          sink.flush();
        } catch (e) {
          stream.abort();
          throw e;
        }
        await stream.commit();
        if (!opts.quiet) io.stderr.write(`baseline: ${memberCount(file.subjects)} subjects, ${file.requests} requests, ${file.window.from ?? '-'} → ${file.window.to ?? '-'} (${file.days} days) written to ${visible(out.path)}\n`);
      } else {
        const sink = new Out(io.stdout);
        writeJson(sink, file);
        sink.flush();
      }
      setExit(0);
    });
}
