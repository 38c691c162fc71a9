// A generic, versioned JSON encoding of reducer states: JSON plus the values a state holds that JSON
// cannot (Map, Set, typed arrays, bigint, NaN, ±Infinity, -0, undefined, Date) and shared or cyclic
// references, so that a state survives a file exactly as it survives a structured clone between
// threads. It is generic on purpose: a reducer that adds a field, a Map or a typed array to its
// state needs no serialisation code; one that puts a class instance or a function into its state
// gets an error here (strip it in src/parallel/commands.ts, as drift strips its Authorizer).
//
// Tagged values are objects whose key "$" names the type (documented in docs/scale.md):
//   {"$":"Map","v":[[k,v],…]}  {"$":"Set","v":[…]}  {"$":"num","v":"NaN"|"Infinity"|"-Infinity"|"-0"}
//   {"$":"undefined"}  {"$":"bigint","v":"123"}  {"$":"Date","v":"2026-…Z"}
//   {"$":"Float64Array","v":"<base64, little-endian>"} (and the other typed arrays)
//   {"$":"obj","v":{…}} (a plain object that has its own "$" key)  {"$":"arr","v":[…]}
//   {"$":"ref","v":N}: the object tagged "id":N earlier (objects referenced twice carry an "id").

/** Bump when the encoding changes. */
export const CODEC_VERSION = 1;

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;
type Typed = InstanceType<(typeof TYPED)[TypedName]>;

const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

function typedName(v: object): TypedName | null {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return null;
  const name = v.constructor.name as TypedName;
  return name in TYPED ? name : null;
}

/** Bytes of a typed array in little-endian order. */
function leBytes(a: Typed): Buffer {
  const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (!BIG_ENDIAN || a.BYTES_PER_ELEMENT === 1) return b;
  const c = Buffer.from(b);
  if (a.BYTES_PER_ELEMENT === 2) c.swap16();
  else if (a.BYTES_PER_ELEMENT === 4) c.swap32();
  else c.swap64();
  return c;
}

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function describe(v: unknown, path: string): string {
  const what = typeof v === 'object' && v !== null ? `an instance of ${(v as object).constructor?.name ?? 'an unknown class'}` : `a ${typeof v}`;
  return `cannot encode ${what} at ${path || 'the top'}: reducer states hold plain data (objects, arrays, Map, Set, typed arrays, numbers, strings, bigint)`;
}

