// The page's state in the URL fragment, so that a view can be bookmarked or sent as a link with the
// file: `#view=calls&user=alice%40example.com&ns=prod&q=secret&from=…&to=…&only=denied,writes&tz=local&sel=r12`.
// Pure (no DOM).
import { FLAG } from '../analyses/view/flags.js';
import type { Filters } from './engine.js';
import type { ViewKind } from './model.js';

export interface PageState {
  view: ViewKind;
  filters: Filters;
  /** Times in the browser's zone instead of UTC. */
  local: boolean;
  /** Oldest first instead of newest first. */
  asc: boolean;
  /** The row whose details are open: `r<index>` (API call) or `c<index>` (command); '' for none. */
  sel: string;
}

export const DEFAULT_STATE: PageState = { view: 'commands', filters: { facets: {}, q: '', from: null, to: null, require: 0 }, local: false, asc: false, sel: '' };

/** The "only …" toggles: fragment word → FLAG bit. */
export const ONLY: readonly { word: string; bit: number; label: string }[] = [
  { word: 'denied', bit: FLAG.denied, label: 'Only denied' },
  { word: 'writes', bit: FLAG.write, label: 'Only writes' },
  { word: 'humans', bit: FLAG.human, label: 'Only humans' },
];

const RESERVED = new Set(['view', 'q', 'from', 'to', 'only', 'tz', 'sort', 'sel']);

/** The fragment (without '#') for a state; facets in the order given by `facetOrder`, then the rest sorted. */
export function toFragment(s: PageState, facetOrder: readonly string[] = []): string {
  const p = new URLSearchParams();
  p.append('view', s.view);
  const keys = Object.keys(s.filters.facets).filter((k) => !RESERVED.has(k) && (s.filters.facets[k]?.length ?? 0) > 0);
  keys.sort((a, b) => {
    const ia = facetOrder.indexOf(a);
    const ib = facetOrder.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || (a < b ? -1 : a > b ? 1 : 0);
  });
  for (const k of keys) for (const v of s.filters.facets[k]!) p.append(k, v);
  if (s.filters.q) p.append('q', s.filters.q);
  if (s.filters.from !== null) p.append('from', new Date(Math.floor(s.filters.from)).toISOString());
  if (s.filters.to !== null) p.append('to', new Date(Math.floor(s.filters.to)).toISOString());
  const only = ONLY.filter((o) => s.filters.require & o.bit).map((o) => o.word);
  if (only.length) p.append('only', only.join(','));
  if (s.local) p.append('tz', 'local');
  if (s.asc) p.append('sort', 'asc');
  if (s.sel) p.append('sel', s.sel);
  return p.toString();
}

function time(v: string | null): number | null {
  if (v === null || v === '') return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

/** The state a fragment describes; anything unknown or malformed falls back to the default. */
export function fromFragment(fragment: string): PageState {
  const p = new URLSearchParams(fragment.startsWith('#') ? fragment.slice(1) : fragment);
  const facets: Record<string, string[]> = {};
  for (const [k, v] of p) {
    if (RESERVED.has(k)) continue;
    (facets[k] ??= []).push(v);
  }
  let require = 0;
  for (const w of (p.get('only') ?? '').split(',')) {
    const o = ONLY.find((x) => x.word === w.trim());
    if (o) require |= o.bit;
  }
  const view = p.get('view');
  const sel = p.get('sel') ?? '';
  return {
    view: view === 'calls' || view === 'commands' ? view : DEFAULT_STATE.view,
    filters: { facets, q: p.get('q') ?? '', from: time(p.get('from')), to: time(p.get('to')), require },
    local: p.get('tz') === 'local',
    asc: p.get('sort') === 'asc',
    sel: /^[rc]\d+$/.test(sel) ? sel : '',
  };
}
