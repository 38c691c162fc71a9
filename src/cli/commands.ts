// `audit commands FILES…`: the kubectl commands people typed, rebuilt from their API calls.
import { NO_BODIES } from '../normalize/bodies.js';
import { Option, type Command } from 'commander';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { addClientFilterOptions, addFilterOptions, addInputOptions, addOutOption, addStateOptions, clientFilters, limitOption, outputOption, runInputs, withOutput, type ClientFlags, type FilterFlags, type InputOptions } from './common.js';
import { Out } from './out.js';
import { collectSooner } from '../util/v8heap.js';
import { MAX_ROWS } from '../render/cap.js';
import { plural } from '../render/format.js';

export const COMMANDS_FORMATS = ['table', 'wide', 'json', 'csv', 'markdown'] as const;

interface Opts extends InputOptions, FilterFlags, ClientFlags {
  output: (typeof COMMANDS_FORMATS)[number];
  view: 'commands' | 'api-calls';
  slow?: string;
  gap: string;
  orderWindow: string;
  limit?: number;
  out?: string;
}

const TABLE_ROWS = 200;

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('commands')
    .summary('fold API calls back into the kubectl commands people typed, with latency')
    .description(
      "Group each client's calls (same user, source IP and user agent, close in time) into commands. kubectl bursts are split by command signature and rebuilt as shell-quoted command lines (kubectl get pods -A, kubectl exec web-0 -n staging -c app -- ls); other clients appear as bursts labelled with their client. Calls are taken in time order across all inputs. --user, --group, --cluster, --client, --access-method and --source-ip choose whose calls are folded; the other filters (--verb, --resource, --namespace, --name, --status, --since, --until…) keep the commands that have at least one matching call, whole.",
    );
  addInputOptions(cmd);
  addStateOptions(cmd);
  addFilterOptions(cmd);
  addClientFilterOptions(cmd);
  cmd
    .addOption(new Option('--view <view>', 'commands, or api-calls to show the calls under each command').choices(['commands', 'api-calls']).default('commands'))
    .option('--slow <duration>', 'only commands slower than this, or with a call slower than this: 500ms, 2s (other clients: their slowest call)')
    .option('--gap <duration>', "a client's calls further apart than this belong to different commands", '2s')
    .option('--order-window <duration>', 'calls logged up to this late (a watch or exec session is written when it ends) are put back in time order', '30m')
    .option('--limit <n>', `show at most N commands (tables default to ${TABLE_ROWS}; 0: no limit)`, limitOption)
    .addOption(outputOption(COMMANDS_FORMATS, 'table'));
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit commands logs/ --access-method kubectl
  $ audit commands logs/ --user alice@example.com --view api-calls
  $ audit commands apiserver-*.log.gz --namespace prod --verb delete
  $ audit commands logs/ --slow 500ms -o csv > slow-commands.csv`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Calls wait in the reorder and fold windows long enough to outlive V8's young generation:
      // 1M distinct users peaked at 0.48 GB with V8's default heap growth, 0.29 GB with
      // collectSooner (src/util/v8heap.ts).
      collectSooner();
      const { CommandFolder, LatencySummary, DEFAULT_FOLD } = await import('../analyses/commands/fold.js');
      const { commandsView, commandCsvHeader, commandCsvRow, commandJson } = await import('../analyses/commands/view.js');
      const { renderReport } = await import('../render/index.js');
      const { parseDurationMs } = await import('../util/duration.js');
      const { compileFilter } = await import('../filter/index.js');
      const { DEFAULT_REORDER } = await import('../order/reorder.js');
      type Cmd = import('../analyses/commands/fold.js').CommandRecord;
      const slowMs = opts.slow ? parseDurationMs('--slow', opts.slow) : null;
      const gapMs = parseDurationMs('--gap', opts.gap);
      const windowMs = parseDurationMs('--order-window', opts.orderWindow);
      const withCalls = opts.view === 'api-calls';
      // Who: chosen before folding (every call of a burst shares them). What and when: a command is kept
      // when one of its calls matches, so that a command is never cut by a filter.
      const { verb, resource, namespace, name, since, until, status, denied, allNamespaces, ...who } = opts;
      const select = compileFilter({ verb, resource, namespace, name, since, until, status, denied, allNamespaces }, io.now());
      await withOutput(io, opts.out, opts.quiet, async (target) => {
        const out = new Out(target.io.stdout);
        const latency = new LatencySummary();
        const kept: Cmd[] = [];
        let matched = 0;
        const table = opts.output === 'table' || opts.output === 'wide' || opts.output === 'markdown';
        // A terminal table shows at most MAX_ROWS rows: holding more would only cost memory.
        const limit = Math.min(opts.limit ?? (table ? TABLE_ROWS : Infinity), opts.output === 'table' || opts.output === 'wide' ? MAX_ROWS : Infinity);
        let firstJson = true;
        if (opts.output === 'csv') out.write(commandCsvHeader());
        if (opts.output === 'json') out.write('{\n  "kind": "kaudit.commands",\n  "version": 2,\n  "commands": [');
        const onCommand = (c: Cmd): void => {
          if (slowMs !== null && !((c.accessMethod === 'kubectl' && (c.durationMs ?? 0) > slowMs) || (c.slowestCallMs ?? 0) > slowMs)) return;
          matched++;
          latency.add(c);
          if (matched > limit) return;
          if (opts.output === 'csv') out.write(commandCsvRow(c));
          else if (opts.output === 'json') {
            out.write(`${firstJson ? '\n' : ',\n'}    ${JSON.stringify(commandJson(c), null, 2).replace(/\n/g, '\n    ')}`);
            firstJson = false;
          } else kept.push(c);
        };
        const folder = new CommandFolder(onCommand, { ...DEFAULT_FOLD, gapMs, keepCalls: withCalls, select });
        const timeOrder: NonNullable<Parameters<typeof runInputs>[6]> = { reorder: { ...DEFAULT_REORDER, windowMs } };
        const input = await runInputs(io, inputs, { ...who, verb: [], resource: [], namespace: [], name: [], status: [], outputs: target.outputs, bodies: NO_BODIES }, (r) => folder.add(r), [clientFilters(opts)], false, timeOrder);
        folder.flush();
        const late = timeOrder.stats?.late ?? 0;
        if (late > 0 && !opts.quiet) {
          io.stderr.write(`note: ${plural(late, 'call')} ${late === 1 ? 'was' : 'were'} logged more than --order-window (${opts.orderWindow}) after later calls (up to ${Math.round((timeOrder.stats?.maxLateMs ?? 0) / 1000)} s): folded where they came, and marked; a larger --order-window puts them in place\n`);
        }
        const types = latency.finish();
        const order = { late, maxLateMs: Math.round(timeOrder.stats?.maxLateMs ?? 0), windowMs };
        if (opts.output === 'json') {
          out.write(`${firstJson ? '' : '\n  '}],\n  "summary": ${JSON.stringify({ commands: matched, slowMs, latency: types, order }, null, 2).replace(/\n/g, '\n  ')},\n  "input": ${JSON.stringify(input, null, 2).replace(/\n/g, '\n  ')}\n}\n`);
        } else if (table) {
          out.write(await renderReport(opts.output, { report: { commands: kept, matched, latency: types, slowMs }, view: (r) => commandsView(r, withCalls) }, renderContext(target.io)));
        }
        out.flush();
      });
      setExit(0);
    });
}
