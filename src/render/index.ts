// Renderers registered by name. A report kind supplies a View for the generic renderers; JSON and
// YAML print the canonical report itself. Renderers are pure: report in, string out, no clock.
import type { RenderContext, View } from '../types.js';
import { renderJson } from './json.js';
import { renderViewMarkdown } from './markdown.js';
import { renderViewTable } from './table.js';
import { renderYaml } from './sanitize.js';
import { asInternal } from '../util/errors.js';
import { faultCounter } from '../util/fault.js';

export interface Presentable<R> {
  report: R;
  view: (r: R) => View;
}

type ReportRenderer = <R>(p: Presentable<R>, ctx: RenderContext) => string | Promise<string>;

export const REPORT_RENDERERS: Readonly<Record<string, ReportRenderer>> = {
  table: (p, ctx) => renderViewTable(p.view(p.report), ctx),
  wide: (p, ctx) => renderViewTable(p.view(p.report), { ...ctx, wide: true }),
  json: (p) => renderJson(p.report),
  markdown: (p) => renderViewMarkdown(p.view(p.report)),
  yaml: (p) => renderYaml(p.report),
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
