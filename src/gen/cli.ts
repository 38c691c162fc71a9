// `npm run gen -- --out DIR --days N --seed S [--scale X] [--start DATE] [--rotate gzip|plain|none] [--max-bytes N] [--levels Request=P,RequestResponse=Q]`
import { parseArgs } from 'node:util';
import { generate, DEFAULT_GEN, type GenOptions } from './index.js';
import { parseLevels } from './bodies.js';

function fail(msg: string): never {
  process.stderr.write(`gen: ${msg}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    days: { type: 'string' },
    seed: { type: 'string' },
    scale: { type: 'string' },
    start: { type: 'string' },
    rotate: { type: 'string' },
    'max-bytes': { type: 'string' },
    incidents: { type: 'boolean' },
    manifest: { type: 'string' },
    levels: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run gen -- --out DIR [--days 1] [--seed 1] [--scale 1] [--start 2026-03-02] [--rotate gzip|plain|none] [--max-bytes N] [--incidents [--manifest FILE]] [--levels Request=0.1,RequestResponse=0.6]\n');
  process.exit(0);
}
const num = (name: string, v: string | undefined, d: number): number => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${name}: ${JSON.stringify(v)} is not a non-negative number`);
  return n;
};
if (!values.out) fail('--out DIR is required');
const rotate = (values.rotate ?? 'gzip') as GenOptions['rotate'];
if (!['gzip', 'plain', 'none'].includes(rotate)) fail('--rotate: use gzip, plain or none');
const start = values.start ? (/^\d{4}-\d{2}-\d{2}$/.test(values.start) ? `${values.start}T00:00:00Z` : values.start) : DEFAULT_GEN.start;
if (Number.isNaN(Date.parse(start))) fail(`--start: ${JSON.stringify(values.start)} is not a date`);
const opts: GenOptions = {
  out: values.out,
  days: Math.max(1, Math.floor(num('days', values.days, 1))),
  seed: Math.floor(num('seed', values.seed, 1)),
  scale: num('scale', values.scale, 1),
  start,
  rotate,
  maxBytes: Math.floor(num('max-bytes', values['max-bytes'], 0)),
  incidents: values.incidents === true,
  ...(values.manifest ? { manifest: values.manifest } : {}),
};
if (values.levels !== undefined) {
  const shares = parseLevels(values.levels);
  if (typeof shares === 'string') fail(`--levels: ${shares}`);
  opts.levels = shares;
}
if (opts.manifest && !opts.incidents) fail('--manifest needs --incidents');
const t = Date.now();
const res = await generate(opts);
process.stderr.write(`gen: wrote ${res.events} events, ${(res.bytes / 1e6).toFixed(1)} MB uncompressed, in ${res.files.length} files under ${opts.out} (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
