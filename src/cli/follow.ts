// `audit follow PATH… --to SINK`: tail live audit logs and forward them, with checkpoints.
// Parses and checks options, wires signals (SIGTERM/SIGINT stop, a second one stops waiting,
// SIGHUP reopens) and calls follow() from src/follow, which a library user can call too.
import { Option, type Command } from 'commander';
import type { IO } from './io.js';
import { addFilterOptions, clusterFlags, collect, intOption, type FilterFlags } from './common.js';
import { addRuleOptions, ruleLoadOptions, type RuleFlags } from './rules.js';
import { UsageError } from '../util/errors.js';
import { visible } from '../render/sanitize.js';
import { parseDurationMs } from '../util/duration.js';

interface Opts extends FilterFlags, RuleFlags {
  to: string[];
  state?: string;
  statusFile?: string;
  statusInterval: string;
  raw?: boolean;
  findings?: boolean;
  records?: boolean;
  cluster: string[];
  startAt: 'beginning' | 'end';
  batchMaxEvents: number;
  batchMaxBytes: string;
  batchWait: string;
  retryInitial: string;
  retryMax: string;
  pollInterval: string;
  rotateWait: string;
  checkpointInterval: string;
  shutdownTimeout: string;
  requestTimeout: string;
  deadLetterDir?: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  hostname?: string;
  deniedBurst: string;
  maxLineBytes?: number;
  quiet?: boolean;
}

