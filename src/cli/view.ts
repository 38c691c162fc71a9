// `audit view FILES… --out trail.html`: the audit trail as one offline HTML page, by commands or by
// API calls, with filters and CSV export.
import type { Command } from 'commander';
import { collectSooner } from '../util/v8heap.js';
import type { IO } from './io.js';
import { addClientFilterOptions, addFilterOptions, addInputOptions, clientFilters, intOption, outputOption, runInputs, type ClientFlags, type FilterFlags, type InputOptions } from './common.js';
import { UsageError } from '../util/errors.js';
import { budgetBytes, setBudget } from '../scale/budget.js';

export const VIEW_FORMATS = ['html', 'json'] as const;

interface Opts extends InputOptions, FilterFlags, ClientFlags {
  output: (typeof VIEW_FORMATS)[number];
  out?: string;
  maxRows?: number;
  maxBytes?: string;
  gap: string;
  orderWindow: string;
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('view')
    .summary('the audit trail as one offline HTML page: commands or API calls, filters, CSV export')
    .description(
      'Write one self-contained HTML page (no network access, data embedded) to explore the filtered requests in a browser: as the commands people typed (as audit commands) or as API calls (as audit investigate), with facet filters and counts, free-text search, a time histogram to brush, only denied/writes/humans, a detail pane with the full record, filters kept in the URL, and CSV or JSON lines export of exactly the rows shown (the bytes audit export -o csv writes for the same filters).',
    );
  addInputOptions(cmd);
  addFilterOptions(cmd);
  addClientFilterOptions(cmd);
  cmd
    .option('--gap <duration>', "a client's calls further apart than this belong to different commands (as audit commands)", '2s')
    .option('--order-window <duration>', 'calls logged up to this late are put back in time order before folding (as audit commands)', '30m')
    .option('--max-rows <n>', 'keep at most N requests, the newest; the page and stderr say how many were left out (default: one per 2 KB of --memory, up to 500000; 98304 at the default 192M)', intOption('--max-rows'))
    .option('--max-bytes <size>', "keep at most SIZE of data in the page (the JSON size of its distinct strings, plus 96 bytes a row), the newest requests that fit; bounds the page's size and this command's memory (default 128MB)")
    .option('--out <file>', 'write the page to FILE (required when stdout is a terminal)')
    .addOption(outputOption(VIEW_FORMATS as unknown as string[], 'html', 'output format (json: the report behind the page)'))
    .addHelpText(
      'after',
      `
Examples:
  $ audit view logs/ --out trail.html                       # then open trail.html in a browser
  $ audit view logs/ --since 24h --access-method kubectl --out today.html
  $ audit view logs/ --namespace production --max-rows 100000 --out prod.html`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Up to half a million rows stay live while the pipeline and the fold make short-lived
      // objects; V8's default let the old generation grow to about three times the live heap before
      // collecting it (1M-event log, default caps: 1.06 GB peak; with collectSooner about 0.73 GB).
      collectSooner();
      const [{ view, DEFAULT_VIEW, defaultMaxRows, DEFAULT_MAX_BYTES, capNotice }, { parseDurationMs }, { visible }, { parseBytes }] = await Promise.all([
        import('../analyses/view/index.js'),
        import('../util/duration.js'),
        import('../render/sanitize.js'),
        import('../util/size.js'),
      ]);
      const gapMs = parseDurationMs('--gap', opts.gap);
      const windowMs = parseDurationMs('--order-window', opts.orderWindow);
      const maxBytes = opts.maxBytes === undefined ? DEFAULT_MAX_BYTES : parseBytes('--max-bytes', opts.maxBytes);
      if (!opts.out && opts.output === 'html' && io.stdout.isTTY) throw new UsageError('the page is a large HTML file and stdout is a terminal', 'pass --out trail.html (or redirect stdout to a file)');
      // The destination is checked before anything is read (src/cli/outfile.ts).
      const { prepareOutputFile } = await import('./outfile.js');
      const out = opts.out ? prepareOutputFile('--out', opts.out) : null;
      // The page's script is read before the logs, so that a missing build fails fast.
      const html = opts.output === 'html' ? await import('../analyses/view/html.js') : null;
      const assets = html?.loadPageAssets();
      // Without --max-rows, the rows follow the memory budget (--memory, KAUDIT_MEMORY, 192M): at
      // up to 2 KB a row at the peak, half a million rows took 0.74–0.89 GB (bench/RESULTS.md).
      setBudget(opts.memory ?? null);
      const rows = opts.maxRows === undefined ? { maxRows: defaultMaxRows(budgetBytes()), maxRowsBudget: budgetBytes() } : { maxRows: opts.maxRows };
      const state = view.init({ ...DEFAULT_VIEW, ...rows, maxBytes, fold: { ...DEFAULT_VIEW.fold, gapMs }, reorder: { ...DEFAULT_VIEW.reorder, windowMs } });
      const input = await runInputs(io, inputs, { ...opts, outputs: out ? [out] : [] }, (r) => view.add(state, r), [clientFilters(opts)]);
      const report = view.finish(state, { input, command: ['audit', ...((program as Command & { rawArgs?: string[] }).rawArgs ?? ['view'])] });
      const s = report.summary;
      const what = `${s.calls} API calls, ${s.commands} commands`;
      // The page is written piece by piece as it is encoded (html.writeViewHtml): it never exists
      // whole in memory. A file is written to a temporary file renamed into place once complete.
      let bytes = 0;
      if (out) {
        const stream = out.open();
        try {
          if (html && assets) bytes = await html.writeViewHtml(report, assets, (t) => stream.write(t));
          else {
            const { renderJson } = await import('../render/json.js');
            const text = renderJson(report);
            bytes = Buffer.byteLength(text);
            stream.write(text);
          }
          await stream.commit();
        } catch (e) {
          stream.abort();
          throw e;
        }
        if (!opts.quiet) io.stderr.write(`view: ${what}; written to ${visible(out.path)} (${(bytes / 1e6).toFixed(1)} MB)\n`);
      } else {
        const stdout = io.stdout as NodeJS.WritableStream;
        const write = (t: string): Promise<void> | void => {
          if (stdout.write(t) !== false || typeof stdout.once !== 'function') return;
          return new Promise((resolve) => stdout.once('drain', () => resolve()));
        };
        if (html && assets) await html.writeViewHtml(report, assets, write);
        else {
          const { renderJson } = await import('../render/json.js');
          await write(renderJson(report));
        }
        if (!opts.quiet) io.stderr.write(`view: ${what}\n`);
      }
      // Last, where it is seen: requests left out by the caps are a warning (the page says it too, and -o json in its summary).
      if (s.leftOut > 0 && !opts.quiet) io.stderr.write(`view: warning: ${visible(capNotice(s))}\n`);
      setExit(0);
    });
}
