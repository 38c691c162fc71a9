// Building the `audit view` page's encoded tables without holding their rows as objects (CLI side
// only; the page reads the result with columns.ts). Two pieces:
// - JsonList: a JSON array whose elements are made when it is written. jsonChunks (html.ts) writes
//   it a slice at a time; JSON.stringify (its toJSON) makes it whole, the same text.
// - ColumnBuilder: one column of values pushed one at a time, encoded exactly as encodeColumn
//   (columns.ts) encodes the array of the same values, in memory proportional to its codes (4 bytes
//   a row) and distinct values, not to objects per row.
import type { EncodedColumn, EncodedTable } from './columns.js';
import type { ViewReport } from './index.js';
import { toPayload, type ViewPayload } from './payload.js';
import { RECORD_FIELDS } from '../../render/records.js';

/**
 * A JSON array of `length` elements, element i being `at(i)` (called when the array is written).
 * `nested`: the elements are objects or arrays (written one by one), else JSON primitives (written
 * a slice at a time).
 */
export class JsonList<T = unknown> {
  constructor(
    readonly length: number,
    readonly at: (i: number) => T,
    readonly nested = false,
  ) {}

  /** The whole array (JSON.stringify calls this). */
  toJSON(): T[] {
    const out = new Array<T>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.at(i);
    return out;
  }
}

const BLOCK = 1 << 16;

/** A growing list of numbers in fixed typed-array blocks (no copying and no doubling slack as it grows). */
class BlockList {
  private blocks: (Int32Array | Float64Array)[] = [];
  length = 0;

  /** `block` makes one block of BLOCK elements: its type decides what a value is stored as. */
  constructor(private readonly block: () => Int32Array | Float64Array) {}

  push(v: number): void {
    const b = this.length >>> 16;
    if (b === this.blocks.length) this.blocks.push(this.block());
    this.blocks[b]![this.length & (BLOCK - 1)] = v;
    this.length++;
  }

  get(i: number): number {
    return this.blocks[i >>> 16]![i & (BLOCK - 1)]!;
  }
}

/** A growing list of 32-bit integers. */
export class IntList extends BlockList {
  constructor() {
    super(() => new Int32Array(BLOCK));
  }

  /** The list as a JSON array that is made when written. */
  json(): JsonList<number> {
    return new JsonList(this.length, (i) => this.get(i));
  }
}

/** A growing list of numbers (doubles). */
class NumList extends BlockList {
  constructor() {
    super(() => new Float64Array(BLOCK));
  }
}

/** encodeColumn's sample: the first this many values decide whether strings are kept raw. */
const SAMPLE = 4096;

/** A number's text in a `j` column: non-finite numbers as their bare names (no JSON text looks like that). */
function jsonText(v: unknown): string {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) as string);
}

/**
 * One column, pushed value by value; `finish()` gives what encodeColumn (columns.ts) gives for the
 * array of the pushed values (undefined for an absent value), with its arrays as JsonLists. Holds
 * 4 bytes a row for strings, JSON values and 9 for numbers, plus each distinct value once; strings
 * that the sample shows to be mostly distinct are held as they are (no dictionary), as the page
 * gets them.
 */
export class ColumnBuilder {
  n = 0;
  private mode: 'none' | 'str' | 'raw' | 'num' | 'json' = 'none';
  /** str and json: value (json: its JSON text) → code. */
  private index: Map<string, number> | null = null;
  private dict: string[] = [];
  private codes = new IntList();
  /** raw: the values. */
  private vals: string[] = [];
  /** num: the values; null as 1 in `nulls`. */
  private nums = new NumList();
  private nulls: Uint8Array[] = [];

  push(v: unknown): void {
    if (this.mode === 'none') this.mode = typeof v === 'string' ? 'str' : typeof v === 'number' || v === null ? 'num' : 'json';
    if ((this.mode === 'str' || this.mode === 'raw') && typeof v !== 'string') this.toJson();
    else if (this.mode === 'num' && typeof v !== 'number' && v !== null) this.toJson();
    switch (this.mode) {
      case 'str': {
        this.index ??= new Map();
        const s = v as string;
        let c = this.index.get(s);
        if (c === undefined) {
          c = this.dict.length;
          this.index.set(s, c);
          this.dict.push(s);
        }
        this.codes.push(c);
        this.n++;
        // encodeColumn's sample: mostly distinct among the first SAMPLE values → kept raw.
        if (this.n === SAMPLE && this.dict.length * 2 > SAMPLE) this.toRaw();
        return;
      }
      case 'raw':
        this.vals.push(v as string);
        this.n++;
        return;
      case 'num': {
        const b = this.n >>> 16;
        if (b === this.nulls.length) this.nulls.push(new Uint8Array(BLOCK));
        if (v === null) this.nulls[b]![this.n & (BLOCK - 1)] = 1;
        this.nums.push(v === null ? NaN : (v as number));
        this.n++;
        return;
      }
      default:
        this.pushJson(v);
    }
  }

