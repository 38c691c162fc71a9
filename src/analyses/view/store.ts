// The rows `audit view` keeps, held column-wise in slots: strings that repeat from request to request
// (user, verb, namespace, user agent…) once each in a reference-counted dictionary and as 4-byte
// codes per row, the mostly distinct strings (time, auditID, requestURI) as copies of their own,
// numbers in typed arrays. A kept row takes about a tenth of the memory of the AuditRecord it came
// from, and none of the line it was parsed from. The store also counts its data bytes: the size, in
// the JSON the page embeds, of every distinct string it holds plus ROW_BYTES per row; this is what
// `--max-bytes` bounds.
import type { AuditRecord, Loc } from '../../types.js';


/** Fields kept as a fresh copy per row (values that seldom repeat). */
const RAW = ['time', 'auditID', 'requestURI'] as const;
/** String fields kept as dictionary codes. */
const CODED = [
  'cluster', 'stage', 'level', 'subject', 'subjectKind', 'subjectNamespace', 'subjectName', 'impersonator', 'principal', 'verb', 'apiGroup',
  'apiVersion', 'resource', 'subresource', 'namespace', 'name', 'nonResourceURL', 'decision', 'sourceIP', 'userAgent', 'client', 'clientVersion',
  'accessMethod', 'provider',
] as const;
/** Number fields; `null` is kept apart from NaN. */
const NUMS = ['timeMs', 'code', 'durationMs', 'responseStartedMs'] as const;

/**
 * Bytes counted per row on top of its strings: its numbers, flags and dictionary codes as the
 * page's JSON writes them (about 30 short numbers and their separators).
 */
export const ROW_BYTES = 96;

/**
 * The size of a string in the page's JSON data: the UTF-8 bytes of JSON.stringify(s), counted
 * without making it (quotes; `\"`, `\\` and the short escapes 2 bytes; other control characters
 * and lone surrogates 6, as `\uXXXX`; other characters their UTF-8 length).
 */
export function jsonBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) n += c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
    else if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) n += 6;
    else n += 3;
  }
  return n;
}

/** A copy of `s` that shares no memory with the string it was cut from (V8 keeps a slice's parent alive). */
function own(s: string): string {
  return s.length === 0 ? '' : (JSON.parse(JSON.stringify(s)) as string);
}

/** Reference-counted dictionary of strings: codes are reused once nothing refers to them. */
class Dictionary {
  private readonly code = new Map<string, number>();
  values: (string | undefined)[] = [];
  private refs: number[] = [];
  private free: number[] = [];
  /** Data bytes of the strings held. */
  bytes = 0;

  ref(s: string): number {
    let c = this.code.get(s);
    if (c === undefined) {
      const v = own(s);
      c = this.free.pop() ?? this.values.length;
      this.values[c] = v;
      this.refs[c] = 0;
      this.code.set(v, c);
      this.bytes += jsonBytes(v);
    }
    this.refs[c]!++;
    return c;
  }

  unref(c: number): void {
    if (--this.refs[c]! > 0) return;
    const v = this.values[c]!;
    this.code.delete(v);
    this.values[c] = undefined;
    this.free.push(c);
    this.bytes -= jsonBytes(v);
  }

  get size(): number {
    return this.code.size;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T, n: number): T {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2, 64));
  b.set(a);
  return b;
}

/**
 * Slots of rows. `put` stores a record and returns its slot; `get` gives it back (the fields of
 * RECORD_FIELDS, responseStartedMs and location; the bodies and the impersonation details are not
 * kept); `drop` frees a slot. `bytes` is the data bytes of the rows held.
 */
export class RowStore {
  private readonly dict = new Dictionary();
  private readonly raw: string[][] = RAW.map(() => []);
  private codes: Int32Array[] = CODED.map(() => new Int32Array(0));
  /** groups, location file and unit: dictionary codes. */
  private groups = new Int32Array(0);
  private file = new Int32Array(0);
  private unit = new Int32Array(0);
  private line = new Float64Array(0);
  private nums: Float64Array[] = NUMS.map(() => new Float64Array(0));
  /** Bit i: NUMS[i] is null. Bit 7: auditIDReused. */
  private bits = new Uint8Array(0);
  private rawBytes = 0;
  private slots = 0;
  private readonly free: number[] = [];
  /** Rows held. */
  rows = 0;

  /** Data bytes of the rows held: distinct strings once each, plus ROW_BYTES per row. */
  get bytes(): number {
    return this.dict.bytes + this.rawBytes + this.rows * ROW_BYTES;
  }

  /** Distinct strings held (bounded by the rows held times the fields). */
  get distinct(): number {
    return this.dict.size;
  }

  put(r: AuditRecord): number {
    let s = this.free.pop();
    if (s === undefined) {
      s = this.slots++;
      const n = this.slots;
      this.codes = this.codes.map((a) => grow(a, n));
      this.nums = this.nums.map((a) => grow(a, n));
      this.groups = grow(this.groups, n);
      this.file = grow(this.file, n);
      this.unit = grow(this.unit, n);
      this.line = grow(this.line, n);
      this.bits = grow(this.bits, n);
    }
    const rec = r as unknown as Record<string, unknown>;
    for (let i = 0; i < RAW.length; i++) {
      // Parsed JSON strings are copies of their own already (not slices of the line).
      const v = String(rec[RAW[i]!] ?? '');
      this.raw[i]![s] = v;
      this.rawBytes += jsonBytes(v);
    }
    for (let i = 0; i < CODED.length; i++) this.codes[i]![s] = this.dict.ref(String(rec[CODED[i]!] ?? ''));
    let bits = 0;
    for (let i = 0; i < NUMS.length; i++) {
      const v = rec[NUMS[i]!];
      if (v === null || v === undefined) {
        bits |= 1 << i;
        this.nums[i]![s] = NaN;
      } else this.nums[i]![s] = v as number;
    }
    if (r.auditIDReused) bits |= 1 << 7;
    this.bits[s] = bits;
    this.groups[s] = this.dict.ref(JSON.stringify(Array.isArray(r.groups) ? r.groups : []));
    const loc: Partial<Loc> = r.location ?? {};
    this.file[s] = this.dict.ref(loc.file ?? '');
    this.unit[s] = this.dict.ref(loc.unit ?? 'line');
    this.line[s] = loc.line ?? 0;
    this.rows++;
    return s;
  }