/** Encodes a value as JSON-compatible data. Throws a CodecError for functions, symbols and class instances. */
export function encode(value: unknown): unknown {
  // Pass 1: objects reached more than once (shared or cyclic) get ids.
  const seen = new Set<object>();
  const shared = new Set<object>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    if (seen.has(v)) {
      shared.add(v);
      return;
    }
    seen.add(v);
    if (v instanceof Map) for (const [k, x] of v) (visit(k), visit(x));
    else if (v instanceof Set) for (const x of v) visit(x);
    else if (Array.isArray(v)) for (const x of v) visit(x);
    else if (typedName(v) === null && !(v instanceof Date) && isPlain(v)) for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k]);
  };
  visit(value);
  const ids = new Map<object, number>();

  const enc = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (Number.isNaN(v)) return { $: 'num', v: 'NaN' };
        if (v === Infinity) return { $: 'num', v: 'Infinity' };
        if (v === -Infinity) return { $: 'num', v: '-Infinity' };
        if (Object.is(v, -0)) return { $: 'num', v: '-0' };
        return v;
      case 'undefined':
        return { $: 'undefined' };
      case 'bigint':
        return { $: 'bigint', v: v.toString() };
      case 'object':
        break;
      default:
        throw new CodecError(describe(v, path));
    }
    if (v === null) return null;
    const known = ids.get(v);
    if (known !== undefined) return { $: 'ref', v: known };
    let id: number | undefined;
    if (shared.has(v)) ids.set(v, (id = ids.size));
    const tag = (t: string, body: unknown): Record<string, unknown> => (id === undefined ? { $: t, v: body } : { $: t, id, v: body });
    if (v instanceof Map) return tag('Map', [...v].map(([k, x], i) => [enc(k, `${path}<key ${i}>`), enc(x, `${path}.get(${JSON.stringify(typeof k === 'string' ? k : i)})`)]));
    if (v instanceof Set) return tag('Set', [...v].map((x, i) => enc(x, `${path}<item ${i}>`)));
    if (v instanceof Date) return tag('Date', Number.isNaN(v.getTime()) ? 'Invalid' : v.toISOString());
    const tn = typedName(v);
    if (tn !== null) return tag(tn, leBytes(v as Typed).toString('base64'));
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) out.push(enc(v[i], `${path}[${i}]`));
      return id === undefined ? out : tag('arr', out);
    }
    if (!isPlain(v)) throw new CodecError(describe(v, path));
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) put(out, k, enc((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
    return id !== undefined || '$' in out ? tag('obj', out) : out;
  };
  return enc(value, '');
}

/** Sets an own property, also for the key `__proto__` (which assignment would treat as the prototype). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function fromLe(name: TypedName, b64: string): Typed {
  const bytes = Buffer.from(b64, 'base64');
  const C = TYPED[name];
  const n = C.BYTES_PER_ELEMENT;
  if (bytes.length % n !== 0) throw new CodecError(`${name}: ${bytes.length} bytes is not a whole number of elements`);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (BIG_ENDIAN && n > 1) {
    const b = Buffer.from(copy.buffer);
    if (n === 2) b.swap16();
    else if (n === 4) b.swap32();
    else b.swap64();
  }
  return new C(copy.buffer, 0, bytes.length / n) as Typed;
}

/** Decodes what `encode` produced. Throws a CodecError for unknown tags or dangling references. */
export function decode(data: unknown): unknown {
  const ids = new Map<number, unknown>();
  const dec = (d: unknown): unknown => {
    if (typeof d !== 'object' || d === null) return d;
    if (Array.isArray(d)) return d.map(dec);
    const o = d as Record<string, unknown>;
    if (!('$' in o)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(o)) put(out, k, dec(o[k]));
      return out;
    }
    const t = o.$;
    const v = o.v;
    const id = typeof o.id === 'number' ? o.id : undefined;
    const reg = <T>(x: T): T => {
      if (id !== undefined) ids.set(id, x);
      return x;
    };
    switch (t) {
      case 'num':
        return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === '-0' ? -0 : bad(`num ${String(v)}`);
      case 'undefined':
        return undefined;
      case 'bigint':
        return BigInt(String(v));
      case 'ref':
        if (!ids.has(v as number)) throw new CodecError(`reference to unknown object ${String(v)}`);
        return ids.get(v as number);
      case 'Date':
        return reg(new Date(v === 'Invalid' ? NaN : String(v)));
      case 'Map': {
        const m = reg(new Map<unknown, unknown>());
        for (const [k, x] of v as [unknown, unknown][]) m.set(dec(k), dec(x));
        return m;
      }
      case 'Set': {
        const s = reg(new Set<unknown>());
        for (const x of v as unknown[]) s.add(dec(x));
        return s;
      }
      case 'arr': {
        const a = reg([] as unknown[]);
        for (const x of v as unknown[]) a.push(dec(x));
        return a;
      }
      case 'obj': {
        const out = reg({} as Record<string, unknown>);
        const src = v as Record<string, unknown>;
        for (const k of Object.keys(src)) put(out, k, dec(src[k]));
        return out;
      }
      default:
        if (typeof t === 'string' && t in TYPED) return reg(fromLe(t as TypedName, String(v)));
        return bad(`tag ${JSON.stringify(t)}`);
    }
  };
  const bad = (what: string): never => {
    throw new CodecError(`unknown ${what}`);
  };
  return dec(data);
}