  private pushJson(v: unknown): void {
    this.index ??= new Map();
    if (v === undefined) this.codes.push(-1);
    else {
      const t = jsonText(v);
      let c = this.index.get(t);
      if (c === undefined) {
        c = this.dict.length;
        this.index.set(t, c);
        this.dict.push(t);
      }
      this.codes.push(c);
    }
    this.n++;
  }

  private value(i: number): unknown {
    if (this.mode === 'str') return this.dict[this.codes.get(i)];
    if (this.mode === 'raw') return this.vals[i];
    if (this.mode === 'num') return this.nulls[i >>> 16]![i & (BLOCK - 1)] ? null : this.nums.get(i);
    throw new Error('internal: ColumnBuilder.value in json mode');
  }

  private toRaw(): void {
    const vals = new Array<string>(this.n);
    for (let i = 0; i < this.n; i++) vals[i] = this.dict[this.codes.get(i)]!;
    this.vals = vals;
    this.index = null;
    this.dict = [];
    this.codes = new IntList();
    this.mode = 'raw';
  }

  private toJson(): void {
    const n = this.n;
    const old = Array.from({ length: n }, (_, i) => this.value(i));
    this.index = null;
    this.dict = [];
    this.codes = new IntList();
    this.vals = [];
    this.nums = new NumList();
    this.nulls = [];
    this.mode = 'json';
    this.n = 0;
    for (const v of old) this.pushJson(v);
  }

  /** The encoded column (encodeColumn's result for the same values). */
  finish(): EncodedColumn {
    const n = this.n;
    if (n === 0) return { k: 'j', dict: [], idx: [] };
    if (this.mode === 'raw') return { k: 'r', vals: new JsonList(n, (i) => this.vals[i]!) as unknown as string[] };
    if (this.mode === 'str') {
      // Below SAMPLE values the sample is every value; past it the sample kept the dictionary, and
      // the whole dictionary decides (encodeColumn's two tests).
      if (this.dict.length * 2 > n) return { k: 'r', vals: new JsonList(n, (i) => this.dict[this.codes.get(i)]!) as unknown as string[] };
      return { k: 's', dict: this.dict, idx: this.codes.json() as unknown as number[] };
    }
    if (this.mode === 'num') {
      return {
        k: 'n',
        vals: new JsonList(n, (i) => {
          if (this.nulls[i >>> 16]![i & (BLOCK - 1)]) return null;
          const v = this.nums.get(i);
          return Number.isFinite(v) ? v : String(v);
        }) as unknown as (number | string | null)[],
      };
    }
    return { k: 'j', dict: this.dict, idx: this.codes.json() as unknown as number[] };
  }
}

/** An encoded table whose columns are encoded one at a time as it is written (`column(i)`: column i). */
export function lazyTable(n: number, fields: readonly string[], column: (i: number) => EncodedColumn): EncodedTable {
  return { n, fields: [...fields], cols: new JsonList(fields.length, column, true) as unknown as EncodedColumn[] };
}

/** The page's commands, encoded as they are folded: the table and the lists of payload.ts. */
export interface CommandTable {
  table: EncodedTable;
  /** FLAG bits of each command. */
  flags: JsonList<number>;
  /** Rows of every command's calls, concatenated; `calls[i]` of them for command i. */
  rows: JsonList<number>;
  calls: JsonList<number>;
}

/** What the builder reads of a command: its fields, plus the rows of its calls and its flags. */
export interface FoldedCommand {
  rows: number[];
  flags: number;
  auditIDs: string[];
}

/**
 * The commands of the page, added one at a time as the folder emits them, encoded as toPayload
 * (payload.ts) encodes the array of the same commands: fields in first-seen order (`skip` left
 * out), each column as encodeColumn gives it, and `auditIDs` as a `rows` column as long as every
 * command's auditIDs are those of its rows (`idOfRow`), else as its values. Nothing is kept per
 * command but codes, numbers and the distinct values.
 */
