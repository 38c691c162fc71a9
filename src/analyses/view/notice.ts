// What the `audit view` page and its command line say when the caps left requests out: the same
// sentence on stderr and on the page, with the exact numbers and the flag that changes them.
import { formatCount } from '../../view-page/format.js';
import type { ViewReport } from './index.js';

/** The notice for a summary whose caps left requests out ('' when none were). */
export function capNotice(s: ViewReport['summary']): string {
  if (s.leftOut <= 0) return '';
  const flag = s.cappedBy === 'max-bytes' ? '--max-bytes' : '--max-rows';
  const cap =
    s.cappedBy === 'max-bytes'
      ? `--max-bytes ${formatCount(s.maxBytes)}: the page holds ${formatCount(s.bytes)} bytes of data`
      : `--max-rows ${formatCount(s.maxRows)}`;
  const until = s.leftOutUntil ? `; the newest left out is from ${s.leftOutUntil}` : '';
  return `This page holds the newest ${formatCount(s.calls)} of the ${formatCount(s.matched)} requests that matched: ${formatCount(s.leftOut)} older ones were left out (${cap}${until}). To see them, raise ${flag} or narrow the run with the command-line filters (--since, --until, --user, --namespace…).`;
}
