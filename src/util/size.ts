// Byte sizes on the command line: 256MB, 1GiB, 64k, 1000000.
import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20, g: 1e9, gb: 1e9, gib: 1 << 30 };

/** Parses a size with an optional decimal (kB, MB, GB) or binary (KiB, MiB, GiB) unit; a UsageError naming the flag otherwise. */
export function parseBytes(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a size`, `use a number with an optional unit: 256MB, 1GiB, 500000`);
  return Math.round(Number(m[1]) * unit);
}
