// Streams a single JSON document (EventList, array, cloud wrapper, or pretty-printed events) with
// stream-json in constant memory: the elements of a wrapper array are assembled one at a time.
import { createRequire } from 'node:module';
import type { Loc } from '../types.js';
import type { IngestSink } from './reader.js';
import { CONTAINER_KEYS } from './containers.js';
import { StrictError } from '../util/errors.js';

const require = createRequire(import.meta.url);

interface Token {
  name: string;
  value?: unknown;
}
interface AssemblerLike {
  consume(t: Token): AssemblerLike;
  done: boolean;
  current: unknown;
  depth: number;
}
type AssemblerCtor = new () => AssemblerLike;
type ParserFactory = { asStream(o: object): NodeJS.ReadWriteStream };

let deps: { parser: ParserFactory; Assembler: AssemblerCtor } | null = null;
function load(): { parser: ParserFactory; Assembler: AssemblerCtor } {
  deps ??= {
    parser: require('stream-json/parser.js') as ParserFactory,
    Assembler: require('stream-json/assembler.js') as AssemblerCtor,
  };
  return deps;
}

const START_ARRAY: Token = { name: 'startArray' };
const END_ARRAY: Token = { name: 'endArray' };

/** Routes parser tokens: wrapper arrays are streamed element by element; other top-level values are emitted whole. */
class DocumentConsumer {
  private elem: AssemblerLike | null = null;
  private top: AssemblerLike | null = null;
  /** -1: not inside a streamed array; otherwise the wrapper array's depth (0 = top-level array). */
  private streamDepth = -1;
  private streamed = false;
  private lastKey: string | null = null;
  item = 0;
  format = '';

  constructor(
    private readonly Assembler: AssemblerCtor,
    private readonly file: string,
    private readonly sink: IngestSink,
  ) {}

  private emit(v: unknown): void {
    this.item++;
    const loc: Loc = { file: this.file, line: this.item, unit: 'item' };
    this.sink.value(v, loc);
  }

  token(t: Token): void {
    const n = t.name;
    if (this.elem) {
      this.elem.consume(t);
      if (this.elem.done) {
        const v = this.elem.current;
        this.elem = null;
        this.emit(v);
      }
      return;
    }
    if (this.streamDepth >= 0) {
      if (n === 'endArray') {
        this.streamDepth = -1;
        if (!this.top) return; // end of a top-level array
        this.top.consume(START_ARRAY).consume(END_ARRAY);
        return;
      }
      if (n === 'startObject' || n === 'startArray') {
        this.elem = new this.Assembler();
        this.elem.consume(t);
      } else this.emit(t.value ?? null);
      return;
    }
    if (this.top) {
      if (n === 'startArray' && this.lastKey !== null && this.top.depth === 1 && CONTAINER_KEYS.has(this.lastKey)) {
        this.format ||= CONTAINER_KEYS.get(this.lastKey)!;
        this.streamDepth = 1;
        this.streamed = true;
        this.lastKey = null;
        return;
      }
      this.lastKey = n === 'keyValue' && this.top.depth === 1 ? (t.value as string) : null;
      this.top.consume(t);
      if (this.top.done) {
        const v = this.top.current;
        this.top = null;
        if (!this.streamed) {
          this.format ||= 'json';
          this.emit(v);
        }
      }
      return;
    }
    if (n === 'startArray') {
      this.format ||= 'json-array';
      this.streamDepth = 0;
    } else if (n === 'startObject') {
      this.top = new this.Assembler();
      this.streamed = false;
      this.top.consume(t);
    } else this.emit(t.value ?? null); // a top-level scalar: rejected downstream
  }
}

/** Resolves on 'drain', or when the stream fails or closes (a parser error never drains). */
function drained(s: NodeJS.ReadWriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('error', done);
      s.off('close', done);
      resolve();
    };
    s.once('drain', done);
    s.once('error', done);
    s.once('close', done);
  });
}

/** Reads a JSON document (or several concatenated) and returns its format name. */
export async function readDocument(chunks: AsyncIterable<Buffer>, file: string, sink: IngestSink): Promise<string> {
  const { parser, Assembler } = load();
  const consumer = new DocumentConsumer(Assembler, file, sink);
  const p = parser.asStream({ jsonStreaming: true, packValues: true, streamValues: false });
  let failed: Error | null = null;
  const ended = new Promise<void>((resolve) => {
    p.on('data', (t: Token) => {
      if (failed) return;
      try {
        consumer.token(t);
      } catch (e) {
        failed = e as Error;
      }
    });
    p.on('end', () => resolve());
    p.on('error', (e: Error) => {
      failed ??= e;
      resolve();
    });
  });
  let bom = true;
  try {
    for await (let chunk of chunks) {
      if (failed) break;
      if (bom) {
        bom = false;
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      if (!p.write(chunk) && !failed) await drained(p);
    }
  } catch (e) {
    failed ??= e as Error;
  }
  p.end();
  await ended;
  if (failed instanceof StrictError) throw failed;
  if (failed) {
    const msg = (failed as Error).message.replace(/^Parser /, '');
    sink.reject({ file, line: consumer.item + 1, unit: 'item' }, `malformed or truncated JSON document (${msg}); reading of this input stopped`);
  }
  return consumer.format || 'json';
}
