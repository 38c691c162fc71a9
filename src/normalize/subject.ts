// Classifies a Kubernetes username into a subject kind.
import type { SubjectKind } from '../types.js';
import { PROVIDER_SYSTEM_USERS, PROVIDER_SYSTEM_PREFIXES } from '../rules/identities.js';

export interface SubjectInfo {
  kind: SubjectKind;
  namespace: string;
  name: string;
}

const SA_PREFIX = 'system:serviceaccount:';
const NODE_PREFIX = 'system:node:';

// The answers without a namespace or name, shared (callers only read them).
const UNAUTHENTICATED: SubjectInfo = Object.freeze({ kind: 'Unauthenticated', namespace: '', name: '' });
const ANONYMOUS: SubjectInfo = Object.freeze({ kind: 'Anonymous', namespace: '', name: '' });
const SYSTEM: SubjectInfo = Object.freeze({ kind: 'System', namespace: '', name: '' });
const USER: SubjectInfo = Object.freeze({ kind: 'User', namespace: '', name: '' });

/**
 * The last usernames classified, direct-mapped by a few of their characters: a log's subjects
 * repeat (the field extractor hands out the same string again), and a service account's or node's
 * answer is an object of its own, which a hit does not make again.
 */
const RECENT = 256;
const recentName: string[] = new Array<string>(RECENT).fill('');
const recentInfo: SubjectInfo[] = new Array<SubjectInfo>(RECENT).fill(UNAUTHENTICATED);

/** Kind of a Kubernetes username; '' (no identity established, `"user":{}`) is Unauthenticated. The result is read-only (frozen). */
export function classifySubject(username: string): SubjectInfo {
  const n = username.length;
  if (n === 0) return UNAUTHENTICATED;
  const k = (n * 31 + username.charCodeAt(n - 1) * 7 + username.charCodeAt(n >> 1) * 13 + username.charCodeAt(n >> 2)) & (RECENT - 1);
  if (recentName[k] === username) return recentInfo[k]!;
  const info = classify(username);
  recentName[k] = username;
  recentInfo[k] = info;
  return info;
}

function classify(username: string): SubjectInfo {
  if (username.startsWith(SA_PREFIX)) {
    const rest = username.slice(SA_PREFIX.length);
    const colon = rest.indexOf(':');
    if (colon > 0 && colon < rest.length - 1) return Object.freeze({ kind: 'ServiceAccount', namespace: rest.slice(0, colon), name: rest.slice(colon + 1) });
    return SYSTEM;
  }
  if (username === 'system:anonymous') return ANONYMOUS;
  if (username.startsWith(NODE_PREFIX)) return Object.freeze({ kind: 'Node', namespace: '', name: username.slice(NODE_PREFIX.length) });
  if (username.startsWith('system:')) return SYSTEM;
  if (PROVIDER_SYSTEM_USERS.has(username)) return SYSTEM;
  for (const p of PROVIDER_SYSTEM_PREFIXES) if (username.startsWith(p)) return SYSTEM;
  return USER;
}

/** How renderers show the subject of an Unauthenticated record (subject ''): never as a user name. */
export const UNAUTHENTICATED_LABEL = '(unauthenticated)';

/** A subject for display: the name, or UNAUTHENTICATED_LABEL for a request with no identity. */
export function displaySubject(subject: string): string {
  return subject === '' ? UNAUTHENTICATED_LABEL : subject;
}
