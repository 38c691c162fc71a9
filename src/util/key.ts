// Map keys for tuples of strings from audit data. Audit data may hold any character, a separator
// included, so a plain join could make two tuples one key. A tuple without NUL (nearly all) becomes
// NUL, its length, then its parts joined by NUL; any other tuple its JSON array, which never starts
// with NUL. Distinct tuples give distinct keys (a property test checks it).

export function tupleKey(parts: readonly string[]): string {
  for (const p of parts) if (p.includes('\u0000')) return JSON.stringify(parts);
  return `\u0000${parts.length}\u0000${parts.join('\u0000')}`;
}
