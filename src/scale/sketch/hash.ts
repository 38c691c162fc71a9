// A 64-bit string hash for sketches, computed in one pass over the UTF-16 code units as two 32-bit
// lanes (the cyrb53 construction: two multiply-xorshift lanes mixed at the end). Deterministic
// across processes and platforms (no random seed: sketches from worker threads, shards and state
// files must agree on every hash), and well spread in every bit, which HyperLogLog relies on.
// Not a cryptographic hash: an attacker who controls subject names can craft collisions, which at
// worst lowers a distinct-count estimate (documented with --approx in the README).

/** The two 32-bit lanes of the last hash64 call (read `hi` and `lo` right after calling it). */
export const lanes = { hi: 0, lo: 0 };

/**
 * Hashes `s` (its UTF-16 code units) with `seed`; the 64 bits are left in `lanes.hi` (high 32,
 * unsigned) and `lanes.lo` (low 32, unsigned). Returns `lanes` for convenience. Allocation-free.
 */
export function hash64(s: string, seed = 0): typeof lanes {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  // A final avalanche of each lane (murmur3's fmix32) so that every output bit depends on every input bit.
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x85ebca6b);
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  lanes.hi = h2 >>> 0;
  lanes.lo = h1 >>> 0;
  return lanes;
}
