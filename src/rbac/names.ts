// Names for generated objects and files. Audit data is attacker-controlled: everything that becomes
// a Kubernetes name or a path is reduced to DNS-1123 characters, bounded, and made unique by a hash.
import { createHash } from 'node:crypto';

const MAX = 63;

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 6);
}

/**
 * A DNS-1123 label (lowercase alphanumerics and '-', starting and ending alphanumeric, ≤ 63 chars).
 * When the input had to change (or was cut), a hash of the original keeps distinct inputs distinct.
 */
export function dnsLabel(raw: string, prefix = ''): string {
  const cleaned = (prefix + raw)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  const exact = cleaned === prefix + raw && cleaned.length <= MAX && cleaned !== '';
  if (exact) return cleaned;
  const h = shortHash(raw);
  const room = MAX - h.length - 1;
  const head = cleaned.slice(0, room).replace(/-+$/g, '') || 'x';
  return `${head}-${h}`;
}

/** A file name inside an output directory: DNS-1123 characters only, so no separator or `..` can appear. */
export function safeFileName(raw: string, ext: string): string {
  const label = dnsLabel(raw);
  // Names Windows reserves for devices (con.yaml is the console there) get the hash too.
  return `${/^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/.test(label) ? `${label}-${shortHash(raw)}` : label}.${ext}`;
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
