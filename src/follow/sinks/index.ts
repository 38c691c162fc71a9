// `--to SINK`: parsed and checked at start-up (usage errors name the flag and the fix), then built.
// Secrets come from environment variables only: a URL with a password or a token is refused,
// because command lines show in `ps` and shell history.
import type { Sink, TlsSettings } from '../types.js';
import { UsageError } from '../../util/errors.js';
import { StdoutSink, FileSink } from './file.js';
import { SyslogSink, FACILITIES, type SyslogTransport } from './syslog.js';
import { HecSink } from './hec.js';
import { ElasticsearchSink, checkIndexPattern } from './elasticsearch.js';
import { HttpSink } from './http.js';

export interface SinkContext {
  env: NodeJS.ProcessEnv;
  tls: TlsSettings;
  stdout: NodeJS.WritableStream;
  /** HOSTNAME in syslog messages and `host` in HEC events. */
  hostname: string;
  timeoutMs: number;
}

export const SINK_HELP = `stdout | file:PATH[?max-size=100M&keep=5] | syslog://HOST:PORT (TCP) | syslog+tls://HOST:PORT | syslog+udp://HOST:PORT | splunk-hec://HOST:PORT (token in $KAUDIT_HEC_TOKEN) | elasticsearch://HOST:PORT/INDEX (API key in $KAUDIT_ES_API_KEY) | http(s)://URL (NDJSON)`;

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, m: 1 << 20, mb: 1 << 20, g: 1 << 30, gb: 1 << 30 };

/** `100M`, `64k`, `1048576`. */
export function parseSize(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)$/i.exec(v.trim());
  if (!m || !(m[2]!.toLowerCase() in SIZE_UNITS)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a size`, 'use bytes or a unit: 65536, 64k, 100M, 1G');
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

/** Splits `scheme://rest` into a URL that Node parses (the scheme replaced) and the original scheme. */
function urlOf(spec: string, scheme: string, as: string): URL {
  let u: URL;
  try {
    u = new URL(as + spec.slice(scheme.length));
  } catch {
    throw new UsageError(`--to ${JSON.stringify(spec)}: not a URL`, `write it as ${scheme}HOST:PORT…`);
  }
  if (u.username || u.password) {
    throw new UsageError(`--to ${scheme}…: credentials in the URL are refused (command lines show in ps and shell history)`, 'put the secret in the environment variable the sink reads (see audit follow --help)');
  }
  return u;
}

function options(u: URL, allowed: string[], spec: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of u.searchParams) {
    if (!allowed.includes(k)) throw new UsageError(`--to ${JSON.stringify(spec)}: unknown option ${JSON.stringify(k)}`, allowed.length ? `this sink takes ${allowed.join(', ')}` : 'this sink takes no options');
    m.set(k, v);
  }
  return m;
}

function secretFrom(env: NodeJS.ProcessEnv, name: string, spec: string, required: boolean): string | undefined {
  const v = env[name];
  if ((v === undefined || v === '') && required) throw new UsageError(`--to ${spec}: the environment variable ${name} is not set`, `export ${name}=… before starting audit follow (never pass secrets as flags)`);
  return v || undefined;
}

function port(u: URL, dflt: number): number {
  return u.port ? Number(u.port) : dflt;
}

