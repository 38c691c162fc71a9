// A growable list of numbers in one Float64Array: what a partial run hands back to the main thread
// (src/normalize/collapse.ts PartialResult) is built here instead of in a JavaScript array, so that
// it is neither copied at the end (Float64Array.from) nor kept twice while it crosses threads: the
// buffer is transferred. About a million numbers per 250 MB task of --jobs.

export class F64List {
  private buf: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(4, capacity));
  }

  private grow(need: number): void {
    let n = this.buf.length * 2;
    while (n < need) n *= 2;
    const next = new Float64Array(n);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  push2(a: number, b: number): void {
    if (this.length + 2 > this.buf.length) this.grow(this.length + 2);
    const i = this.length;
    this.buf[i] = a;
    this.buf[i + 1] = b;
    this.length = i + 2;
  }

  push4(a: number, b: number, c: number, d: number): void {
    if (this.length + 4 > this.buf.length) this.grow(this.length + 4);
    const i = this.length;
    this.buf[i] = a;
    this.buf[i + 1] = b;
    this.buf[i + 2] = c;
    this.buf[i + 3] = d;
    this.length = i + 4;
  }

  /**
   * The numbers pushed, as a Float64Array of exactly `length` numbers over this list's buffer (no
   * copy; transferring its `.buffer` moves the whole buffer, at most twice as long). The list is
   * empty afterwards.
   */
  take(): Float64Array {
    const out = this.buf.subarray(0, this.length);
    this.buf = new Float64Array(4);
    this.length = 0;
    return out;
  }
}
