// Renderers registered by name. A report kind supplies a View for the generic renderers; JSON and
// YAML print the canonical report itself. Renderers are pure: report in, string out, no clock.
import type { RenderContext, View } from '../types.js';
import { renderJson } from './json.js';
import { renderViewMarkdown } from './markdown.js';
import { renderYaml, yamlDumper } from './sanitize.js';
import { stringSink, writeJson, writeYaml, type Sink } from './stream.js';
import { asInternal } from '../util/errors.js';
import { faultCounter } from '../util/fault.js';

export interface Presentable<R> {
  report: R;
  view: (r: R) => View;
}

type ReportRenderer = <R>(p: Presentable<R>, ctx: RenderContext) => string | Promise<string>;

export const REPORT_RENDERERS: Readonly<Record<string, ReportRenderer>> = {
  // Loaded when a table is asked for: its width measurement (string-width) and colours (chalk)
  // take about 30 ms to load, which a run printing JSON or YAML never needs.
  table: async (p, ctx) => (await import('./table.js')).renderViewTable(p.view(p.report), ctx),
  wide: async (p, ctx) => (await import('./table.js')).renderViewTable(p.view(p.report), { ...ctx, wide: true }),
  json: (p) => renderJson(p.report),
  markdown: (p) => renderViewMarkdown(p.view(p.report)),
  yaml: async (p) => {
    if (p.report === null || typeof p.report !== 'object' || Array.isArray(p.report)) return renderYaml(p.report);
    const sink = stringSink();
    writeYaml(sink, p.report as Record<string, unknown>, await yamlDumper());
    return sink.text();
  },
};

/** KAUDIT_TEST_FAULT=renderer:N (util/fault.ts): read once, nothing installed when unset. */
let fault: (() => void) | null | undefined;

/** Renders a report; a renderer's exception is an internal error of the `renderer` component. */
export async function renderReport<R>(format: string, p: Presentable<R>, ctx: RenderContext): Promise<string> {
  const r = Object.hasOwn(REPORT_RENDERERS, format) ? REPORT_RENDERERS[format] : undefined;
  if (!r) throw new Error(`no renderer named ${format}`);
  try {
    if (fault === undefined) fault = faultCounter('renderer');
    fault?.();
    return await r(p, ctx);
  } catch (e) {
    throw asInternal(e, 'renderer', '');
  }
}

/**
 * Writes a report to `sink`: JSON and YAML stream it (a LazyList in it item by item, so a report
 * of any size is never one string); the other formats render their view, which holds a bounded
 * number of rows. A renderer's exception is an internal error of the `renderer` component.
 */
export async function writeReport<R>(sink: Sink, format: string, p: Presentable<R>, ctx: RenderContext): Promise<void> {
  try {
    if (format === 'json') {
      if (fault === undefined) fault = faultCounter('renderer');
      fault?.();
      writeJson(sink, p.report);
    } else if (format === 'yaml' && p.report !== null && typeof p.report === 'object' && !Array.isArray(p.report)) {
      if (fault === undefined) fault = faultCounter('renderer');
      fault?.();
      writeYaml(sink, p.report as Record<string, unknown>, await yamlDumper());
    } else {
      sink.write(await renderReport(format, p, ctx));
      return;
    }
  } catch (e) {
    throw asInternal(e, 'renderer', '');
  }
}
