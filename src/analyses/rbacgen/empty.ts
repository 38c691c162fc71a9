// The one empty map rbac-gen subjects share (src/analyses/rbacgen/index.ts SubjectAgg): a module of
// its own so that both the reducer and its run codec (codec.ts) can use it without an import cycle.

/** A Map nothing may write to (set throws): the one empty map subjects share until they need their own. */
class NeverWritten extends Map<string, never> {
  override set(): this {
    throw new Error('internal error: an rbac-gen subject wrote to the shared empty map (NO_ENTRIES)');
  }
}

/**
 * The empty `defaults` and `roleWrites` of a subject that has none: most subjects never need them,
 * and an empty Map costs about 180 bytes of heap (a million subjects: 360 MB for two). Writers
 * replace it with a map of their own first (ownMap); readers see an empty map.
 */
export const NO_ENTRIES: ReadonlyMap<string, never> = new NeverWritten();

/** `m`, or a new map of its own in place of the shared NO_ENTRIES. */
export function ownMap<V>(m: Map<string, V>): Map<string, V> {
  return m === (NO_ENTRIES as unknown) ? new Map() : m;
}

/** The shared empty map, typed as a subject's map (read-only in practice: see NO_ENTRIES). */
export function noEntries<V>(): Map<string, V> {
  return NO_ENTRIES as unknown as Map<string, V>;
}
