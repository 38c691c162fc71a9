// Wrappers that hold many events under one key. Kept as data: the document reader streams these
// arrays element by element, and small one-line wrappers in JSON lines are expanded the same way.

/** Key → format name of the wrapper. */
export const CONTAINER_KEYS: ReadonlyMap<string, string> = new Map([
  ['items', 'eventlist'], // audit.k8s.io EventList (webhook batches), kubectl-style List
  ['records', 'azure-records'], // AKS diagnostic logs from Storage / Event Hubs
  ['events', 'cloudwatch-events'], // `aws logs filter-log-events`
  ['logEvents', 'cloudwatch-subscription'], // CloudWatch Logs subscription payload
  ['entries', 'cloud-logging-entries'], // Cloud Logging API `entries:list` response
  ['tables', 'log-analytics'], // Azure Monitor Log Analytics API response: tables of columns and rows
]);

/** A Log Analytics result table ({name, columns: [{name}], rows: [[…]]}) as one object per row. */
function tableRows(o: Record<string, unknown>): unknown[] | null {
  if (!Array.isArray(o.columns) || !Array.isArray(o.rows)) return null;
  const names = o.columns.map((c) => (c !== null && typeof c === 'object' ? String((c as Record<string, unknown>).name ?? '') : String(c)));
  return o.rows.map((row) => (Array.isArray(row) ? Object.fromEntries(names.map((n, i) => [n, row[i]])) : row));
}

/**
 * Returns the wrapped array and its format name when `v` is a wrapper object or an array (a line
 * of JSON lines holding an array of events is read like a top-level array in a document), else null.
 */
export function containerOf(v: unknown): { key: string; format: string; items: unknown[] } | null {
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) return { key: '', format: 'json-array', items: v };
  const o = v as Record<string, unknown>;
  // An audit event is never a wrapper, even if some future field collides with a key below. Whether
  // a member is there, not its value, decides: the pre-filter then knows from a line's first keys
  // that it is no wrapper (a later duplicate member can change a value, never remove a member).
  if (Object.hasOwn(o, 'verb') || Object.hasOwn(o, 'protoPayload')) return null;
  const rows = tableRows(o);
  if (rows) return { key: 'rows', format: 'log-analytics', items: rows };
  for (const [key, format] of CONTAINER_KEYS) {
    const items = o[key];
    if (Array.isArray(items)) return { key, format, items };
  }
  return null;
}
