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

/** Bytes of the arena per slot: keys up to this many characters, all below U+0100, are kept there. */
const WIDTH = 48;

export class RecentKeys {
  /**
   * Per table position p: at 2p the slot of the key there + 1 (0: empty), at 2p + 1 that key's
   * hash, side by side so that a probe reads one cache line.
   */
  private readonly tab: Int32Array;
  private readonly mask: number;
  /**
   * The keys, by slot: their characters in a flat arena (WIDTH bytes per slot) when they fit, so
   * that the window holds no string (no string outlives its event only to be copied and promoted by
   * the garbage collector, and nothing is left for it to trace); other keys as strings in `long`.
   */
  private readonly arena: Uint8Array;
  /** Per slot: the key's length in the arena, or -1 when it is in `long`. */
  private readonly keyLen: Int32Array;
  private readonly long: (string | undefined)[];
  private readonly keyHash: Int32Array;
  private readonly capacity: number;
  private next = 0;
  private count = 0;

  /** `capacity`: keys remembered (at least 1). */
  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    let size = 16;
    while (size < n * 1.6) size *= 2;
    this.tab = new Int32Array(2 * size);
    this.mask = size - 1;
    this.capacity = n;
    this.arena = new Uint8Array(n * WIDTH);
    this.keyLen = new Int32Array(n);
    this.long = [];
    this.keyHash = new Int32Array(n);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.count;
  }

  /** The slot of the `k`-th oldest key remembered (0 ≤ k < size): slots are taken in a ring, oldest first. */
  slotByAge(k: number): number {
    const first = this.count === this.capacity ? this.next : 0;
    const s = first + k;
    return s >= this.capacity ? s - this.capacity : s;
  }

  /** True when the key in `slot` is `k`. */
  private holds(slot: number, k: string): boolean {
    const len = this.keyLen[slot]!;
    if (len < 0) return this.long[slot] === k;
    if (k.length !== len) return false;
    const a = this.arena;
    const base = slot * WIDTH;
    for (let j = 0; j < len; j++) if (a[base + j] !== k.charCodeAt(j)) return false;
    return true;
  }

  /** The slot of `k` (`h`: stringHash(k)), or -1 when it is not remembered. */
  slot(k: string, h: number = stringHash(k)): number {
    const tab = this.tab;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = tab[2 * i]!;
      if (s === 0) return -1;
      if (tab[2 * i + 1] === h && this.holds(s - 1, k)) return s - 1;
    }
  }

  /**
   * Remembers `k`, known not to be remembered (slot(k) is -1), in the slot of the oldest key, which
   * is forgotten when all slots are taken. Returns the slot.
   */
  add(k: string, h: number = stringHash(k)): number {
    const slot = this.next;
    if (this.count === this.capacity) this.remove(slot);
    else this.count++;
    this.store(slot, k);
    this.keyHash[slot] = h;
    const tab = this.tab;
    const mask = this.mask;
    let i = h & mask;
    while (tab[2 * i] !== 0) i = (i + 1) & mask;
    tab[2 * i] = slot + 1;
    tab[2 * i + 1] = h;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    return slot;
  }

  private store(slot: number, k: string): void {
    const n = k.length;
    if (n <= WIDTH) {
      const a = this.arena;
      const base = slot * WIDTH;
      let j = 0;
      for (; j < n; j++) {
        const c = k.charCodeAt(j);
        if (c > 0xff) break;
        a[base + j] = c;
      }
      if (j === n) {
        this.keyLen[slot] = n;
        return;
      }
    }
    this.keyLen[slot] = -1;
    this.long[slot] = k;
  }

  /** Takes the key of `slot` out of the table (the slot is reused by the caller): backward-shift deletion. */
  private remove(slot: number): void {
    if (this.keyLen[slot]! < 0) this.long[slot] = undefined;
    const tab = this.tab;
    const mask = this.mask;
    const stored = slot + 1;
    let i = this.keyHash[slot]! & mask;
    while (tab[2 * i] !== stored) i = (i + 1) & mask;
    // Move later entries of the probe run back into the hole when their home allows it.
    for (let j = (i + 1) & mask; tab[2 * j] !== 0; j = (j + 1) & mask) {
      const home = tab[2 * j + 1]! & mask;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      tab[2 * i] = tab[2 * j]!;
      tab[2 * i + 1] = tab[2 * j + 1]!;
      i = j;
    }
    tab[2 * i] = 0;
  }
}
