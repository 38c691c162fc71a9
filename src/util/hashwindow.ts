// A set of the last N non-negative integers (52-bit hashes) added, in flat typed arrays: no
// allocation per entry, so a window of hundreds of thousands costs a few MB and no garbage; each
// may carry `width` numbers (set/get: a map of hash to numbers) and knows its age (how many were
// added after it). Open addressing with linear probing and backward-shift deletion;
// first-in-first-out eviction (a key set again keeps its place).

export class HashWindow {
  private readonly table: Float64Array;
  /** The numbers each key carries (`width` per table slot), beside it in `table`. */
  private readonly vals: Float64Array;
  /** The add number of each table slot's value (for `age`). */
  private readonly seqs: Float64Array;
  private readonly mask: number;
  private readonly ring: Float64Array;
  private next = 0;
  private count = 0;
  private added = 0;

  /** `capacity`: values kept; `width`: numbers each value carries (set/get columns). */
  constructor(
    readonly capacity: number,
    readonly width = 1,
  ) {
    let size = 16;
    // At most 5/8 full: linear probing stays short (about 3 probes for a missing key).
    while (size < capacity * 1.6) size *= 2;
    // Stored as value + 1 so that 0 marks an empty slot.
    this.table = new Float64Array(size);
    this.vals = new Float64Array(size * width);
    this.seqs = new Float64Array(size);
    this.mask = size - 1;
    this.ring = new Float64Array(Math.max(1, capacity));
  }

  private home(v: number): number {
    // Mix the high and low halves: the values are hashes, but only their low bits pick the slot.
    return ((v % 4294967296) ^ Math.floor(v / 4294967296)) & this.mask;
  }

  private find(stored: number): number {
    for (let i = this.home(stored - 1); ; i = (i + 1) & this.mask) {
      const x = this.table[i]!;
      if (x === 0) return -1;
      if (x === stored) return i;
    }
  }

  has(v: number): boolean {
    return this.find(v + 1) >= 0;
  }

  get size(): number {
    return this.count;
  }

  /** How many values were added after `v` (0: `v` is the newest), or -1 when `v` is not in the window. */
  age(v: number): number {
    const i = this.find(v + 1);
    return i < 0 ? -1 : this.added - 1 - this.seqs[i]!;
  }

  add(v: number): void {
    if (this.find(v + 1) < 0) this.insert(v);
  }

  /** The number `v` carries in column `col` (0 ≤ col < width), or undefined when `v` is not in the window. */
  get(v: number, col = 0): number | undefined {
    const i = this.find(v + 1);
    return i < 0 ? undefined : this.vals[i * this.width + col];
  }

  /**
   * Adds `v` carrying `x` in column `col` (its other columns 0); a `v` already in the window keeps
   * its place (and age) and carries `x` there from now on.
   */
  set(v: number, x: number, col = 0): void {
    let i = this.find(v + 1);
    if (i < 0) i = this.insert(v);
    this.vals[i * this.width + col] = x;
  }

  private insert(v: number): number {
    const stored = v + 1;
    if (this.count === this.ring.length) this.remove(this.ring[this.next]!);
    else this.count++;
    this.ring[this.next] = stored;
    this.next = (this.next + 1) % this.ring.length;
    let i = this.home(v);
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = stored;
    this.vals.fill(0, i * this.width, (i + 1) * this.width);
    this.seqs[i] = this.added++;
    return i;
  }

  private remove(stored: number): void {
    let i = this.find(stored);
    if (i < 0) return;
    const w = this.width;
    // Backward shift: move later members of the probe run into the hole when their home allows.
    for (let j = (i + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const k = this.home(this.table[j]! - 1);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        this.table[i] = this.table[j]!;
        this.vals.copyWithin(i * w, j * w, (j + 1) * w);
        this.seqs[i] = this.seqs[j]!;
        i = j;
      }
    }
    this.table[i] = 0;
  }
}
