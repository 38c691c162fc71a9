// `audit investigate FILES…`: who did what, when, from where, and how.
import { NO_BODIES } from '../normalize/bodies.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import type { AuditRecord } from '../types.js';
import type { FilterOptions } from '../filter/index.js';
import { addFilterOptions, addInputOptions, addOrderWindowOption, addOutOption, limitOption, outputOption, reportLate, runInputs, timeOrderOf, withOutput, type FilterFlags, type InputOptions, collect } from './common.js';
import { UsageError } from '../util/errors.js';
import { collectSooner } from '../util/v8heap.js';
import { Out } from './out.js';
import { PRESETS } from '../rules/presets.js';
import { MAX_ROWS } from '../render/cap.js';
import { VIEW_ROWS } from '../scale/lazy.js';
import { plural } from '../render/format.js';

export const INVESTIGATE_FORMATS = ['table', 'wide', 'json', 'jsonl', 'csv', 'yaml', 'markdown'] as const;

interface Opts extends InputOptions, FilterFlags {
  output: (typeof INVESTIGATE_FORMATS)[number];
  sourceIp: string[];
  userAgent: string[];
  client: string[];
  accessMethod: string[];
  auditId: string[];
  impersonated?: boolean;
  subresource: string[];
  apiGroup: string[];
  code: string[];
  subjectKind: string[];
  preset: string[];
  fields?: string;
  sort?: string;
  limit?: number;
  groupBy?: string;
  approx?: boolean;
  timeline?: string;
  out?: string;
  orderWindow: string;
}

/** Rows a terminal table shows unless --limit says otherwise. */
const TABLE_ROWS = 100;

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('investigate')
    .summary('filter, group and export API calls: who did what, when, from where, how')
    .description('Filter the requests and show them with the columns administrators look at, group them with counts and first/last seen, draw a timeline, or export exactly the filtered set.');
  addInputOptions(cmd);
  addFilterOptions(cmd);
  cmd
    .option('--source-ip <ip>', 'source address or CIDR block, IPv4 or IPv6 (repeatable)', collect, [])
    .option('--user-agent <text>', 'user agent contains TEXT, case-insensitive (repeatable)', collect, [])
    .option('--client <name>', 'parsed client: kubectl, browser, helm, deployment-controller… (glob; repeatable)', collect, [])
    .option('--access-method <m>', 'kubectl, browser, controller, automation, other (repeatable)', collect, [])
    .option('--audit-id <id>', 'audit ID (repeatable)', collect, [])
    .option('--impersonated', 'only requests made by impersonating someone')
    .option('--subresource <s>', 'subresource: log, exec, status, scale… (repeatable)', collect, [])
    .option('--api-group <g>', 'API group ("core" for the core group; repeatable)', collect, [])
    .option('--code <code>', 'HTTP status code or class, like --status (repeatable)', collect, [])
    .option('--subject-kind <kind>', 'User, ServiceAccount, Node, Anonymous, System, or Unauthenticated (failed authentication: no user) (repeatable)', collect, [])
    .option('--preset <name>', `a named question: ${Object.keys(PRESETS).join(', ')} (repeatable; all must match)`, collect, [])
    .option('--fields <list>', 'columns to show, comma-separated record fields (user, date, status, ip, ua are accepted)')
    .option('--sort <field>', 'sort by a field, a leading - for descending (--sort=-durationMs); without it requests print in time order as they stream, and --sort waits for every match to print any (exact order, by any field, however late a request was logged)')
    .option('--limit <n>', `show at most N requests (tables default to ${TABLE_ROWS}; 0: no limit)`, limitOption)
    .option('--group-by <fields>', 'count requests per combination of fields, with first and last seen: user,verb or namespace,resource')
    .option('--approx', 'with --group-by: keep the groups with the most requests in fixed memory (a sketch, no temporary files); counts become ranges that hold the true counts, the number of groups a HyperLogLog estimate with its standard error')
    .addOption(
      new Option('--timeline <bucket>', 'requests per HOUR or DAY (UTC), or AUTO (a bucket that fits the span); a bar chart in the terminal. Requests dated far outside the rest are listed apart').argParser((v) => {
        const b = v.toLowerCase();
        if (b !== 'hour' && b !== 'day' && b !== 'auto') throw new InvalidArgumentError('Allowed choices are hour, day, auto.');
        return b;
      }),
    )
    .addOption(outputOption(INVESTIGATE_FORMATS, 'table'));
  addOrderWindowOption(cmd);
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Presets:
${Object.entries(PRESETS)
  .map(([k, p]) => `  --preset ${k.padEnd(14)} ${p.description}`)
  .join('\n')}

