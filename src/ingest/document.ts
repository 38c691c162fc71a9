// JSON documents (EventList, arrays, cloud wrappers, pretty-printed events, concatenated values) in
// constant memory: stream-json's tokenizer, driven synchronously, and a consumer that streams the
// elements of a wrapper array one at a time. A syntax error loses only what it is in: a multi-line
// document resynchronises at the next line that starts a value in its first column, and a line of
// JSON lines keeps the values and items before the error (see readLines).
import { createRequire } from 'node:module';
import type { Loc } from '../types.js';
import type { IngestSink } from './reader.js';
import { CONTAINER_KEYS } from './containers.js';
import { untilError, type StreamEnd } from './chunks.js';

const require = createRequire(import.meta.url);

/** A stream-json token. */
export interface Token {
  name: string;
  value?: unknown;
}
/** stream-json's Assembler, as kaudit uses it. */
export interface AssemblerLike {
  consume(t: Token): AssemblerLike;
  done: boolean;
  current: unknown;
  depth: number;
}
export type AssemblerCtor = new () => AssemblerLike;
/** stream-json's parser as stream-chain functions; the second is the tokenizer (flushable: `none` ends it). */
type Tokenizer = (chunk: string | symbol) => unknown;
export interface Chain {
  none: symbol;
  isMany(o: unknown): boolean;
  getManyValues(o: unknown): Token[];
  getFunctionList(f: unknown): Tokenizer[];
}

/** The members of stream-json's Assembler (2.x, src/assembler.js) that ownKeyAssembler overrides. */
interface AssemblerInternals {
  done: boolean;
  current: unknown;
  key: string | null;
  _saveValue(value: unknown): void;
}

/**
 * stream-json's Assembler, except that every object key becomes an own property, as JSON.parse
 * makes it (ECMA-262 InternalizeJSONProperty uses CreateDataProperty). The original stores a value
 * with `current[key] = value`: a key named `__proto__` (an attacker's Impersonate-Extra-__proto__
 * header, a label) then set the object's prototype, and the key vanished from the event.
 */
function ownKeyAssembler(Base: AssemblerCtor): AssemblerCtor {
  const base = Base.prototype as unknown as AssemblerInternals;
  class OwnKeyAssembler extends (Base as unknown as new () => AssemblerInternals) {
    override _saveValue(value: unknown): void {
      if (!this.done && this.key === '__proto__' && !Array.isArray(this.current)) {
        Object.defineProperty(this.current, '__proto__', { value, writable: true, enumerable: true, configurable: true });
        this.key = null;
        return;
      }
      base._saveValue.call(this, value);
    }
  }
  // The original aliases stringValue to its own _saveValue; strings take the same path.
  (OwnKeyAssembler.prototype as unknown as { stringValue: unknown }).stringValue = OwnKeyAssembler.prototype._saveValue;
  return OwnKeyAssembler as unknown as AssemblerCtor;
}

let deps: { parser: (o: object) => unknown; Assembler: AssemblerCtor; chain: Chain } | null = null;
/**
 * stream-json's parser, the Assembler that keeps every key an own property (ownKeyAssembler) and
 * stream-chain's helpers, loaded once: every JSON document kaudit streams uses these.
 */
export function load(): NonNullable<typeof deps> {
  deps ??= {
    parser: require('stream-json/parser.js') as (o: object) => unknown,
    Assembler: ownKeyAssembler(require('stream-json/assembler.js') as AssemblerCtor),
    chain: require('stream-chain/defs.js') as Chain,
  };
  return deps;
}

const START_ARRAY: Token = { name: 'startArray' };
const END_ARRAY: Token = { name: 'endArray' };

/**
 * Routes parser tokens: wrapper arrays (CONTAINER_KEYS at the top level, or a top-level array) are
 * streamed element by element; other top-level values are emitted whole. `item` counts what was
 * emitted; `at(item)` gives each emitted value its location.
 */
export class DocumentConsumer {
  private elem: AssemblerLike | null = null;
  private top: AssemblerLike | null = null;
  /** -1: not inside a streamed array; otherwise the wrapper array's depth (0 = top-level array). */
  private streamDepth = -1;
  private streamed = false;
  private lastKey: string | null = null;
  item = 0;
  format = '';
  /** Elements of a streamed array begun so far (resynchronisation learns where items start from it). */
  elems = 0;

  constructor(
    private readonly Assembler: AssemblerCtor,
    private readonly sink: IngestSink,
    private readonly at: (item: number) => Loc,
  ) {}

  /** True while inside a streamed wrapper array (between items or in one). */
  get inArray(): boolean {
    return this.streamDepth >= 0;
  }

