// The canonical report as JSON: every other format renders the same object.
export function renderJson(report: unknown): string {
  return JSON.stringify(report, null, 2) + '\n';
}
