// Names for generated objects and files. Audit data is attacker-controlled, and two subjects must
// never share an object or a file: names are made by an injective encoding (parseObjectName is its
// inverse), not by a cleanup that might map two subjects to one string.
//
// A name is `kaudit-[VARIANT-]KIND` followed by one of three disjoint families:
//   .READABLE       the identity itself when it is already a DNS-1123 subdomain (a service account
//                   as NAMESPACE.NAME: a namespace has no dot, so the first dot splits them);
//   -SLUG.BASE32    any other identity: a readable slug, then the identity's UTF-8 bytes in base32
//                   (RFC 4648, lowercase, unpadded), which alone decides the identity;
//   -SLUG.sha256-HEX  identities too long for the above (SHA-256 of the identity, 64 hex digits).
// The character after KIND ('.' or '-') tells the first family from the others, and a base32 tail
// never contains '-', so the families cannot meet. Every name is a DNS-1123 subdomain of at most
// MAX_NAME characters, all lowercase: valid for any Kubernetes object and safe as a file name on
// case-insensitive file systems.
import { createHash } from 'node:crypto';
import { isDnsLabel, isDnsSubdomain } from './request.js';
import { isWellFormed } from '../util/unicode.js';

export type NameKind = 'user' | 'sa' | 'group';
/** '' for the subject's main objects; 'ns' for the ClusterRole holding namespaced rules (--scope cluster). */
export type NameVariant = '' | 'ns';

/** Longest name produced: a file NAME.yaml stays within the 255 bytes file systems allow. */
export const MAX_NAME = 240;

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Character code → base32 digit value, -1 for any other character. */
const B32_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B32.length; i++) B32_VALUE[B32.charCodeAt(i)] = i;

/** RFC 4648 base32 of the UTF-8 bytes, lowercase, no padding. */
export function base32(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(Math.ceil((bytes.length * 8) / 5));
  let n = 0;
  let bits = 0;
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = ((value << 8) | bytes[i]!) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out[n++] = B32.charCodeAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out[n++] = B32.charCodeAt((value << (5 - bits)) & 31);
  return out.toString('latin1', 0, n);
}

/** The inverse of base32 (null for anything base32 never produces). */
export function unbase32(s: string): string | null {
  const bytes = Buffer.allocUnsafe(Math.floor((s.length * 5) / 8));
  let n = 0;
  let bits = 0;
  let value = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B32_VALUE[c]! : -1;
    if (v < 0) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes[n++] = (value >>> (bits - 8)) & 255;
      bits -= 8;
    }
  }
  const text = bytes.toString('utf8', 0, n);
  return base32(text) === s ? text : null;
}

function slug(identity: string): string {
  const s = identity
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
  return s || 'x';
}

/** How an identity is written in the readable family, or null when it cannot be. */
function readable(kind: NameKind, identity: string): string | null {
  if (kind === 'sa') {
    const colon = identity.indexOf(':');
    const ns = identity.slice(0, colon);
    const name = identity.slice(colon + 1);
    return colon > 0 && isDnsLabel(ns) && isDnsSubdomain(name) ? `${ns}.${name}` : null;
  }
  return isDnsSubdomain(identity) ? identity : null;
}

/**
 * The object name for a subject. `identity` is the user or group name, or `NAMESPACE:NAME` for a
 * service account. Distinct (kind, identity, variant) give distinct names (parseObjectName inverts
 * it), except that two identities longer than the base32 family allows would need a SHA-256 collision.
 */
export function objectName(kind: NameKind, identity: string, variant: NameVariant = ''): string {
  if (!isWellFormed(identity)) throw new Error(`internal error: ${JSON.stringify(identity)} is not well-formed UTF-16`);
  const head = `kaudit-${variant ? `${variant}-` : ''}${kind}`;
  const r = readable(kind, identity);
  if (r !== null && head.length + 1 + r.length <= MAX_NAME) return `${head}.${r}`;
  const s = slug(identity);
  // base32 of nothing is nothing; '0' (not a base32 digit) stands for the empty identity.
  const encoded = `${head}-${s}.${identity === '' ? '0' : base32(identity)}`;
  if (encoded.length <= MAX_NAME) return encoded;
  return `${head}-${s}.sha256-${createHash('sha256').update(identity, 'utf8').digest('hex')}`;
}

/** What a generated name says: the inverse of objectName (identity null for the SHA-256 family). */
export function parseObjectName(name: string): { kind: NameKind; variant: NameVariant; identity: string | null } | null {
  const m = /^kaudit-(ns-)?(user|sa|group)([.-])(.*)$/.exec(name);
  if (!m) return null;
  const variant: NameVariant = m[1] ? 'ns' : '';
  const kind = m[2] as NameKind;
  const rest = m[4]!;
  if (m[3] === '.') {
    if (kind !== 'sa') return { kind, variant, identity: rest };
    const dot = rest.indexOf('.');
    return dot > 0 ? { kind, variant, identity: `${rest.slice(0, dot)}:${rest.slice(dot + 1)}` } : null;
  }
  const tail = rest.slice(rest.lastIndexOf('.') + 1);
  if (tail.startsWith('sha256-')) return { kind, variant, identity: null };
  if (tail === '0') return { kind, variant, identity: '' };
  const identity = unbase32(tail);
  return identity === null ? null : { kind, variant, identity };
}

/**
 * A file name inside an output directory for a generated object name: lowercase, no separator, no
 * `..`, and never a name Windows reserves for a device (every name starts with `kaudit-`).
 */
export function safeFileName(objectName: string, ext: string): string {
  if (!isDnsSubdomain(objectName)) throw new Error(`internal error: ${JSON.stringify(objectName)} is not a generated name`);
  return `${objectName}.${ext}`;
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
