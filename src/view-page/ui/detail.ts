// The detail pane: the full normalized record of an API call (every field `audit export` writes,
// and the same record as JSON) or a command with its calls. All of it is text.
import { h, clear, show } from './dom.js';
import { jsonForTerminal } from '../../render/sanitize.js';
import { valueAt, textAt } from '../../analyses/view/columns.js';
import type { ViewData } from '../../analyses/view/payload.js';
import { canonicalRecord } from '../../render/records.js';
import { commandJson } from '../../analyses/commands/view.js';
import { commandAt, recordAt } from '../exporter.js';
import { fieldText, mark } from './cells.js';
import { formatMs, formatTime, zoneLabel } from '../format.js';

export interface DetailEvents {
  close(): void;
  openCall(row: number): void;
  openCommand(c: number): void;
}

export class DetailPane {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly title: HTMLElement;

  constructor(private readonly ev: DetailEvents) {
    this.title = h('h2', { class: 'd-title', attrs: { id: 'detail-title' } });
    this.body = h('div', { class: 'd-body' });
    const close = h('button', { class: 'd-close', text: '×', title: 'Close the details (Esc)', attrs: { type: 'button', 'aria-label': 'Close the details' }, on: { click: () => this.ev.close() } });
    this.el = h('aside', { class: 'detail', attrs: { role: 'region', 'aria-labelledby': 'detail-title', tabindex: '-1' } }, h('div', { class: 'd-head' }, this.title, close), this.body);
    this.el.hidden = true;
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.ev.close();
    });
  }

  hide(): void {
    this.el.hidden = true;
    clear(this.body);
  }

  private fields(rows: [string, string][]): HTMLElement {
    const dl = h('dl', { class: 'd-fields' });
    for (const [k, v] of rows) dl.append(h('dt', { text: k }), h('dd', { text: v }));
    return dl;
  }

  showCall(d: ViewData, row: number, local: boolean): void {
    const t = d.records;
    clear(this.body);
    this.title.textContent = 'API call';
    const time = t.col['timeMs'] ? (valueAt(t.col['timeMs'], row) as number) : NaN;
    const m = mark(d.flags[row]!).trim();
    this.body.append(
      h('p', { class: 'd-id' }, 'auditID ', h('code', { text: t.col['auditID'] ? textAt(t.col['auditID'], row) || '(none)' : '(none)' })),
      h('p', { class: 'd-when', text: `${formatTime(time, local)} ${zoneLabel(local, time)}${m ? ` · ${m}` : ''}` }),
    );
    const loc = d.locations;
    const file = loc.col['file'] ? textAt(loc.col['file'], row) : '';
    if (file) this.body.append(h('p', { class: 'd-loc', text: `Read from ${file}, ${String(valueAt(loc.col['unit']!, row) ?? 'line')} ${String(valueAt(loc.col['line']!, row))}` }));
    const c = d.rowCommand[row]!;
    if (c >= 0) {
      const cmd = d.commands.col['command'] ? textAt(d.commands.col['command'], c) : '';
      this.body.append(h('p', { class: 'd-cmd' }, 'Part of ', h('button', { class: 'link', text: cmd || 'a command', attrs: { type: 'button' }, on: { click: () => this.ev.openCommand(c) } })));
    }
    this.body.append(this.fields(t.fields.map((f, k) => [f, fieldText(valueAt(t.cols[k]!, row))])));
    // JSON keeps its own escapes: characters it leaves raw that would not display as themselves become \uXXXX (the same values).
    const pre = h('pre');
    pre.textContent = jsonForTerminal(JSON.stringify(canonicalRecord(recordAt(d, row)), null, 2));
    this.body.append(h('details', { class: 'd-json' }, h('summary', { text: 'As JSON (as audit export -o jsonl)' }), pre));
    this.el.hidden = false;
  }

  showCommand(d: ViewData, c: number, local: boolean): void {
    clear(this.body);
    const cmd = commandAt(d, c);
    this.title.textContent = show(cmd.accessMethod === 'kubectl' ? 'kubectl command' : `${cmd.client || 'client'} burst`);
    const m = mark(d.commandFlags[c]!).trim();
    this.body.append(h('pre', { class: 'd-line', text: cmd.command }));
    if (cmd.ambiguous) this.body.append(h('p', { class: 'd-amb', text: `(?) ${cmd.ambiguous}` }));
    this.body.append(h('p', { class: 'd-when', text: `${formatTime(cmd.startMs, local)} ${zoneLabel(local, cmd.startMs)} · ${formatMs(cmd.durationMs)}${m ? ` · ${m}` : ''}` }));
    const json = commandJson(cmd) as unknown as Record<string, unknown>;
    this.body.append(this.fields(Object.entries(json).map(([k, v]) => [k, fieldText(v)])));
    const list = h('ol', { class: 'd-calls', attrs: { 'aria-label': 'Its API calls' } });
    for (let k = d.commandStart[c]!; k < d.commandStart[c + 1]!; k++) {
      const row = d.commandRows[k]!;
      const r = recordAt(d, row);
      list.appendChild(h('li', {}, h('button', { class: 'link', text: `${r.verb.toUpperCase()} ${r.requestURI} → ${r.code || 'no status'}${mark(d.flags[row]!) ? ` ${mark(d.flags[row]!).trim()}` : ''} (${formatMs(r.durationMs)})`, title: `auditID ${r.auditID}`, attrs: { type: 'button' }, on: { click: () => this.ev.openCall(row) } })));
    }
    this.body.append(h('h3', { text: `API calls (${d.commandStart[c + 1]! - d.commandStart[c]!})` }), list);
    this.el.hidden = false;
  }
}
