// A set of the last N non-negative integers (52-bit hashes) added, in flat typed arrays: no
// allocation per entry, so a window of hundreds of thousands costs a few MB and no garbage; each
// may carry `width` numbers (set/get: a map of hash to numbers) and knows its age (how many were
// added after it). Open addressing with linear probing and backward-shift deletion;
// first-in-first-out eviction (a key set again keeps its place).
//
// A table slot is one run of numbers (the key + 1, its add number, its `width` values) in one
// Float64Array, so that a look-up or an insertion touches one cache line, not one per array: the
// windows of --jobs hold 300,000 keys (tens of MB), and the main thread's merge of a split run
// does a few of these per request (src/parallel/run.ts Reconciler).

export class HashWindow {
  /** Per slot: [key + 1 (0: empty), add number (for `age`), width values]. */
  private readonly slots: Float64Array;
  private readonly stride: number;
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
    this.stride = 2 + width;
    this.slots = new Float64Array(size * this.stride);
    this.mask = size - 1;
    this.ring = new Float64Array(Math.max(1, capacity));
  }

  private home(v: number): number {
    // Mix the high and low halves: the values are hashes, but only their low bits pick the slot.
    // For a non-negative integer below 2^53, `>>> 0` is `% 2^32` and `(v / 2^32) >>> 0` is
    // Math.floor(v / 2^32), without the floating-point remainder (a call per probe in V8).
    return ((v >>> 0) ^ ((v / 4294967296) >>> 0)) & this.mask;
  }

  /** The slot holding stored value `stored` (value + 1), or -1. */
  private find(stored: number): number {
    const s = this.slots;
    const st = this.stride;
    for (let i = this.home(stored - 1); ; i = (i + 1) & this.mask) {
      const x = s[i * st]!;
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
    return i < 0 ? -1 : this.added - 1 - this.slots[i * this.stride + 1]!;
  }

  /** The value the next insertion of a new value evicts (the oldest, when the window is full), or undefined. */
  evictee(): number | undefined {
    return this.count === this.ring.length ? this.ring[this.next]! - 1 : undefined;
  }

  add(v: number): void {
    if (this.find(v + 1) < 0) this.insert(v);
  }

  /** The number `v` carries in column `col` (0 ≤ col < width), or undefined when `v` is not in the window. */
  get(v: number, col = 0): number | undefined {
    const i = this.find(v + 1);
    return i < 0 ? undefined : this.slots[i * this.stride + 2 + col];
  }

  /**
   * Adds `v` carrying `x` in column `col` (its other columns 0); a `v` already in the window keeps
   * its place (and age) and carries `x` there from now on.
   */
  set(v: number, x: number, col = 0): void {
    let i = this.find(v + 1);
    if (i < 0) i = this.insert(v);
    this.slots[i * this.stride + 2 + col] = x;
  }

  /**
   * Adds `v` carrying `row` (its `width` numbers, from `row[at]` on) in one probe; a `v` already
   * in the window keeps its place (and age) and carries the row from now on.
   */
  setRow(v: number, row: ArrayLike<number>, at = 0): void {
    let i = this.find(v + 1);
    if (i < 0) i = this.insert(v);
    const base = i * this.stride + 2;
    for (let c = 0; c < this.width; c++) this.slots[base + c] = row[at + c]!;
  }

  /**
   * Adds `v` carrying `row` (as setRow) when it is not in the window, in one probe; false (and
   * nothing changed) when it is.
   */
  addRow(v: number, row: ArrayLike<number>, at = 0): boolean {
    if (this.find(v + 1) >= 0) return false;
    const base = this.insert(v) * this.stride + 2;
    for (let c = 0; c < this.width; c++) this.slots[base + c] = row[at + c]!;
    return true;
  }

  /**
   * Adds the rows of `rows` in order, as addRow would one after the other: row j is `stride`
   * numbers from `j * stride`, its value then `width` numbers (stride ≥ 1 + width). With `check`,
   * returns false where addRow would have (a value in the window at its turn), and the window is
   * then left unspecified (the caller gives up: Reconciler.push). Without `check`, a value in the
   * window at its turn keeps its place, as with addRow.
   *
   * When there are at least `capacity` rows and every value is absent at its turn (checked first,
   * by age: a value in the window is still there at row j when its age plus j is under the
   * capacity), the window ends up holding exactly the last `capacity` rows, each with the age it
   * would have: the table is rebuilt from them, without the evictions (a third of the probes and
   * no backward shifts; the merge of a split run replays windows of 200,000 rows this way). Without
   * `check` the caller knows the values are absent at their turn (Reconciler.push checked them).
   */
  addAll(rows: Float64Array, stride: number, check: boolean): boolean {
    const n = Math.floor(rows.length / stride);
    if (n < this.capacity || this.capacity === 0) {
      for (let j = 0; j < n; j++) if (!this.addRow(rows[j * stride]!, rows, j * stride + 1) && check) return false;
      return true;
    }
    // (An empty window holds none of them.)
    if (check && this.count > 0) {
      for (let j = 0; j < n; j++) {
        const a = this.age(rows[j * stride]!);
        if (a >= 0 && a + j < this.capacity) return false;
      }
    }
    this.slots.fill(0);
    this.count = 0;
    this.next = 0;
    // The rows before the last `capacity` were added and evicted again: they only count for the ages.
    this.added += n - this.capacity;
    for (let j = n - this.capacity; j < n; j++) {
      const v = rows[j * stride]!;
      // The same value twice among the rows (two keys with one hash): as addRow, it keeps its place.
      if (this.find(v + 1) >= 0) {
        if (check) return false;
        continue;
      }
      const base = this.insert(v) * this.stride + 2;
      for (let c = 0; c < this.width; c++) this.slots[base + c] = rows[j * stride + 1 + c]!;
    }
    return true;
  }

  /** Inserts `v` (known absent) with its columns 0; returns its slot. */
  private insert(v: number): number {
    const stored = v + 1;
    if (this.count === this.ring.length) this.remove(this.ring[this.next]!);
    else this.count++;
    this.ring[this.next] = stored;
    this.next = (this.next + 1) % this.ring.length;
    const s = this.slots;
    const st = this.stride;
    let i = this.home(v);
    while (s[i * st] !== 0) i = (i + 1) & this.mask;
    const base = i * st;
    s[base] = stored;
    s[base + 1] = this.added++;
    for (let c = base + 2; c < base + st; c++) s[c] = 0;
    return i;
  }

  private remove(stored: number): void {
    let i = this.find(stored);
    if (i < 0) return;
    const s = this.slots;
    const st = this.stride;
    // Backward shift: move later members of the probe run into the hole when their home allows.
    for (let j = (i + 1) & this.mask; s[j * st] !== 0; j = (j + 1) & this.mask) {
      const k = this.home(s[j * st]! - 1);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        for (let c = 0; c < st; c++) s[i * st + c] = s[j * st + c]!;
        i = j;
      }
    }
    s[i * st] = 0;
  }
}
