// Shared by the benchmark scripts: generated logs (cached in .bench-cache/) and timing a whole
// process with its peak RSS (VmHWM from /proc).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cache = join(root, '.bench-cache');

export const SIZES = { '20M': 2e7, '100M': 1e8, '200M': 2e8, '400M': 4e8, '1G': 1e9, '3G': 3e9, '5G': 5e9 };

/** The logs the benchmarks read: generator flags for each (see bench/run.mjs). */
export const LOGS = { metadata: [], bodies: ['--levels', 'RequestResponse=0.7'] };

/** CPU seconds (user + system) of this process's reaped children so far: cutime + cstime of /proc/self/stat. */
function childrenCpu() {
  const st = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(st[13]) + Number(st[14])) / 100;
}

export function run(cmd, args, keep = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let hwm = 0;
    const cpu0 = childrenCpu();
    // Output is kept only when asked for (a 5 GB log's CSV exceeds a string's maximum length).
    child.stdout.on('data', (d) => {
      if (keep) out += d;
    });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 10);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      // `cpu`: CPU seconds of the child (user + system, all its threads), once it has been reaped.
      else setImmediate(() => resolve({ secs, cpu: childrenCpu() - cpu0, rssMB: hwm / 1024, out }));
    });
  });
}

export async function dataset(label, log = 'metadata') {
  const bytes = SIZES[label];
  if (!bytes) throw new Error(`--size: use one of ${Object.keys(SIZES).join(', ')}`);
  if (!LOGS[log]) throw new Error(`--logs: use ${Object.keys(LOGS).join(', ')}`);
  const dir = join(cache, log === 'metadata' ? label : `${label}-${log}`);
  const file = join(dir, 'audit.log');
  const marker = join(dir, 'done.json');
  if (!existsSync(marker)) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`generating ${label} into ${dir} …\n`);
    await run(process.execPath, [join(root, 'dist/gen/cli.js'), '--out', dir, '--rotate', 'none', '--days', '365', '--scale', '1', '--seed', '1', '--max-bytes', String(bytes), ...LOGS[log]]);
    const { out } = await run(process.execPath, [join(root, 'bin/audit.js'), 'summary', file, '-o', 'json', '-q'], true);
    writeFileSync(marker, JSON.stringify({ events: JSON.parse(out).input.events }));
  }
  return { file, size: statSync(file).size, events: JSON.parse(readFileSync(marker, 'utf8')).events };
}

export function hasCommand(cmd) {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

