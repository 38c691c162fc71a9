// Map keys for tuples of strings from audit data. Audit data may hold any character, a separator
// included, so a plain join could make two tuples one key. A tuple without NUL (nearly all) becomes
// NUL, its length, then its parts joined by NUL; any other tuple its JSON array, which never starts
// with NUL. Distinct tuples give distinct keys (a property test checks it).

export function tupleKey(parts: readonly string[]): string {
  for (const p of parts) if (p.includes('\u0000')) return JSON.stringify(parts);
  if (parts.length === 0) return '\u00000\u0000';
  // One join makes a flat string. A template (or +) makes a cons string, which a Map keeps as a
  // 32-byte wrapper around the flat copy that hashing it makes: a quarter of a group's memory when
  // every request has a user of its own (investigate --group-by, issue 15).
  return ['', String(parts.length), ...parts].join('\u0000');
}

/** The parts of a tupleKey (its inverse: untupleKey(tupleKey(p)) equals p). */
export function untupleKey(key: string): string[] {
  if (key.charCodeAt(0) !== 0) return JSON.parse(key) as string[];
  const sep = key.indexOf('\u0000', 1);
  const n = Number(key.slice(1, sep));
  const rest = key.slice(sep + 1);
  // n parts joined by NUL, none holding NUL: n - 1 separators (one part: the rest, even '').
  return n === 0 ? [] : n === 1 ? [rest] : rest.split('\u0000');
}
