// The last N distinct strings seen (audit IDs), each with a fixed slot in 0..N-1 for as long as it is
// remembered, in flat typed arrays: callers keep what a key carries in typed arrays indexed by its
// slot, so a window of hundreds of thousands of keys makes no garbage and no boxed number per entry.
// Open addressing with linear probing (at most 5/8 full) and backward-shift deletion (Knuth, TAOCP
// vol. 3, 6.4, Algorithm R): no tombstones, so probes stay short however long the stream. A new key
// takes the oldest key's slot (first-in-first-out); a key seen again keeps its slot.
//
// Why not a Map: a window this size evicts on nearly every new key, and V8's OrderedHashMap then
// spends a get, a delete and a set per key on a table of cache-cold entries, and rehashes itself
// as deleted entries pile up; this is about three times faster on a stream of fresh audit IDs
// (bench/RESULTS.md, issue 19). Keys are compared exactly (===); the 32-bit hash only picks where
// to look, and is seeded per process so that crafted IDs cannot be made to collide in advance.
import { getRandomValues } from 'node:crypto';

const seedWord = new Uint32Array(1);
getRandomValues(seedWord);
const SEED = seedWord[0]! | 0;

/** A seeded 32-bit hash of a string's UTF-16 code units (FNV-1a, then murmur3's finaliser). */
export function stringHash(s: string): number {
  let h = 0x811c9dc5 ^ SEED;
  const n = s.length;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export class RecentKeys {
  /** Per table position: the slot of the key there + 1 (0: empty). */
  private readonly at: Int32Array;
  /** Per table position: the hash of the key there. */
  private readonly hashAt: Int32Array;
  private readonly mask: number;
  /** Per slot: its key (undefined while unused) and that key's hash. */
  private readonly keys: (string | undefined)[];
  private readonly keyHash: Int32Array;
  private next = 0;
  private count = 0;

  /** `capacity`: keys remembered (at least 1). */
  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    let size = 16;
    while (size < n * 1.6) size *= 2;
    this.at = new Int32Array(size);
    this.hashAt = new Int32Array(size);
    this.mask = size - 1;
    this.keys = new Array<string | undefined>(n).fill(undefined);
    this.keyHash = new Int32Array(n);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.count;
  }

  /** The slot of `k` (`h`: stringHash(k)), or -1 when it is not remembered. */
  slot(k: string, h: number = stringHash(k)): number {
    const at = this.at;
    const hashAt = this.hashAt;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = at[i]!;
      if (s === 0) return -1;
      if (hashAt[i] === h && this.keys[s - 1] === k) return s - 1;
    }
  }

  /**
   * Remembers `k`, known not to be remembered (slot(k) is -1), in the slot of the oldest key, which
   * is forgotten when all slots are taken. Returns the slot.
   */
  add(k: string, h: number = stringHash(k)): number {
    const slot = this.next;
    const old = this.keys[slot];
    if (old !== undefined) this.remove(old, this.keyHash[slot]!);
    else this.count++;
    this.keys[slot] = k;
    this.keyHash[slot] = h;
    const at = this.at;
    const mask = this.mask;
    let i = h & mask;
    while (at[i] !== 0) i = (i + 1) & mask;
    at[i] = slot + 1;
    this.hashAt[i] = h;
    this.next = slot + 1 === this.keys.length ? 0 : slot + 1;
    return slot;
  }

  /** Takes `k` out of the table (its slot is reused by the caller): backward-shift deletion. */
  private remove(k: string, h: number): void {
    const at = this.at;
    const hashAt = this.hashAt;
    const mask = this.mask;
    let i = h & mask;
    while (hashAt[i] !== h || this.keys[at[i]! - 1] !== k) i = (i + 1) & mask;
    // Move later entries of the probe run back into the hole when their home allows it.
    for (let j = (i + 1) & mask; at[j] !== 0; j = (j + 1) & mask) {
      const home = hashAt[j]! & mask;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      at[i] = at[j]!;
      hashAt[i] = hashAt[j]!;
      i = j;
    }
    at[i] = 0;
  }
}