const duration = (flag: string) => (v: string) => (parseDurationMs(flag, v), v);

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('follow')
    .summary('tail live audit logs and forward them to a SIEM, with checkpoints and nothing lost')
    .description(
      'Follow audit logs as tail -F does (appends, rotation by rename, truncation, files that appear later) and forward normalized records (as audit export writes them), raw events (--raw) or detection findings (--findings) to one or more sinks, in batches, with retries. --state keeps read positions, written only after every sink acknowledged, so a restart (even after kill -9) loses nothing. Runs until SIGTERM or SIGINT (flush, checkpoint, exit 0); SIGHUP reopens files.',
    )
    .argument('<paths...>', 'audit log files to follow (they may not exist yet); NAME=PATH labels records with a cluster name')
    .option('--to <sink>', 'where to send (repeatable): stdout, file:PATH[?max-size=100M&keep=5], syslog://HOST:PORT, syslog+tls://HOST:PORT, syslog+udp://HOST:PORT, splunk-hec://HOST:PORT, elasticsearch://HOST:PORT/INDEX, http(s)://URL', collect, [])
    .option('--state <file>', 'checkpoint file: read positions and the stage-collapse window, written atomically after every sink acknowledged')
    .option('--status-file <file>', 'JSON status (per-file offsets and lag, per-sink delivered/retried/dead-lettered/dropped), rewritten every --status-interval')
    .option('--status-interval <duration>', 'how often the status line and --status-file are refreshed', duration('--status-interval'), '1s')
    .option('--raw', 'forward each audit event as written (every stage), instead of one normalized record per request')
    .option('--findings', 'forward detection findings (the detection rules, evaluated live: built-in, --rules, --sigma) instead of records')
    .option('--records', 'with --findings: forward the records as well')
    .option('--cluster <name>', 'label the records of unlabelled paths with this cluster name', collect, [])
    .addOption(new Option('--start-at <where>', 'where to start in a file the checkpoint does not know').choices(['beginning', 'end']).default('beginning'))
    .option('--batch-max-events <n>', 'items per batch at most', intOption('--batch-max-events'), 500)
    .option('--batch-max-bytes <size>', 'bytes per batch at most (64k, 1M…)', '1M')
    .option('--batch-wait <duration>', 'send a batch this long after its first item at the latest', duration('--batch-wait'), '200ms')
    .option('--retry-initial <duration>', 'first wait before a retry (doubling, with jitter)', duration('--retry-initial'), '500ms')
    .option('--retry-max <duration>', 'longest wait between retries (a Retry-After from the sink is honoured, up to 15 minutes)', duration('--retry-max'), '30s')
    .option('--poll-interval <duration>', 'look at the files at least this often (file-system notification wakes earlier)', duration('--poll-interval'), '500ms')
    .option('--rotate-wait <duration>', 'keep reading a rotated file until it has been quiet this long', duration('--rotate-wait'), '5s')
    .option('--checkpoint-interval <duration>', 'longest time between checkpoint writes while batches are acknowledged (a small checkpoint is written after nearly every batch: writes take at most ~5% of the time)', duration('--checkpoint-interval'), '1s')
    .option('--shutdown-timeout <duration>', 'on SIGTERM, wait this long for the sinks before exiting (the checkpoint keeps what was not delivered)', duration('--shutdown-timeout'), '20s')
    .option('--request-timeout <duration>', 'timeout of one request or connection to a sink', duration('--request-timeout'), '30s')
    .option('--dead-letter-dir <dir>', 'where items a sink refuses for good are written, one file per sink (default: the --state file’s directory, else the current directory)')
    .option('--ca <file>', 'CA certificates (PEM) to verify TLS sinks with, instead of the system ones')
    .option('--cert <file>', 'client certificate (PEM) for TLS sinks that ask for one')
    .option('--key <file>', 'private key (PEM) of --cert')
    .option('--insecure', 'do not verify TLS certificates (never the default; for tests only)')
    .option('--hostname <name>', 'HOSTNAME of syslog messages and host of HEC events (default: this machine’s name)')
    .option('--denied-burst <n/minutes>', 'with --findings: the K8S-DENIED-BURST rule: N denials from one subject within M minutes', '10/5')
    .option('--max-line-bytes <n>', 'reject lines longer than this (default 64 MiB)', intOption('--max-line-bytes'))
    .option('-q, --quiet', 'no status line and no notes on stderr (gaps and sink failures are still shown)');
  addFilterOptions(cmd);
  addRuleOptions(cmd);
  cmd
    .addHelpText(
      'after',
      `
Secrets come from the environment, never from flags:
  KAUDIT_HEC_TOKEN            Splunk HEC token (or ?token-env=NAME on the sink)
  KAUDIT_ES_API_KEY           Elasticsearch/OpenSearch API key, sent as "ApiKey <value>" (or ?api-key-env=NAME)
  KAUDIT_HTTP_AUTHORIZATION   Authorization header value for http(s):// sinks

Examples:
  $ audit follow /var/log/kubernetes/audit/audit.log --state /var/lib/kaudit/state.json \\
      --to elasticsearch://es.internal:9200/k8s-audit-%Y.%m.%d --ca /etc/kaudit/ca.pem
  $ KAUDIT_HEC_TOKEN=… audit follow audit.log --state state.json --to 'splunk-hec://splunk:8088?index=k8s'
  $ audit follow audit.log --findings --to syslog+tls://siem:6514 --ca ca.pem --status-file /run/kaudit/status.json`,
    )
    .action(async (paths: string[], opts: Opts) => {
      const { resolve, dirname } = await import('node:path');
      const { statSync, readFileSync, existsSync } = await import('node:fs');
      const { hostname } = await import('node:os');
      const { splitLabel } = await import('../ingest/sources.js');
      const { compileFilterSets } = await import('../filter/sets.js');
      const { makeSink, parseSize } = await import('../follow/sinks/index.js');
      const { follow } = await import('../follow/index.js');
      const ms = (flag: string, v: string): number => parseDurationMs(flag, v);

      if (opts.records && !opts.findings) throw new UsageError('--records only makes sense with --findings', 'records are sent by default; add --findings to send findings as well');
      if (opts.raw && opts.findings && !opts.records) throw new UsageError('--raw with --findings sends findings only; --raw has no effect', 'add --records to send raw events and findings, or drop --raw');
      if (opts.key && !opts.cert) throw new UsageError('--key without --cert', 'pass the client certificate with --cert and its key with --key');
      const burst = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(opts.deniedBurst);
      if (!burst || Number(burst[1]) < 1 || Number(burst[1]) > 10_000 || !(Number(burst[2]) > 0)) throw new UsageError(`--denied-burst: ${JSON.stringify(opts.deniedBurst)} is not N/MINUTES`, 'e.g. --denied-burst 10/5 (10 denials within 5 minutes; N from 1 to 10000)');
      const ruleFlags = opts.rules.length + opts.sigma.length + opts.onlyRules.length + opts.disableRule.length + opts.enableRule.length;
      if (ruleFlags && !opts.findings) throw new UsageError('--rules, --sigma, --only-rules, --disable-rule and --enable-rule choose the rules of --findings', 'add --findings (and --records to send the records as well)');
      let rules = null;
      if (opts.findings) {
        const { loadRuleSet } = await import('../rules/detections.js');
        rules = await loadRuleSet({ ...ruleLoadOptions(opts), thresholds: { 'K8S-DENIED-BURST': { count: Number(burst[1]), withinMs: Number(burst[2]) * 60_000 } } });
        if (!opts.quiet) for (const w of rules.warnings) io.stderr.write(`${visible(w)}\n`);
      }

      const { names: labels, pairs } = clusterFlags(opts.cluster);
      if (labels.length > 1) throw new UsageError('--cluster: one label for the unlabelled paths', 'label paths one by one with NAME=PATH');
      const seen = new Set<string>();
      const files: { path: string; cluster: string }[] = [];
      for (const arg of [...paths, ...pairs]) {
        const { cluster, path } = splitLabel(arg);
        const abs = resolve(path);
        let dir = false;
        try {
          dir = statSync(abs).isDirectory();
        } catch {
          /* not there yet: followed once it appears */
        }
        if (dir) throw new UsageError(`${path} is a directory`, `follow the log file itself, e.g. ${path.replace(/\/$/, '')}/audit.log (rotated files next to it are found by name)`);
        if (seen.has(abs)) continue;
        seen.add(abs);
        files.push({ path: abs, cluster: cluster || labels[0] || '' });
      }

      // Nothing kaudit writes may be a followed log: a status file over the log replaced the
      // evidence, a file sink into it fed kaudit its own output without end.
      const identity = (p: string): string | null => {
        try {
          const st = statSync(p);
          return `${st.dev}:${st.ino}`;
        } catch {
          return null;
        }
      };
      const followed = new Map<string, string>();
      for (const f of files) {
        followed.set(f.path, f.path);
        const id = identity(f.path);
        if (id) followed.set(id, f.path);
      }
      const written: [string, string][] = [['--status-file', opts.statusFile ?? ''], ['--state', opts.state ?? ''], ...opts.to.filter((t) => t.startsWith('file:')).map((t): [string, string] => ['--to', t.slice(5).replace(/\?.*$/, '')])];
      for (const [flag, file] of written) {
        if (!file) continue;
        const abs = resolve(file);
        const hit = followed.get(abs) ?? followed.get(identity(abs) ?? '');
        if (hit) throw new UsageError(`${flag}: ${file} is the followed log ${hit}; writing it would destroy the input`, 'write to another file');
      }
      for (const [flag, file] of [['--status-file', opts.statusFile], ['--state', opts.state]] as const) {
        if (file && !existsSync(dirname(resolve(file)))) throw new UsageError(`${flag}: the directory of ${file} does not exist`, 'create it first, or choose a file in an existing directory');
      }
      const read = (flag: string, f: string | undefined): Buffer | undefined => {
        if (!f) return undefined;
        try {
          return readFileSync(f);
        } catch (e) {
          throw new UsageError(`${flag}: cannot read ${f} (${(e as Error).message})`, 'pass a readable PEM file');
        }
      };
      const tls = { ca: read('--ca', opts.ca), cert: read('--cert', opts.cert), key: read('--key', opts.key ?? (opts.cert ? opts.cert : undefined)), insecure: opts.insecure === true };
      const requestTimeout = ms('--request-timeout', opts.requestTimeout);
      const specs = opts.to.length ? opts.to : ['stdout'];
      const sinks = specs.map((s) => makeSink(s, { env: io.env, tls, stdout: io.stdout, hostname: opts.hostname ?? hostname(), timeoutMs: requestTimeout }));
      if (new Set(sinks.map((s) => s.name)).size !== sinks.length) throw new UsageError('--to: the same sink twice', 'name each destination once');
      if (opts.insecure && !opts.quiet) io.stderr.write('audit follow: warning: --insecure: TLS certificates are not verified; anyone on the path can read and change what is sent\n');

      const { filter } = compileFilterSets([{ ...opts, cluster: [] }], io.now(), false);
      const stop = new AbortController();
      const hardStop = new AbortController();
      let hup: (() => void) | undefined;
      const onSignal = (): void => (stop.signal.aborted ? hardStop.abort() : stop.abort());
      const onHup = (): void => hup?.();
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      process.on('SIGHUP', onHup);
      try {
        await follow(
          {
            paths: files,
            sinks,
            statePath: opts.state ? resolve(opts.state) : undefined,
            statusPath: opts.statusFile ? resolve(opts.statusFile) : undefined,
            statusIntervalMs: ms('--status-interval', opts.statusInterval),
            deadLetterDir: resolve(opts.deadLetterDir ?? (opts.state ? dirname(resolve(opts.state)) : '.')),
            raw: opts.raw === true,
            records: !opts.findings || opts.records === true,
            findings: opts.findings === true,
            rules,
            filter,
            startAtEnd: opts.startAt === 'end',
            batch: { maxEvents: opts.batchMaxEvents, maxBytes: parseSize('--batch-max-bytes', opts.batchMaxBytes), waitMs: ms('--batch-wait', opts.batchWait), maxQueued: 2 },
            retry: { initialMs: ms('--retry-initial', opts.retryInitial), maxMs: ms('--retry-max', opts.retryMax) },
            pollMs: Math.max(10, ms('--poll-interval', opts.pollInterval)),
            rotateWaitMs: ms('--rotate-wait', opts.rotateWait),
            checkpointIntervalMs: ms('--checkpoint-interval', opts.checkpointInterval),
            shutdownTimeoutMs: ms('--shutdown-timeout', opts.shutdownTimeout),
            maxLineBytes: opts.maxLineBytes ?? 64 << 20,
            collapse: FOLLOW_COLLAPSE,
            quiet: opts.quiet === true,
          },
          { stderr: io.stderr, now: () => Date.now() },
          { stop: stop.signal, hardStop: hardStop.signal, onReopen: (f) => (hup = f) },
        );
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        process.off('SIGHUP', onHup);
      }
      setExit(0);
    });
}

/**
 * Follow's stage-collapse window: 10,000 requests waiting for their completion (open watches,
 * long execs) at most, so the checkpoint that saves them stays a few MB; 50,000 completed IDs
 * remembered to absorb late stages.
 */
export const FOLLOW_COLLAPSE = { maxPending: 10_000, maxDone: 50_000 };