/** Builds one sink from its `--to` value. Throws UsageError for anything wrong with it. */
export function makeSink(spec: string, ctx: SinkContext): Sink {
  if (spec === 'stdout' || spec === '-') return new StdoutSink(ctx.stdout);
  if (spec.startsWith('file:')) {
    const rest = spec.slice(5);
    const q = /\?((?:[\w-]+=[^&=?]*&?)+)$/.exec(rest);
    const path = q ? rest.slice(0, q.index) : rest;
    if (!path) throw new UsageError('--to file: needs a path', 'e.g. --to file:/var/log/kaudit/audit.jsonl?max-size=100M&keep=5');
    const opts = new Map(q ? [...new URLSearchParams(q[1])] : []);
    for (const k of opts.keys()) if (k !== 'max-size' && k !== 'keep') throw new UsageError(`--to ${JSON.stringify(spec)}: unknown option ${JSON.stringify(k)}`, 'file: takes max-size and keep');
    const keep = Number(opts.get('keep') ?? 5);
    if (!Number.isInteger(keep) || keep < 0) throw new UsageError(`--to ${spec}: keep must be a whole number`, 'e.g. keep=5');
    return new FileSink({ path, maxBytes: opts.has('max-size') ? parseSize('max-size', opts.get('max-size')!) : 0, keep });
  }
  const syslog: [string, SyslogTransport][] = [['syslog://', 'tcp'], ['syslog+tcp://', 'tcp'], ['syslog+tls://', 'tls'], ['syslog+udp://', 'udp']];
  for (const [scheme, transport] of syslog) {
    if (!spec.startsWith(scheme)) continue;
    const u = urlOf(spec, scheme, 'syslog://');
    const o = options(u, ['facility', 'app-name', 'max-message'], spec);
    const fac = o.get('facility') ?? 'local0';
    const facility = FACILITIES[fac] ?? (/^\d+$/.test(fac) && Number(fac) <= 23 ? Number(fac) : undefined);
    if (facility === undefined) throw new UsageError(`--to ${spec}: facility ${JSON.stringify(fac)} is unknown`, `use one of ${Object.keys(FACILITIES).join(', ')} or 0–23`);
    if (u.pathname && u.pathname !== '/') throw new UsageError(`--to ${spec}: a syslog address has no path`, `write ${scheme}HOST:PORT`);
    return new SyslogSink(
      {
        transport,
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: port(u, transport === 'tls' ? 6514 : 514),
        facility,
        hostname: ctx.hostname,
        appName: o.get('app-name') ?? 'kaudit',
        procId: String(process.pid),
        maxMessage: o.has('max-message') ? parseSize('max-message', o.get('max-message')!) : transport === 'udp' ? 65507 : 65536,
        connectTimeoutMs: ctx.timeoutMs,
      },
      ctx.tls,
    );
  }
  for (const scheme of ['splunk-hec://', 'splunk-hec+http://']) {
    if (!spec.startsWith(scheme)) continue;
    const u = urlOf(spec, scheme, scheme === 'splunk-hec://' ? 'https://' : 'http://');
    if (!u.port) u.port = '8088';
    const o = options(u, ['token-env', 'index', 'sourcetype', 'source'], spec);
    const envName = o.get('token-env') ?? 'KAUDIT_HEC_TOKEN';
    const token = secretFrom(ctx.env, envName, scheme, true)!;
    const path = u.pathname && u.pathname !== '/' ? u.pathname : '/services/collector/event';
    return new HecSink(u, { token, host: ctx.hostname, path, source: o.get('source') ?? 'kaudit', ...(o.get('index') ? { index: o.get('index') } : {}), ...(o.get('sourcetype') ? { sourcetype: o.get('sourcetype') } : {}) }, ctx.tls, ctx.timeoutMs);
  }
  for (const scheme of ['elasticsearch://', 'elasticsearch+http://', 'opensearch://', 'opensearch+http://']) {
    if (!spec.startsWith(scheme)) continue;
    const u = urlOf(spec, scheme, scheme.includes('+http') ? 'http://' : 'https://');
    if (!u.port) u.port = '9200';
    const o = options(u, ['api-key-env', 'pipeline'], spec);
    const index = decodeURIComponentSafe(u.pathname.replace(/^\//, '')) || 'kaudit-%Y.%m.%d';
    if (index.includes('/')) throw new UsageError(`--to ${spec}: the index is one path segment`, `write ${scheme}HOST:PORT/INDEX`);
    checkIndexPattern(index);
    const apiKey = secretFrom(ctx.env, o.get('api-key-env') ?? 'KAUDIT_ES_API_KEY', scheme, o.has('api-key-env'));
    u.pathname = '/';
    u.search = '';
    return new ElasticsearchSink(u, { index, ...(apiKey ? { apiKey } : {}), ...(o.get('pipeline') ? { pipeline: o.get('pipeline') } : {}) }, ctx.tls, ctx.timeoutMs);
  }
  if (spec.startsWith('http://') || spec.startsWith('https://')) {
    const u = urlOf(spec, spec.startsWith('https') ? 'https://' : 'http://', spec.startsWith('https') ? 'https://' : 'http://');
    return new HttpSink(u, ctx.env.KAUDIT_HTTP_AUTHORIZATION || undefined, ctx.tls, ctx.timeoutMs);
  }
  throw new UsageError(`--to ${JSON.stringify(spec)}: unknown sink`, `use ${SINK_HELP}`);
}

/** Percent signs in an index pattern are not percent-encoding (%Y): decode only real escapes. */
function decodeURIComponentSafe(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (m, h: string) => (/^[0-9A-Fa-f]{2}$/.test(h) && !/^[YmdH]/.test(h) ? String.fromCharCode(parseInt(h, 16)) : m));
}
