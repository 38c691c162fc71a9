// Durations on the command line: 500ms, 2s, 1.5m.
import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a duration`, `use a number with a unit: 500ms, 2s, 1.5m`);
  return Number(m[1]) * UNITS[m[2]!]!;
}
