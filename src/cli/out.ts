// Buffered writing to stdout for streamed outputs: flushes every 64 KiB.
export class Out {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly stream: { write(chunk: string): unknown }) {}
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= 65536) this.flush();
  }
  flush(): void {
    if (this.buf.length === 0) return;
    this.stream.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
}
