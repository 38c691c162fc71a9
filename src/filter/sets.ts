// Filter sets that must all match (the common flags, investigate's extra flags and presets),
// compiled once per run into the record predicate and the raw-line pre-filter. The CLI and the
// worker threads both compile them here, so they filter alike.
import type { AuditRecord } from '../types.js';
import { compileFilter, type FilterOptions, type Predicate } from './index.js';
import { compilePrefilter, prefilterGroups, type Prefilter } from './prefilter.js';

export interface CompiledFilters {
  filter: Predicate;
  /** Undefined when no set is selective enough, or the pre-filter is off (--no-prefilter). */
  prefilter?: Prefilter;
  /** The flags whose values the pre-filter looks for in each line (empty without a pre-filter). */
  prefilterFlags: string[];
}

export function compileFilterSets(sets: FilterOptions[], now: number, prefilter: boolean): CompiledFilters {
  const checks = sets.map((f) => compileFilter(f, now));
  const filter = checks.length === 1 ? checks[0]! : (r: AuditRecord) => checks.every((c) => c(r));
  const pre = prefilter ? sets.map(compilePrefilter).filter((p): p is Prefilter => p !== null) : [];
  if (pre.length === 0) return { filter, prefilterFlags: [] };
  const prefilterFlags = [...new Set(sets.flatMap((s) => prefilterGroups(s).map((g) => g.flag)))];
  if (pre.length === 1) return { filter, prefilter: pre[0]!, prefilterFlags };
  // All must say "may match": a line the first one skips is skipped, so its needles serve the
  // bulk scanner (src/ingest/linescan.ts) for the whole.
  const all = (b: Buffer, start: number, end: number): boolean => pre.every((p) => p(b, start, end));
  return { filter, prefilter: Object.assign(all, { needles: pre[0]!.needles }), prefilterFlags };
}
