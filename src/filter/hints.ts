// Why a filter matched nothing, when the log can tell: the window the log covers (for --since and
// --until), names close to a --user, --impersonator, --actor or --namespace that matched nothing,
// resources close to an unknown --resource, and the requests --user leaves out because the user
// made them while impersonating someone. It watches every record before the filters (bounded
// memory: a few candidates per value typed) and says only what is true of the records it saw.
//
// What "these logs" means under the pre-filter: lines the pre-filter skipped cannot match the
// filters, but they were not read either. A value of flag F with no hit among the records read is
// absent from the logs when the pre-filter looked for nothing but F (a line holding it would have
// been read), and otherwise absent from the requests that could match the other filters; the notes
// say which.
import type { AuditRecord, InputAccounting } from '../types.js';
import { compileFilter, globMatcher, listOf, parseTimeArg, resourceMatches, resourceSpecs, subjectPatterns, type FilterOptions } from './index.js';
import { suggestBuiltin } from './resolve.js';
import { editDistance, typoBudget } from '../util/suggest.js';
import { displayTime, displayWindow, plural } from '../render/format.js';
import { quoted, visible } from '../render/sanitize.js';

/** Distinct values examined per flag before the hints stop looking at new ones. */
const MAX_EXAMINED = 50_000;
/** Close names kept per value typed. */
const KEEP = 5;

/** How close `value` is to what was typed (lower is closer), or null when it is not close. */
function closeness(typed: string, value: string): number | null {
  if (value === '' || value === typed) return null;
  const t = typed.toLowerCase();
  const v = value.toLowerCase();
  if (t === v) return 0;
  const parts = v.split(/[@:/]/);
  if (parts.includes(t)) return 1;
  if (t.length >= 3 && v.includes(t)) return 2;
  if (v.length >= 3 && t.includes(v)) return 3;
  const budget = typoBudget(t);
  const d = editDistance(t, v, budget);
  return d <= budget ? 3 + d : null;
}

/** One value typed for one flag: whether any record held it, and the closest values seen. */
class Wanted {
  hit = false;
  readonly glob: boolean;
  readonly close: { value: string; score: number }[] = [];
  private readonly match: (s: string) => boolean;
  constructor(
    readonly typed: string,
    /** The flag the value came with, when not the dimension's (--serviceaccount among --user). */
    readonly flag?: string,
  ) {
    this.glob = /[*?]/.test(typed);
    this.match = globMatcher([typed]);
  }
  see(value: string): boolean {
    if (this.match(value)) {
      this.hit = true;
      return true;
    }
    return false;
  }
  consider(value: string): void {
    if (this.glob || this.hit) return;
    const score = closeness(this.typed, value);
    if (score === null) return;
    if (this.close.some((c) => c.value === value)) return;
    this.close.push({ value, score });
    this.close.sort((a, b) => a.score - b.score || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    if (this.close.length > KEEP) this.close.pop();
  }
  /** `; close names seen: "a", "b"` or ''. */
  suggestions(label: string): string {
    if (this.close.length === 0) return '';
    return `; ${label} seen: ${this.close.map((c) => quoted(c.value)).join(', ')}`;
  }
}

/** The values typed for one flag, with the record field(s) they are compared with. */
class Dimension {
  readonly wanted: Wanted[];
  private readonly examined = new Set<string>();
  constructor(
    readonly flag: string,
    typed: string[],
    flags: (string | undefined)[] = [],
  ) {
    this.wanted = typed.map((t, i) => new Wanted(t, flags[i]));
  }
  /** Looks at one value a record holds for this flag; true when it matches something typed. */
  see(value: string): boolean {
    let any = false;
    for (const w of this.wanted) if (w.see(value)) any = true;
    if (value !== '' && !this.examined.has(value) && this.examined.size < MAX_EXAMINED) {
      this.examined.add(value);
      for (const w of this.wanted) w.consider(value);
    }
    return any;
  }
}

export interface HintContext {
  accounting: InputAccounting;
  /** The flags whose values the pre-filter looked for (CompiledFilters.prefilterFlags). */
  prefilterFlags: string[];
}

/** A line for stderr: `note: …` (why nothing matched) or `warning: …` (a value that cannot match). */
export interface Hint {
  level: 'note' | 'warning';
  text: string;
}

export class FilterHints {
  private minMs = Infinity;
  private maxMs = -Infinity;
  private inWindow = 0;
  private readonly sinceMs: number | null;
  private readonly untilMs: number | null;
  private readonly users: Dimension;
  private readonly impersonators: Dimension;
  private readonly actors: Dimension;
  private readonly namespaces: Dimension;
  private readonly resources: { spec: ReturnType<typeof resourceSpecs>[number]; hit: boolean; close: Wanted }[];
  private readonly resourcesSeen = new Set<string>();
  /** Requests whose impersonator matched --user (which --user does not select). */
  private asImpersonator = 0;
  private readonly userMatchesImpersonator: boolean;
  /** The requests `--actor` would add: made by a --user while impersonating, and kept by every other filter. */
  private readonly asImpersonatorFilter: ((r: AuditRecord) => boolean) | null;