  /** True while a value is being assembled (not between top-level values). */
  get busy(): boolean {
    return this.elem !== null || this.top !== null || this.streamDepth >= 0;
  }

  /** Forgets a value cut short by a syntax error, keeping the item count (resynchronisation). */
  reset(): void {
    this.elem = null;
    this.top = null;
    this.streamDepth = -1;
    this.streamed = false;
    this.lastKey = null;
  }

  private emit(v: unknown): void {
    this.item++;
    this.sink.value(v, this.at(this.item));
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
        this.elems++;
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

/**
 * A JSON text of any number of values fed in pieces, synchronously. Only the tokenizer's own
 * failure is a syntax error (kept in `error`, and the parser then takes nothing more); an exception
 * from the consumer (the sink: kaudit's own code) propagates to the caller unchanged.
 */
export class JsonStream {
  error: Error | null = null;
  readonly consumer: DocumentConsumer;
  private readonly tokenize: Tokenizer;
  private readonly chain: Chain;

  constructor(sink: IngestSink, at: (item: number) => Loc, consumer?: DocumentConsumer) {
    const d = load();
    this.chain = d.chain;
    this.tokenize = d.chain.getFunctionList(d.parser({ jsonStreaming: true, packValues: true, streamValues: false }))[1]!;
    this.consumer = consumer ?? new DocumentConsumer(d.Assembler, sink, at);
  }

  /** Feeds text; false once a syntax error was met (now or before). */
  feed(text: string): boolean {
    return this.run(text);
  }

  /** Ends the text; false when it ended inside a value or at a syntax error. */
  end(): boolean {
    return this.run(this.chain.none);
  }

  private run(chunk: string | symbol): boolean {
    if (this.error) return false;
    let out: unknown;
    try {
      out = this.tokenize(chunk);
    } catch (e) {
      this.error = e as Error;
      return false;
    }
    if (out === this.chain.none) return true;
    if (this.chain.isMany(out)) {
      for (const t of this.chain.getManyValues(out)) this.consumer.token(t);
    } else this.consumer.token(out as Token);
    return true;
  }
}

/** A parser message without stream-json's "Parser " prefix. */
export function parserMessage(e: Error): string {
  return e.message.replace(/^Parser /, '');
}

export interface DocumentResult {
  format: string;
  /** '' when the document was read to its end; else why not (the accounting's `incomplete`). */
  incomplete: string;
  /** The error the input stream itself raised (a truncated gzip member), after what it held was read. */
  ended?: Error;
}

/** True for a character that may start a top-level value at a line's start (resynchronisation points). */
function startsValue(c: number): boolean {
  return c === 123 || c === 91;
}

/** Indentation (spaces and tabs) at the start of a line's text. */
function indentOf(text: string): number {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  return i;
}

const CLOSERS_ONLY = /^[\s\]},]*$/;

interface Skip {
  /** Line the error showed on. */
  line: number;
  item: number;
  message: string;
  /** The error was inside a wrapper array: reading may resume at the next item. */
  inArray: boolean;
  /** Already counted: the error is the one reading just resumed after, met again before any value. */
  counted: boolean;
}

/**
 * Reads a JSON document (or several concatenated, pretty-printed or not). A syntax error is one
 * rejected item; reading resumes at the next line that starts a value: `{` or `[` in the first
 * column (a top-level value), or, after an error inside a wrapper array, a `{` at the indentation
 * its items started at (the next item of a pretty-printed EventList). When no such line follows,
 * the rest is counted as not read (`incomplete`).
 */
