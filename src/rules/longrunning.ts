// Long-running requests: their duration is a session (a watch, an exec shell), not a latency.
// The API server's own latency SLIs leave out WATCH and CONNECT requests for the same reason.
import type { AuditRecord } from '../types.js';

export const LONG_RUNNING_VERBS: ReadonlySet<string> = new Set(['watch']);
export const LONG_RUNNING_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward', 'proxy']);

export function isLongRunning(r: AuditRecord): boolean {
  if (LONG_RUNNING_VERBS.has(r.verb) || LONG_RUNNING_SUBRESOURCES.has(r.subresource)) return true;
  return r.subresource === 'log' && r.requestURI.includes('follow=true');
}
