// Spilled values as JSON text: reducer state is plain data (objects, arrays, Map, Set, strings,
// numbers, booleans, null), and JSON carries all of it once Maps, Sets and the numbers JSON has no
// literal for (NaN, ±Infinity, -0) are tagged. A tagged value is an object whose key "$" names
// the type: {"$":"M","v":[k1,v1,k2,v2,…]} (Map), {"$":"S","v":[…]} (Set), {"$":"n","v":"NaN"}
// (number), {"$":"u"} (undefined in an array), {"$":"o","v":{…}} (a plain object that has a key
// "$" itself, as audit data may). Decoding gives back an equal value (decode(encode(x)) deep-equals
// x; a property test checks it). Converting to a JSON-safe tree and calling JSON.stringify once is
// much faster than a replacer function or building the text by concatenation.

function toJson(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? v : { $: 'n', v: Object.is(v, -0) ? '-0' : String(v) };
    case 'undefined':
      return { $: 'u' };
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) {
        const a = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) a[i] = toJson(v[i]);
        return a;
      }
      if (v instanceof Map) {
        const a: unknown[] = [];
        for (const [k, x] of v) a.push(toJson(k), toJson(x));
        return { $: 'M', v: a };
      }
      if (v instanceof Set) {
        const a: unknown[] = [];
        for (const x of v) a.push(toJson(x));
        return { $: 'S', v: a };
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw new Error(`cannot spill an instance of ${(v as object).constructor?.name ?? 'a class'}`);
      const o: Record<string, unknown> = {};
      let tagged = false;
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined) continue;
        if (k === '$') tagged = true;
        if (k === '__proto__') Object.defineProperty(o, k, { value: toJson(x), enumerable: true, writable: true, configurable: true });
        else o[k] = toJson(x);
      }
      return tagged ? { $: 'o', v: o } : o;
    }
    default:
      throw new Error(`cannot spill a ${typeof v}`);
  }
}

function fromJson(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'object' && x !== null) v[i] = fromJson(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  switch (o.$) {
    case undefined:
      break;
    case 'M': {
      const a = o.v as unknown[];
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < a.length; i += 2) m.set(fromJson(a[i]), fromJson(a[i + 1]));
      return m;
    }
    case 'S': {
      const s = new Set<unknown>();
      for (const x of o.v as unknown[]) s.add(fromJson(x));
      return s;
    }
    case 'n':
      return Number(o.v);
    case 'u':
      return undefined;
    case 'o':
      return fields(o.v as Record<string, unknown>);
    default:
      throw new Error(`spilled value with unknown tag ${JSON.stringify(o.$)}`);
  }
  return fields(o);
}

function fields(o: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (typeof x !== 'object' || x === null) continue;
    // JSON.parse made `__proto__` an own key; an assignment would set the prototype instead.
    if (k === '__proto__') Object.defineProperty(o, k, { value: fromJson(x), enumerable: true, writable: true, configurable: true });
    else o[k] = fromJson(x);
  }
  return o;
}

/**
 * Whether JSON.stringify writes `v` exactly as the tagged form would, with no tag in it: strings,
 * finite numbers other than -0, booleans, null, arrays of such values (no undefined, no holes) and
 * plain objects without a key "$" or "__proto__" (a key whose value is undefined is left out by
 * both). Walks without allocating; depth-limited so that a deep value takes the tagged path.
 */
function plainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) return false;
          const x: unknown = v[i];
          if (x === undefined || !plainJson(x, depth + 1)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const k in v) {
        if (k === '$' || k === '__proto__') return false;
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined && !plainJson(x, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Lines of values that need no tag start with this character (JSON text never does): their
 * decoding is JSON.parse alone, without walking the tree for tags (issue 15: spilled report
 * entries, a million per run, are mostly plain data).
 */
const PLAIN = '=';

/** One line of JSON (no newline in it) for a plain-data value. Throws for functions, symbols, bigints and class instances other than Map and Set. */
export function encodeLine(v: unknown): string {
  // The common case, plain JSON data, is stringified as it is: no tagged copy of the tree is made.
  if (plainJson(v, 0)) return PLAIN + JSON.stringify(v);
  return JSON.stringify(toJson(v));
}

/** The value encodeLine wrote. */
export function decodeLine(line: string): unknown {
  if (line.charCodeAt(0) === 61 /* = */) return JSON.parse(line.slice(1));
  return fromJson(JSON.parse(line));
}

/**
 * A plain-data value as a JSON-safe tree (what encodeLine stringifies): for a codec of its own that
 * writes the common part of a value by hand and the rare part as a tree.
 */
export function toJsonTree(v: unknown): unknown {
  return toJson(v);
}

/** The value toJsonTree gave, from its parsed JSON (the tree is reused). */
export function fromJsonTree(tree: unknown): unknown {
  return fromJson(tree);
}

/**
 * How the items of a run are written, one line each (no newline in a line): decode(encode(x)) must
 * give a value equal to x. The default is encodeLine/decodeLine (any plain data); a spilling map
 * of one known shape may bring a faster one of its own (SpillSpec.codec).
 */
export interface LineCodec<T> {
  encode(item: T): string;
  decode(line: string): T;
}

/** encodeLine and decodeLine as a LineCodec. */
export const JSON_LINES: LineCodec<unknown> = { encode: encodeLine, decode: decodeLine };