export async function readDocument(chunks: AsyncIterable<Buffer>, file: string, sink: IngestSink): Promise<DocumentResult> {
  const { Assembler } = load();
  const at = (item: number): Loc => ({ file, line: item, unit: 'item' });
  const consumer = new DocumentConsumer(Assembler, sink, at);
  let parser = new JsonStream(sink, at, consumer);
  const decoder = new TextDecoder('utf-8');
  let line = 1;
  let first = true;
  /** Set after a syntax error: skipping lines until one starts a value. */
  let skipping: Skip | null = null;
  let incomplete = '';
  let ended: Error | undefined;
  /** The line reading last resumed at: a value that fails again on it is not retried there. */
  let resumedAt = 0;
  /** The start of the current line (up to 256 characters), and whether it holds only closing brackets so far. */
  let head = '';
  let closersOnly = true;
  /** Indentation of the lines where the wrapper's items start; -1 until known. */
  let itemIndent = -1;
  /** Reading resumed inside a wrapper array, behind an opening bracket of its own. */
  let inResumedArray = false;

  /** consumer.item when reading last resumed. */
  let itemAtResume = -1;
  const fail = (): void => {
    const again = line === resumedAt && consumer.item === itemAtResume;
    skipping = { line, item: consumer.item + 1, message: parserMessage(parser.error!), inArray: consumer.inArray || (again && inResumedArray), counted: again };
  };
  const resume = (inArray: boolean): void => {
    const s = skipping!;
    if (!s.counted) sink.reject({ file, line: s.item, unit: 'item' }, `malformed JSON at line ${s.line} (${s.message}); the value it was in was skipped and reading resumed at the next value`);
    skipping = null;
    itemAtResume = consumer.item;
    consumer.reset();
    parser = new JsonStream(sink, at, consumer);
    if (inArray) parser.feed('[');
    inResumedArray = inArray;
    resumedAt = line;
  };
  /** Whether the line starting at s[pos] is where reading may resume: 0 no, 1 a top-level value, 2 an item. */
  const resumePoint = (s: string, pos: number): 0 | 1 | 2 => {
    if (skipping!.inArray && itemIndent >= 0) {
      const ind = indentOf(s.slice(pos, pos + itemIndent + 1));
      if (ind === itemIndent && s.charCodeAt(pos + ind) === 123) return 2;
    }
    return startsValue(s.charCodeAt(pos)) ? 1 : 0;
  };
  const feedText = (s: string, atLineStart: boolean): boolean => {
    let pos = 0;
    let lineStart = atLineStart;
    while (pos < s.length) {
      if (skipping) {
        const point = lineStart && line !== resumedAt ? resumePoint(s, pos) : 0;
        if (point === 0) {
          const nl = s.indexOf('\n', pos);
          if (nl < 0) return false;
          line++;
          lineStart = true;
          pos = nl + 1;
          continue;
        }
        resume(point === 2);
      }
      const nl = s.indexOf('\n', pos);
      const end = nl < 0 ? s.length : nl + 1;
      const piece = pos === 0 && end === s.length ? s : s.slice(pos, end);
      if (lineStart) {
        head = '';
        closersOnly = true;
      }
      if (head.length < 256) head += piece.slice(0, 256 - head.length);
      if (closersOnly && !CLOSERS_ONLY.test(piece)) closersOnly = false;
      const before = consumer.item;
      const elems = consumer.elems;
      if (!parser.feed(piece)) {
        if (inResumedArray && closersOnly && !consumer.busy) {
          // The brackets that close the wrapper after its last item: the document ended well.
          parser = new JsonStream(sink, at, consumer);
          inResumedArray = false;
        } else {
          fail();
          // The tokenizer looks ahead, so an error often shows only on the line after the broken
          // one: when that line starts a value itself, read it again from its start.
          if (lineStart && consumer.item === before && line !== resumedAt && resumePoint(s, pos) !== 0) continue;
        }
      } else if (consumer.elems !== elems && lineStart) {
        const ind = indentOf(head);
        if (head.charCodeAt(ind) === 123) itemIndent = ind;
      }
      lineStart = nl >= 0;
      if (nl >= 0) line++;
      pos = end;
    }
    return lineStart;
  };

  let atLineStart = true;
  const end: StreamEnd = { error: null };
  for await (let chunk of untilError(chunks, end)) {
    if (first) {
      first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    atLineStart = feedText(decoder.decode(chunk, { stream: true }), atLineStart);
  }
  feedText(decoder.decode(), atLineStart);
  if (end.error) ended = end.error;
  if (!skipping && !parser.end()) {
    if (inResumedArray && closersOnly && !consumer.busy) {
      /* the wrapper's closing brackets, as above */
    } else {
      fail();
      const s = skipping!;
      const how = ended ? `input ended early (${ended.message})` : `the document ends inside a value (${s.message})`;
      sink.reject({ file, line: s.item, unit: 'item' }, `truncated JSON: ${how}`);
      if (!ended) incomplete = 'the input ends inside a JSON value (truncated)';
      skipping = null;
    }
  } else if (skipping) {
    const s = skipping as Skip;
    if (!s.counted) sink.reject({ file, line: s.item, unit: 'item' }, `malformed JSON at line ${s.line} (${s.message}); no later line starts a value, so the rest of the input (to line ${line}) could not be read`);
    incomplete = `malformed JSON at line ${s.line}: the rest of the document could not be read`;
  } else if (ended) {
    sink.reject({ file, line: consumer.item + 1, unit: 'item' }, `input ended early (${ended.message})`);
  }
  return { format: consumer.format || 'json', incomplete, ...(ended ? { ended } : {}) };
}
