// Operators of the rule language, compiled once per rule into predicates over one value. Every
// predicate runs in time linear in the value: globs by the shared wildcard matcher, which never
// backtracks (src/util/glob.ts), regular expressions by RE2 (re2js, a pure-JS port of RE2: no backtracking,
// so a pattern from a rule file cannot be turned against kaudit by an attacker-chosen value).
import { BlockList, isIP } from 'node:net';
import { RE2JS } from 're2js';
import { compileGlobTokens, globMatches, parseGlob as parseGlobTokens, type GlobToken } from '../../util/glob.js';

/** Parses a rule's glob: `*` any run, `?` one character; `\*`, `\?` and `\\` are the plain characters (Sigma's escaping). */
export function parseGlob(p: string): GlobToken[] {
  return parseGlobTokens(p, true);
}

export type Pred = (v: unknown) => boolean;

const MEMO_MAX = 4096;
const MEMO_KEY_MAX = 512;

/**
 * Remembers a text predicate's answers: user agents, URIs and names repeat across millions of
 * requests. Bounded (cleared when full) and only for short texts.
 */
function memo(f: (s: string) => boolean): (s: string) => boolean {
  let m = new Map<string, boolean>();
  return (s) => {
    if (s.length > MEMO_KEY_MAX) return f(s);
    let r = m.get(s);
    if (r === undefined) {
      r = f(s);
      if (m.size >= MEMO_MAX) m = new Map();
      m.set(s, r);
    }
    return r;
  };
}

/** Strings, numbers and booleans as text (objects and null have none). */
export function asText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return null;
}

const NUMERIC = /^-?\d+(?:\.\d+)?$/;

/** A number, or a string holding one. */
export function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

/** Scalar equality: strings (optionally ignoring case), numbers also against numeric strings, booleans and null exactly. */
export function scalarEquals(v: unknown, x: unknown, ignoreCase: boolean): boolean {
  if (typeof x === 'string') {
    if (typeof v === 'string') return ignoreCase ? v.toLowerCase() === x.toLowerCase() : v === x;
    if (typeof v === 'number') return NUMERIC.test(x) && Number(x) === v;
    if (typeof v === 'boolean') return ignoreCase && x.toLowerCase() === String(v);
    return false;
  }
  if (typeof x === 'number') return asNumber(v) === x;
  return v === x;
}

export function equalsPred(x: unknown, ignoreCase: boolean): Pred {
  if (typeof x === 'string' && !ignoreCase) return (v) => v === x || (typeof v !== 'string' && scalarEquals(v, x, false));
  return (v) => scalarEquals(v, x, ignoreCase);
}

export function inPred(xs: readonly unknown[], ignoreCase: boolean): Pred {
  const strings = xs.filter((x): x is string => typeof x === 'string');
  if (strings.length === xs.length && !ignoreCase && !strings.some((s) => NUMERIC.test(s))) {
    const set = new Set(strings);
    return (v) => typeof v === 'string' && set.has(v);
  }
  if (strings.length === xs.length && ignoreCase) {
    const set = new Set(strings.map((s) => s.toLowerCase()));
    return (v) => {
      const t = asText(v);
      return t !== null && set.has(t.toLowerCase());
    };
  }
  return (v) => xs.some((x) => scalarEquals(v, x, ignoreCase));
}