Examples:
  $ audit investigate logs/ --verb delete --resource namespaces --name production
  $ audit investigate logs/ --preset secret-access --access-method kubectl --group-by user,namespace
  $ audit investigate logs/ --group-by user --approx -o csv > users.csv
  $ audit investigate logs/ --source-ip 203.0.113.0/24 --timeline hour
  $ audit investigate logs/ --preset exec --sort=-durationMs --limit 20 -o csv > exec.csv`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      const inv = await import('../analyses/investigate/index.js');
      const view = await import('../analyses/investigate/view.js');
      const { renderReport, writeReport } = await import('../render/index.js');
      const { recordWriter, RECORD_FIELDS } = await import('../render/records.js');
      const { csvRow } = await import('../render/sanitize.js');
      const more: FilterOptions[] = [
        {
          sourceIP: opts.sourceIp,
          userAgent: opts.userAgent,
          client: opts.client,
          accessMethod: opts.accessMethod,
          auditID: opts.auditId,
          impersonated: opts.impersonated,
          subresource: opts.subresource,
          apiGroup: opts.apiGroup,
          code: opts.code,
          subjectKinds: opts.subjectKind,
        },
      ];
      for (const name of opts.preset.flatMap((p) => p.split(','))) {
        const p = Object.hasOwn(PRESETS, name.trim()) ? PRESETS[name.trim()] : undefined;
        if (!p) throw new UsageError(`--preset: unknown preset ${JSON.stringify(name)}`, `use one of ${Object.keys(PRESETS).join(', ')}`);
        more.push(p.filter);
      }
      const fields = opts.fields ? opts.fields.split(',').map((f) => inv.resolveField('--fields', f.trim())) : [];
      const sort = opts.sort ? inv.parseSort(opts.sort) : null;
      // The external sort holds records up to the memory budget: 1M distinct users took 1.07 GB with
      // V8's default heap growth, 0.43 GB with collectSooner (src/util/v8heap.ts). YAML: 0.5 GB.
      // --group-by holds its groups up to the budget (exact) or churns sketch entries (--approx): at
      // 1M distinct users, -o csv took 1.24 GB exact / 0.31 GB --approx by default, 0.52 / 0.21 GB with it.
      if (sort || opts.output === 'yaml' || opts.groupBy) collectSooner();
      // Listings print in time order unless --sort orders them (group-by and timeline need no order).
      const timeOrder = sort || opts.groupBy || opts.timeline ? undefined : await timeOrderOf(opts.orderWindow);
      if (opts.approx && !opts.groupBy) throw new UsageError('--approx needs --group-by', 'add --group-by FIELDS (counts in fixed memory); listings and timelines are exact and bounded without it');
      if (opts.groupBy && opts.timeline) throw new UsageError('--group-by and --timeline cannot be combined', 'pick one: counts per field values, or counts per time bucket');
      await withOutput(io, opts.out, opts.quiet, async (target) => {
        const ctx = renderContext(target.io);
        const out = new Out(target.io.stdout);
        const run = { ...opts, outputs: target.outputs, bodies: NO_BODIES };

        if (opts.groupBy) {
          const gf = opts.groupBy.split(',').map((f) => inv.resolveField('--group-by', f.trim()));
          const state = inv.groupBy.init({ fields: gf, ...(opts.approx ? { approx: true } : {}) });
          const acc = await runInputs(io, inputs, run, (r) => inv.groupBy.add(state, r), more);
          // Tables and Markdown show the VIEW_ROWS groups with the most requests and count the rest:
          // a top-N selection over the merged groups, in memory for those few whatever their number.
          if (!opts.approx && (opts.output === 'table' || opts.output === 'wide' || opts.output === 'markdown')) {
            const top = inv.topGroups(state, { input: acc }, VIEW_ROWS);
            await writeReport(out, opts.output, { report: top, view: view.groupView }, ctx);
          } else {
            const rep = inv.groupBy.finish(state, { input: acc });
            if (opts.output === 'csv') {
              const cols = [...gf, ...view.groupColumns(rep)];
              out.write(csvRow(cols));
              for (const row of view.groupRows(rep)) out.write(csvRow(cols.map((c) => row[c])));
            } else if (opts.output === 'jsonl') for (const row of view.groupRows(rep)) out.write(JSON.stringify(row) + '\n');
            else await writeReport(out, opts.output, { report: rep, view: view.groupView }, ctx);
          }
        } else if (opts.timeline) {
          const state = inv.timeline.init({ bucket: opts.timeline as 'hour' | 'day' | 'auto' });
          const acc = await runInputs(io, inputs, run, (r) => inv.timeline.add(state, r), more);
          const rep = inv.timeline.finish(state, { input: acc });
          if (opts.output === 'csv') {
            out.write(csvRow(['start', 'requests', 'denied']));
            for (const b of rep.buckets) out.write(csvRow([b.start, b.count, b.denied]));
          } else if (opts.output === 'jsonl') for (const b of rep.buckets) out.write(JSON.stringify(b) + '\n');
          else out.write(await renderReport(opts.output, { report: rep, view: view.timelineView }, ctx));
          if (!opts.quiet && rep.outliers.requests > 0 && (opts.output === 'csv' || opts.output === 'jsonl')) {
            io.stderr.write(`note: ${plural(rep.outliers.requests, 'request')} dated far outside the rest (before ${rep.outliers.window!.from} or from ${rep.outliers.window!.to}) left off the timeline; -o json lists them\n`);
          }
        } else {
          // JSON, JSON lines, CSV and YAML stream the records (through an external sort with --sort);
          // only tables and Markdown hold what they show.
          const streamed = opts.output === 'json' || opts.output === 'jsonl' || opts.output === 'csv' || opts.output === 'yaml';
          const chosen = fields.length ? fields : RECORD_FIELDS;
          if (streamed && !sort) {
            // Stream exactly the filtered set (up to --limit), in time order.
            const writer = await recordWriter(opts.output, chosen);
            const limit = opts.limit ?? Infinity;
            let n = 0;
            out.write(writer.header());
            await runInputs(io, inputs, run, (r) => {
              if (n++ < limit) out.write(writer.row(r));
            }, more, false, timeOrder);
            out.write(writer.footer());
          } else {
            // A terminal table shows at most MAX_ROWS rows: holding more would only cost memory.
            const terminal = opts.output === 'table' || opts.output === 'wide';
            const limit = Math.min(opts.limit ?? (streamed ? Infinity : TABLE_ROWS), terminal ? MAX_ROWS : Infinity);
            const listing = new inv.Listing(limit, sort);
            try {
              await runInputs(io, inputs, run, (r) => listing.add(r), more, false, timeOrder);
              if (streamed) {
                const writer = await recordWriter(opts.output, chosen);
                out.write(writer.header());
                for (const r of listing.sorted()) out.write(writer.row(r));
                out.write(writer.footer());
              } else {
                const records: AuditRecord[] = listing.finish();
                const rep: import('../analyses/investigate/view.js').ListingReport = { kind: 'kaudit.investigate', version: 1, matched: listing.matched, records, fields };
                out.write(await renderReport(opts.output, { report: rep, view: view.listingView }, ctx));
              }
            } finally {
              listing.dispose();
            }
          }
        }
        out.flush();
      });
      reportLate(io, opts.quiet, opts.orderWindow, timeOrder);
      setExit(0);
    });
}