export class CommandTableBuilder {
  n = 0;
  private readonly fields: string[] = [];
  private readonly cols = new Map<string, ColumnBuilder>();
  private readonly flags = new IntList();
  private readonly rows = new IntList();
  private readonly calls = new IntList();
  /** The auditIDs' column once a command's auditIDs are not those of its rows (null until then). */
  private ids: ColumnBuilder | null = null;

  constructor(
    private readonly skip: readonly string[],
    private readonly idOfRow: (row: number) => string,
  ) {}

  add(c: FoldedCommand): void {
    const o = c as unknown as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (this.skip.includes(k) || this.fields.includes(k)) continue;
      this.fields.push(k);
      if (k === 'auditIDs') {
        // Commands before without auditIDs: absent values, so the column holds values.
        if (this.n > 0) {
          this.ids = new ColumnBuilder();
          for (let i = 0; i < this.n; i++) this.ids.push(undefined);
        }
        continue;
      }
      const b = new ColumnBuilder();
      for (let i = 0; i < this.n; i++) b.push(undefined);
      this.cols.set(k, b);
    }
    for (const f of this.fields) if (f !== 'auditIDs') this.cols.get(f)!.push(o[f]);
    if (this.fields.includes('auditIDs')) {
      if (this.ids === null && !this.idsAreRows(c)) this.idsFromValues();
      if (this.ids !== null) this.ids.push(o.auditIDs);
    }
    const start = this.rows.length;
    for (const r of c.rows) this.rows.push(r);
    this.calls.push(this.rows.length - start);
    this.flags.push(c.flags);
    this.n++;
  }

  private idsAreRows(c: FoldedCommand): boolean {
    const ids = c.auditIDs;
    if (!Array.isArray(ids) || ids.length !== c.rows.length) return false;
    for (let j = 0; j < ids.length; j++) if (ids[j] !== this.idOfRow(c.rows[j]!)) return false;
    return true;
  }

  /** From now on the auditIDs are kept as values: the commands so far get theirs from their rows. */
  private idsFromValues(): void {
    const b = new ColumnBuilder();
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      const m = this.calls.get(i);
      const ids: string[] = [];
      for (let j = 0; j < m; j++) ids.push(this.idOfRow(this.rows.get(k + j)));
      k += m;
      b.push(ids);
    }
    this.ids = b;
  }

  finish(): CommandTable {
    const fields = this.fields;
    const column = (i: number): EncodedColumn => {
      const f = fields[i]!;
      if (f === 'auditIDs') return this.ids === null ? { k: 'rows' } : this.ids.finish();
      return this.cols.get(f)!.finish();
    };
    return { table: lazyTable(this.n, fields, column), flags: this.flags.json(), rows: this.rows.json(), calls: this.calls.json() };
  }
}

/**
 * The page's payload: toPayload(r) (payload.ts), the same JSON. For a report the reducer made, the
 * records' columns are encoded one at a time as the payload is written, and the commands come as
 * the fold encoded them, so that no row or command exists as an object. (Here, not in payload.ts,
 * which the page bundles: the page's script stays as it was.)
 */
export function pagePayload(r: ViewReport): ViewPayload {
  return r.commandTable && r.columns ? fromStore(r, r.commandTable, r.columns) : toPayload(r);
}

function fromStore(r: ViewReport, commands: CommandTable, columns: (field: string) => unknown[]): ViewPayload {
  const n = r.summary.calls;
  const encode = (field: string): EncodedColumn => {
    const b = new ColumnBuilder();
    for (const v of columns(field)) b.push(v);
    return b.finish();
  };
  const loc = ['file', 'line', 'unit'];
  return {
    v: 1,
    summary: r.summary,
    command: r.command,
    input: r.input,
    records: lazyTable(n, RECORD_FIELDS, (i) => encode(RECORD_FIELDS[i]!)),
    locations: lazyTable(n, loc, (i) => encode(`location.${loc[i]!}`)),
    flags: r.flags,
    commands: commands.table,
    commandFlags: commands.flags as unknown as number[],
    commandRows: commands.rows as unknown as number[],
    commandCalls: commands.calls as unknown as number[],
  };
}