  drop(s: number): void {
    for (let i = 0; i < RAW.length; i++) {
      this.rawBytes -= jsonBytes(this.raw[i]![s]!);
      this.raw[i]![s] = '';
    }
    for (let i = 0; i < CODED.length; i++) this.dict.unref(this.codes[i]![s]!);
    this.dict.unref(this.groups[s]!);
    this.dict.unref(this.file[s]!);
    this.dict.unref(this.unit[s]!);
    this.free.push(s);
    this.rows--;
  }

  /** The time string of slot `s`. */
  time(s: number): string {
    return this.raw[0]![s]!;
  }

  /**
   * A reader of one field: `RECORD_FIELDS` (src/render/records.ts), `responseStartedMs`, or the
   * location's `location.file`, `location.line`, `location.unit`. Values are those of the record
   * that was put (timeMs NaN when it had no time); `groups` arrays are shared between slots.
   */
  reader(field: string): (s: number) => unknown {
    const d = this.dict.values;
    const raw = (RAW as readonly string[]).indexOf(field);
    if (raw >= 0) return (s) => this.raw[raw]![s]!;
    const coded = (CODED as readonly string[]).indexOf(field);
    if (coded >= 0) return (s) => d[this.codes[coded]![s]!]!;
    const num = (NUMS as readonly string[]).indexOf(field);
    if (num >= 0) {
      const absent = field === 'timeMs' ? NaN : field === 'code' ? 0 : null;
      return (s) => (this.bits[s]! & (1 << num) ? absent : this.nums[num]![s]!);
    }
    switch (field) {
      case 'auditIDReused':
        return (s) => (this.bits[s]! & (1 << 7)) !== 0;
      case 'groups': {
        const cache = new Map<number, string[]>();
        return (s) => {
          const g = this.groups[s]!;
          let v = cache.get(g);
          if (v === undefined) cache.set(g, (v = JSON.parse(d[g]!) as string[]));
          return v;
        };
      }
      case 'location.file':
        return (s) => d[this.file[s]!]!;
      case 'location.unit':
        return (s) => d[this.unit[s]!]!;
      case 'location.line':
        return (s) => this.line[s]!;
    }
    throw new Error(`internal: the view store does not keep ${field}`);
  }

  /**
   * A reader of whole records: RECORD_FIELDS in their order, then responseStartedMs and location
   * ({file, line, unit}); not the other AuditRecord fields (bodies, impersonation details).
   */
  records(): (s: number) => AuditRecord {
    // One object literal: V8 gives it a fixed shape with the fields in the object (an object built
    // field by field becomes a dictionary, three times the size, at these numbers of fields).
    const f = (name: string): ((s: number) => unknown) => this.reader(name);
    const [time, timeMs, cluster, auditID, stage, level, subject, subjectKind, subjectNamespace, subjectName, groups, impersonator, principal, verb] = [
      'time', 'timeMs', 'cluster', 'auditID', 'stage', 'level', 'subject', 'subjectKind', 'subjectNamespace', 'subjectName', 'groups', 'impersonator', 'principal', 'verb',
    ].map(f) as ((s: number) => never)[];
    const [apiGroup, apiVersion, resource, subresource, namespace, name, nonResourceURL, requestURI, code, decision, durationMs, sourceIP, userAgent, client] = [
      'apiGroup', 'apiVersion', 'resource', 'subresource', 'namespace', 'name', 'nonResourceURL', 'requestURI', 'code', 'decision', 'durationMs', 'sourceIP', 'userAgent', 'client',
    ].map(f) as ((s: number) => never)[];
    const [clientVersion, accessMethod, provider, auditIDReused, responseStartedMs, file, line, unit] = [
      'clientVersion', 'accessMethod', 'provider', 'auditIDReused', 'responseStartedMs', 'location.file', 'location.line', 'location.unit',
    ].map(f) as ((s: number) => never)[];
    return (s) =>
      ({
        time: time!(s), timeMs: timeMs!(s), cluster: cluster!(s), auditID: auditID!(s), stage: stage!(s), level: level!(s),
        subject: subject!(s), subjectKind: subjectKind!(s), subjectNamespace: subjectNamespace!(s), subjectName: subjectName!(s), groups: groups!(s), impersonator: impersonator!(s), principal: principal!(s),
        verb: verb!(s), apiGroup: apiGroup!(s), apiVersion: apiVersion!(s), resource: resource!(s), subresource: subresource!(s), namespace: namespace!(s), name: name!(s), nonResourceURL: nonResourceURL!(s), requestURI: requestURI!(s),
        code: code!(s), decision: decision!(s), durationMs: durationMs!(s), sourceIP: sourceIP!(s), userAgent: userAgent!(s), client: client!(s), clientVersion: clientVersion!(s), accessMethod: accessMethod!(s), provider: provider!(s),
        auditIDReused: auditIDReused!(s),
        responseStartedMs: responseStartedMs!(s),
        location: { file: file!(s), line: line!(s), unit: unit!(s) },
      }) as unknown as AuditRecord;
  }

}