  constructor(
    private readonly o: FilterOptions,
    now: number,
  ) {
    this.sinceMs = o.since ? parseTimeArg('--since', o.since, now) : null;
    this.untilMs = o.until ? parseTimeArg('--until', o.until, now) : null;
    const users = subjectPatterns(o);
    const userFlags = [...listOf(o.user).map(() => undefined), ...listOf(o.serviceaccount).map((sa) => `--serviceaccount ${sa}`)];
    this.users = new Dimension('--user', users, userFlags);
    // The same filters with the --user/--serviceaccount names moved to --impersonator: the count
    // the note gives is exactly what --actor adds (it counted them before the other filters).
    this.asImpersonatorFilter = users.length ? compileFilter({ ...o, user: [], serviceaccount: [], impersonator: [...listOf(o.impersonator), ...users] }, now) : null;
    this.userMatchesImpersonator = !!o.userMatchesImpersonator;
    this.impersonators = new Dimension('--impersonator', listOf(o.impersonator));
    this.actors = new Dimension('--actor', listOf(o.actor));
    this.namespaces = new Dimension('--namespace', listOf(o.namespace));
    this.resources = resourceSpecs(o).map((spec) => ({ spec, hit: false, close: new Wanted(spec.resource) }));
  }

  /** Called with every record, before the filters. */
  observe = (r: AuditRecord): void => {
    const t = r.timeMs;
    if (t === t) {
      if (t < this.minMs) this.minMs = t;
      if (t > this.maxMs) this.maxMs = t;
      if ((this.sinceMs === null || t >= this.sinceMs) && (this.untilMs === null || t < this.untilMs)) this.inWindow++;
    }
    if (this.users.wanted.length) {
      this.users.see(r.subject);
      if (this.userMatchesImpersonator) {
        if (r.impersonator) this.users.see(r.impersonator);
      } else if (r.impersonator && this.asImpersonatorFilter!(r)) this.asImpersonator++;
    }
    if (this.impersonators.wanted.length && r.impersonator) this.impersonators.see(r.impersonator);
    if (this.actors.wanted.length) {
      this.actors.see(r.subject);
      if (r.impersonator) this.actors.see(r.impersonator);
    }
    if (this.namespaces.wanted.length) this.namespaces.see(r.namespace);
    if (this.resources.length && r.resource) {
      for (const x of this.resources) if (!x.hit && resourceMatches(x.spec, r)) x.hit = true;
      if (!this.resourcesSeen.has(r.resource) && this.resourcesSeen.size < MAX_EXAMINED) {
        this.resourcesSeen.add(r.resource);
        for (const x of this.resources) if (!x.spec.known) x.close.consider(r.resource);
      }
    }
  };

