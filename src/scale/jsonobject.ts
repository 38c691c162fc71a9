// Reads a JSON file whose top level is an object, handing the members of one of its objects to a
// callback one at a time (a baseline's `subjects`): a file of any size is read in bounded memory
// (JSON.parse needs the whole text as one string, which V8 caps at about 512 MB). Small files take
// JSON.parse's fast path; larger ones stream-json's tokenizer, driven synchronously chunk by chunk.
import { createReadStream, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { load as loadStreamJson, type AssemblerLike, type Token } from '../ingest/document.js';

/** Files up to this size are parsed whole. */
export const PARSE_WHOLE_BYTES = 64 * 2 ** 20;

/** A syntax error or a top level that is not an object. */
export class JsonShapeError extends Error {}

/**
 * Reads `path`: returns its top-level members except `key`, and calls `onMember(name, value)` for
 * each member of the object under `key`, in file order (not called when `key` is absent or not an
 * object: then it is returned like the others). `wholeBytes` sets the size up to which the file is
 * parsed at once (tests). Errors: JsonShapeError for a syntax error or a top level that is not an
 * object; the file system's errors as they are.
 */
export async function readJsonObject(path: string, key: string, onMember: (name: string, value: unknown) => void, wholeBytes = PARSE_WHOLE_BYTES): Promise<Record<string, unknown>> {
  if (statSync(path).size <= wholeBytes) {
    let v: unknown;
    try {
      v = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      if (e instanceof SyntaxError) throw new JsonShapeError(e.message);
      throw e;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new JsonShapeError('the top level is not an object');
    const o = v as Record<string, unknown>;
    const inner = o[key];
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      delete o[key];
      for (const name of Object.keys(inner)) onMember(name, (inner as Record<string, unknown>)[name]);
    }
    return o;
  }
  return streamObject(path, key, onMember);
}

async function streamObject(path: string, key: string, onMember: (name: string, value: unknown) => void): Promise<Record<string, unknown>> {
  // The same stream-json as the input reader, with its Assembler that keeps a "__proto__" key.
  const { parser, Assembler, chain } = loadStreamJson();
  const tokenize = chain.getFunctionList(parser({ jsonStreaming: false, packValues: true, streamValues: false }))[1]!;
  const out: Record<string, unknown> = {};
  /** 0: before the top object; 1: in it, between members; 2: in the streamed object, between members; 3: after the top object. */
  let level = 0;
  let topKey: string | null = null;
  let memberKey: string | null = null;
  let value: AssemblerLike | null = null;
  const put = (o: Record<string, unknown>, k: string, v: unknown): void => {
    if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    else o[k] = v;
  };
  const token = (t: Token): void => {
    if (value) {
      value.consume(t);
      if (!value.done) return;
      const v = value.current;
      value = null;
      if (level === 2) onMember(memberKey!, v);
      else put(out, topKey!, v);
      return;
    }
    const n = t.name;
    if (level === 0) {
      if (n !== 'startObject') throw new JsonShapeError('the top level is not an object');
      level = 1;
    } else if (level === 1) {
      if (n === 'keyValue') topKey = t.value as string;
      else if (n === 'endObject') level = 3;
      else if (n === 'startObject' && topKey === key) level = 2;
      else {
        value = new Assembler();
        token(t);
      }
    } else if (level === 2) {
      if (n === 'keyValue') memberKey = t.value as string;
      else if (n === 'endObject') level = 1;
      else {
        value = new Assembler();
        token(t);
      }
    } else throw new JsonShapeError('more than one value at the top level');
  };
  const feed = (chunk: string | symbol): void => {
    let res: unknown;
    try {
      res = tokenize(chunk);
    } catch (e) {
      throw new JsonShapeError((e as Error).message.replace(/^Parser /, ''));
    }
    if (res === chain.none) return;
    if (chain.isMany(res)) for (const t of chain.getManyValues(res)) token(t);
    else token(res as Token);
  };
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) feed(decoder.decode(chunk as Buffer, { stream: true }));
  feed(decoder.decode());
  feed(chain.none);
  if (level !== 3) throw new JsonShapeError('the document ends inside a value (truncated)');
  return out;
}