/** A glob as a predicate, with fast paths for plain, prefix, suffix and infix patterns. */
export function globPred(patterns: readonly string[], ignoreCase: boolean): Pred {
  const fns = patterns.map((p) => {
    const t = parseGlob(ignoreCase ? p.toLowerCase() : p);
    if (t.length === 0) return (s: string) => s === '';
    if (t.length === 1 && typeof t[0] === 'string') return (s: string) => s === t[0];
    if (t.length === 1 && t[0] === 1) return () => true;
    if (t.length === 2 && t[1] === 1 && typeof t[0] === 'string') return (s: string) => s.startsWith(t[0] as string);
    if (t.length === 2 && t[0] === 1 && typeof t[1] === 'string') return (s: string) => s.endsWith(t[1] as string);
    if (t.length === 3 && t[0] === 1 && t[2] === 1 && typeof t[1] === 'string') return (s: string) => s.includes(t[1] as string);
    const g = compileGlobTokens(t);
    return (s: string) => globMatches(g, s);
  });
  const test = memo((s) => {
    const t = ignoreCase ? s.toLowerCase() : s;
    for (const f of fns) if (f(t)) return true;
    return false;
  });
  return (v) => {
    const s = asText(v);
    return s !== null && test(s);
  };
}

export function textPred(kind: 'contains' | 'startswith' | 'endswith', xs: readonly string[], ignoreCase: boolean): Pred {
  const needles = ignoreCase ? xs.map((x) => x.toLowerCase()) : [...xs];
  const test = memo((s) => {
    const t = ignoreCase ? s.toLowerCase() : s;
    for (const n of needles) if (kind === 'contains' ? t.includes(n) : kind === 'startswith' ? t.startsWith(n) : t.endsWith(n)) return true;
    return false;
  });
  return (v) => {
    const s = asText(v);
    return s !== null && test(s);
  };
}

export interface RegexFlags {
  ignoreCase?: boolean;
  multiline?: boolean;
  dotAll?: boolean;
}

/** Compiles with RE2 semantics; throws an Error naming the unsupported construct (backreferences, lookaround…). */
export function compileRegex(pattern: string, flags: RegexFlags = {}): RE2JS {
  const f = (flags.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) | (flags.multiline ? RE2JS.MULTILINE : 0) | (flags.dotAll ? RE2JS.DOTALL : 0);
  try {
    return RE2JS.compile(pattern, f);
  } catch (e) {
    throw new Error(`regular expression ${JSON.stringify(pattern)} is not supported by the linear-time engine (RE2 syntax): ${(e as Error).message.replace(/^error parsing regexp: /, '')}`);
  }
}

/** Unanchored search (add ^ and $ to match the whole value). */
export function regexPred(patterns: readonly string[], flags: RegexFlags): Pred {
  const res = patterns.map((p) => compileRegex(p, flags));
  const test = memo((s) => {
    for (const re of res) if (re.test(s)) return true;
    return false;
  });
  return (v) => {
    const s = asText(v);
    return s !== null && test(s);
  };
}

/** An address as BlockList wants it: IPv4-mapped IPv6 (::ffff:a.b.c.d) read as IPv4. */
function ipOf(s: string): [string, 'ipv4' | 'ipv6'] | null {
  let a = s.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (m) a = m[1]!;
  const v = isIP(a);
  return v === 4 ? [a, 'ipv4'] : v === 6 ? [a, 'ipv6'] : null;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address; throws an Error naming a bad one. */
export function cidrPred(cidrs: readonly string[]): Pred {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr = '', bits] = c.split('/');
    const ip = ipOf(addr);
    const max = ip?.[1] === 'ipv4' ? 32 : 128;
    const n = bits === undefined ? max : /^\d+$/.test(bits) ? Number(bits) : NaN;
    if (!ip || !(n >= 0 && n <= max) || c.split('/').length > 2) throw new Error(`${JSON.stringify(c)} is not a CIDR block (a.b.c.d/n or x:y::/n)`);
    list.addSubnet(ip[0], n, ip[1]);
  }
  const test = memo((s) => {
    const ip = ipOf(s);
    return ip !== null && list.check(ip[0], ip[1]);
  });
  return (v) => typeof v === 'string' && test(v);
}

export function numberPred(op: 'gt' | 'gte' | 'lt' | 'lte', x: number): Pred {
  return (v) => {
    const n = asNumber(v);
    if (n === null) return false;
    return op === 'gt' ? n > x : op === 'gte' ? n >= x : op === 'lt' ? n < x : n <= x;
  };
}
