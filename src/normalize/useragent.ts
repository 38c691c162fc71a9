// Parses a User-Agent into client, version and access method. Results are memoised: a log has few
// distinct user agents and millions of events.
import type { AccessMethod, SubjectKind } from '../types.js';
import { CLIENT_RULES, CONTROLLER_HOSTS } from '../rules/clients.js';

export interface ClientInfo {
  client: string;
  clientVersion: string;
  accessMethod: AccessMethod;
}

const UNKNOWN: ClientInfo = { client: '', clientVersion: '', accessMethod: 'other' };
const MAX_CACHE = 50_000;
const cache = new Map<string, ClientInfo>();

const byProduct = new Map<string, ClientInfo & { id: string }>();
const prefixRules = CLIENT_RULES.filter((r) => r.productPrefix);
const containsRules = CLIENT_RULES.filter((r) => r.contains);
for (const r of CLIENT_RULES) for (const p of r.products ?? []) if (!byProduct.has(p)) byProduct.set(p, { id: r.id, client: r.client, clientVersion: '', accessMethod: r.accessMethod });

function versionAfterSlash(ua: string, slash: number): string {
  if (slash < 0) return '';
  let end = slash + 1;
  while (end < ua.length && ua.charCodeAt(end) !== 32 && ua.charCodeAt(end) !== 40 /* ( */ && ua.charCodeAt(end) !== 47 /* / */) end++;
  return ua.slice(slash + 1, end);
}

function parse(ua: string): ClientInfo {
  if (ua === '') return UNKNOWN;
  const slash = ua.indexOf('/');
  const space = ua.indexOf(' ');
  const productEnd = slash < 0 ? (space < 0 ? ua.length : space) : space >= 0 && space < slash ? space : slash;
  const product = ua.slice(0, productEnd);
  const version = slash === productEnd ? versionAfterSlash(ua, slash) : '';
  let hit = byProduct.get(product);
  if (!hit) {
    for (const r of prefixRules) {
      if (product.startsWith(r.productPrefix!)) {
        hit = { id: r.id, client: r.client, clientVersion: '', accessMethod: r.accessMethod };
        break;
      }
    }
  }
  if (hit) {
    if (hit.id === 'browser') {
      const m = /\b(Edg|Firefox|Chrome|Safari)\/([\d.]+)/.exec(ua);
      return { client: 'browser', clientVersion: m ? `${m[1] === 'Edg' ? 'Edge' : m[1]}/${m[2]}` : '', accessMethod: 'browser' };
    }
    if (CONTROLLER_HOSTS.has(product)) {
      // `.../kubernetes/<commit>/system:serviceaccount:kube-system:<name>` names the controller.
      const sa = ua.lastIndexOf('system:serviceaccount:');
      if (sa > 0) {
        const name = ua.slice(ua.lastIndexOf(':') + 1);
        if (name) return { client: name, clientVersion: version, accessMethod: 'controller' };
      }
    }
    return { client: hit.client, clientVersion: version, accessMethod: hit.accessMethod };
  }
  for (const r of containsRules) if (ua.includes(r.contains!)) return { client: r.client, clientVersion: '', accessMethod: r.accessMethod };
  // Unknown client-go binaries identify as `<binary>/<version> (os/arch) kubernetes/<commit>`.
  if (ua.includes(' kubernetes/')) {
    const accessMethod: AccessMethod = /(?:controller|operator|manager)$/.test(product) ? 'controller' : 'automation';
    return { client: product, clientVersion: version, accessMethod };
  }
  return { client: product, clientVersion: version, accessMethod: 'other' };
}

/**
 * The last user agents seen, direct-mapped by a hash of a few of their characters: a hit costs a
 * string comparison, where the Map has to hash the whole of each event's fresh string first.
 */
const RECENT = 256;
const recentUa: (string | undefined)[] = new Array<string | undefined>(RECENT).fill(undefined);
const recentInfo: ClientInfo[] = new Array<ClientInfo>(RECENT).fill(UNKNOWN);

function recentSlot(ua: string): number {
  const n = ua.length;
  return n === 0 ? 0 : (n * 31 + ua.charCodeAt(n - 1) * 7 + ua.charCodeAt(n >> 1) * 13 + ua.charCodeAt(n >> 2)) & (RECENT - 1);
}

/** Client details for a user agent, memoised. */
export function parseUserAgent(ua: string): ClientInfo {
  const k = recentSlot(ua);
  if (recentUa[k] === ua) return recentInfo[k]!;
  let info = cache.get(ua);
  if (info === undefined) {
    info = parse(ua);
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(ua, info);
  }
  recentUa[k] = ua;
  recentInfo[k] = info;
  return info;
}

/** Refines the access method with what the subject is: an unrecognised client of a node or system component is a controller. */
export function accessMethodFor(info: ClientInfo, kind: SubjectKind): AccessMethod {
  if (info.accessMethod !== 'other') return info.accessMethod;
  if (kind === 'Node' || kind === 'System') return 'controller';
  if (kind === 'ServiceAccount') return 'automation';
  return 'other';
}
