// What the `audit view` page and its command line say when the caps left requests out: the same
// sentence on stderr and on the page, with the exact numbers and the flag that changes them.
import { formatCount } from '../../view-page/format.js';
import type { ViewReport } from './index.js';

/** The notice for a summary whose caps left requests out ('' when none were). */
export function capNotice(s: ViewReport['summary']): string {
  if (s.leftOut <= 0) return '';
  const flag = s.cappedBy === 'max-bytes' ? '--max-bytes' : '--max-rows';
  const byMemory = s.cappedBy !== 'max-bytes' && s.maxRowsBudget !== undefined;
  const cap =
    s.cappedBy === 'max-bytes'
      ? `--max-bytes ${formatCount(s.maxBytes)}: the page holds ${formatCount(s.bytes)} bytes of data`
      : `--max-rows ${formatCount(s.maxRows)}${byMemory ? `, the default for --memory ${mebibytes(s.maxRowsBudget!)}` : ''}`;
  const until = s.leftOutUntil ? `; the newest left out is from ${s.leftOutUntil}` : '';
  const raise = byMemory ? '--max-rows (or --memory, which sets its default: a row for every 2 KB, up to 500,000)' : flag;
  return `This page holds the newest ${formatCount(s.calls)} of the ${formatCount(s.matched)} requests that matched: ${formatCount(s.leftOut)} older ones were left out (${cap}${until}). To see them, raise ${raise} or narrow the run with the command-line filters (--since, --until, --user, --namespace…).`;
}

/** A byte count as --memory takes it: whole MiB as `256M`, else whole KiB as `64k`, else bytes. */
function mebibytes(n: number): string {
  if (n % 2 ** 20 === 0) return `${n / 2 ** 20}M`;
  if (n % 1024 === 0) return `${n / 1024}k`;
  return String(n);
}
