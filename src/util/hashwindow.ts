// A set of the last N non-negative integers (52-bit hashes) added, in flat typed arrays: no
// allocation per entry, so a window of hundreds of thousands costs a few MB and no garbage.
// Open addressing with linear probing and backward-shift deletion; first-in-first-out eviction.

export class HashWindow {
  private readonly table: Float64Array;
  /** The add number of each table slot's value (for `age`). */
  private readonly seqs: Float64Array;
  private readonly mask: number;
  private readonly ring: Float64Array;
  private next = 0;
  private count = 0;
  private added = 0;

  constructor(readonly capacity: number) {
    let size = 16;
    while (size < capacity * 2.5) size *= 2;
    // Stored as value + 1 so that 0 marks an empty slot.
    this.table = new Float64Array(size);
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
    const stored = v + 1;
    if (this.find(stored) >= 0) return;
    if (this.count === this.ring.length) this.remove(this.ring[this.next]!);
    else this.count++;
    this.ring[this.next] = stored;
    this.next = (this.next + 1) % this.ring.length;
    let i = this.home(v);
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = stored;
    this.seqs[i] = this.added++;
  }

  private remove(stored: number): void {
    let i = this.find(stored);
    if (i < 0) return;
    // Backward shift: move later members of the probe run into the hole when their home allows.
    for (let j = (i + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const k = this.home(this.table[j]! - 1);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        this.table[i] = this.table[j]!;
        this.seqs[i] = this.seqs[j]!;
        i = j;
      }
    }
    this.table[i] = 0;
  }
}