  /** The notes and warnings for stderr, in a fixed order. */
  hints(ctx: HintContext): Hint[] {
    const acc = ctx.accounting;
    const nothing = acc.used === 0;
    const skipped = acc.prefiltered > 0;
    const out: Hint[] = [];
    /** "in these logs" when the pre-filter skipped nothing that could hold this flag's values. */
    const where = (flag: string): string => (!skipped || ctx.prefilterFlags.every((f) => f === flag) ? 'in these logs' : 'among the requests that could match the other filters');
    const sawAny = this.minMs <= this.maxMs;

    if (nothing && sawAny && (this.sinceMs !== null || this.untilMs !== null) && this.inWindow === 0) {
      const asked = [this.sinceMs !== null ? `--since ${this.o.since} (${displayTime(this.sinceMs)})` : '', this.untilMs !== null ? `--until ${this.o.until} (${displayTime(this.untilMs)})` : ''].filter(Boolean).join(' and ');
      const span = displayWindow(this.minMs, this.maxMs);
      const others = ctx.prefilterFlags.filter((f) => f !== '--since' && f !== '--until');
      const whose = skipped ? `the requests that could match ${others.join(', ')} span` : 'the logs span';
      let why = 'no request falls in the window asked for';
      if (this.sinceMs !== null && this.sinceMs > this.maxMs) why = 'it starts after the last request';
      else if (this.untilMs !== null && this.untilMs <= this.minMs) why = 'it ends before the first request';
      out.push({ level: 'note', text: `${asked}: ${why}; ${whose} ${span}` });
    }

    // With the text of several flags looked for, a line is skipped unread when any one is missing:
    // the records seen then say nothing about which flag left the requests out (each flag would be
    // blamed), so one note says that instead.
    const unknowable = nothing && skipped && ctx.prefilterFlags.length > 1;
    if (unknowable) {
      out.push({ level: 'note', text: `no request matched; ${plural(acc.prefiltered, 'line')} without the text of one of ${ctx.prefilterFlags.join(', ')} ${acc.prefiltered === 1 ? 'was' : 'were'} skipped unread, so which filter left the requests out is not known (--no-prefilter reads every line and says which)` });
    }
    for (const [dim, label, noun] of [
      [this.users, 'close names', 'subject'],
      [this.impersonators, 'close names', 'impersonator'],
      [this.actors, 'close names', 'subject or impersonator'],
      [this.namespaces, 'close namespaces', 'namespace'],
    ] as const) {
      if (!nothing || (unknowable && ctx.prefilterFlags.includes(dim.flag))) continue;
      for (const w of dim.wanted) {
        if (w.hit) continue;
        const what = w.glob ? `no ${noun} matches ${quoted(w.typed)}` : `no ${noun} ${quoted(w.typed)}`;
        // Lines the pre-filter skipped were never read: close names in them cannot be known.
        const unseen = !w.glob && skipped && ctx.prefilterFlags.length > 0 && ctx.prefilterFlags.every((f) => f === dim.flag) && w.suggestions(label) === '' ? `; lines without that text were skipped unread, so no ${label} are known (--no-prefilter reads every line and lists them)` : '';
        out.push({ level: 'note', text: `${visible(w.flag ?? dim.flag)}: ${what} ${where(dim.flag)}${w.suggestions(label)}${unseen}` });
      }
    }

    if (this.asImpersonator > 0) {
      const names = subjectPatterns(this.o).join(',');
      out.push({ level: 'note', text: `--user matches the subject only: ${visible(names)} also made ${plural(this.asImpersonator, 'request')} while impersonating someone, left out here; --actor ${visible(names)} includes them, --impersonator ${visible(names)} selects only them` });
    }

    for (const x of this.resources) {
      if (x.hit) continue;
      if (!x.spec.known) {
        const seen = x.close.close.map((c) => c.value);
        const builtin = suggestBuiltin(x.spec.resource).filter((b) => !seen.includes(b));
        const all = [...seen, ...builtin].slice(0, 3);
        const mean = all.length ? `; did you mean ${all.map((s) => quoted(s)).join(' or ')}?` : '';
        out.push({ level: 'warning', text: `--resource: no resource ${quoted(x.spec.input)} ${where('--resource')}${mean}` });
      } else if (nothing && !(unknowable && ctx.prefilterFlags.includes('--resource'))) {
        const shown = `${x.spec.resource}${x.spec.group !== undefined ? `.${x.spec.group || 'core'}` : ''}${x.spec.subresource !== undefined ? `/${x.spec.subresource}` : ''}`;
        out.push({ level: 'note', text: `--resource ${visible(x.spec.input)} (${visible(shown)}): no request on it ${where('--resource')}` });
      }
    }
    return out;
  }
}
