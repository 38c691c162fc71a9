// The field extractor in WebAssembly (issue 19): asm/extract.ts, compiled with SIMD by
// tools/build-wasm.mjs into dist/ingest/extract.wasm, checks a whole line against the JSON grammar
// and finds the values of the members normalize/ reads (READ_MEMBERS); this file slices them out of
// the line and builds the value normalizeValue is given, without JSON.parse of the line.
//
// Its contract is extractEvent's (src/ingest/extract.ts), which the differential tests check
// against the reference path (JSON.parse of the whole line, then the same normalizeValue): for every
// line it either returns null (the line then takes the other paths, so its record or its rejection
// is theirs), or a value that normalizeValue reads exactly as JSON.parse's: every member it reads
// (READ_MEMBERS; test/ingest/wasmextract.test.ts checks with a Proxy that normalize reads no other)
// holds JSON.parse's value, except that a body object or array is a LazyJson of it. Members nothing
// reads are left out. Strings without escapes are sliced from the bytes (ASCII as latin1, others as
// UTF-8: the same characters JSON.parse sees after the line's UTF-8 decoding, since a string's
// bounds are ASCII quotes); strings with escapes and values of other types are JSON.parsed one by one.
//
// Without WebAssembly (or the built module), or with KAUDIT_NO_WASM=1, `WasmExtractor.create()` is
// null and the JavaScript extractor reads every line as before.
import { instantiate, type WasmMemory } from './wasm.js';
import { LazyJson, FALLBACK_KEYS } from './extract.js';
import type { AuditRecord } from '../types.js';
import { EventFields, EMPTY_STRINGS, isHttpStatus, keepRequestBody, keepResponseBody, principalFrom, recordFrom } from '../normalize/event.js';
import { wantsBody, type BodyNeeds } from '../normalize/bodies.js';

/** What record() read of the line (one per thread: no allocation per line). */
const fields = new EventFields();

/** Buffer's own decoders (what toString('latin1' | 'utf8', s, e) call after checking their arguments). */
interface Sliceable {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const SLICES = typeof (Buffer.prototype as unknown as Partial<Sliceable>).latin1Slice === 'function' && typeof (Buffer.prototype as unknown as Partial<Sliceable>).utf8Slice === 'function';

/** Slot kinds (asm/extract.ts). */
const K_ABSENT = 0;
const K_PLAIN = 1;
const K_JSON = 2;
const K_OBJECT = 3;
const K_NULL = 4;
const K_INT = 5;
const K_UTF8 = 6;
const K_STRINGS = 7;
const K_INTERNED = 8;
const K_INTERN_NEW = 9;
/** Slot flags (asm/extract.ts). */
const F_STRINGS = 1;
const F_INT = 2;
const F_INTERN = 4;
const F_TIME = 8;
/** Intern entries and their size (asm/extract.ts INTERN_SLOTS, INTERN_BYTES). */
const INTERN_SLOTS = 4096;
const INTERN_BYTES = 128;

/** Levels whose members are read: the event itself, and the objects below. */
const TOP = 0;
const USER = 1;
const OBJECT_REF = 2;
const RESPONSE_STATUS = 3;
const ANNOTATIONS = 4;

/** A read member: its level, name, the level of its own members (objects read member by member), its flags. */
interface Member {
  parent: number;
  name: string;
  child: number;
  flags: number;
}

const m = (parent: number, name: string, child = -1, flags = 0): Member => ({ parent, name, child, flags });

/**
 * Every member normalizeEvent (src/normalize/event.ts) and normalizeValue's dispatch read, by slot
 * number (the slot constants below follow this order). A change there must be made here too; the
 * Proxy test in test/ingest/wasmextract.test.ts fails otherwise.
 */
export const READ_MEMBERS: readonly Member[] = [
  m(TOP, 'kind', -1, F_INTERN),
  m(TOP, 'verb', -1, F_INTERN),
  m(TOP, 'user', USER),
  m(TOP, 'requestURI', -1, F_INTERN),
  m(TOP, 'impersonatedUser'),
  m(TOP, 'sourceIPs', -1, F_STRINGS | F_INTERN),
  m(TOP, 'userAgent', -1, F_INTERN),
  m(TOP, 'objectRef', OBJECT_REF),
  m(TOP, 'responseStatus', RESPONSE_STATUS),
  m(TOP, 'annotations', ANNOTATIONS),
  m(TOP, 'requestReceivedTimestamp', -1, F_TIME),
  m(TOP, 'timestamp', -1, F_TIME),
  m(TOP, 'stageTimestamp', -1, F_TIME),
  m(TOP, 'auditID'),
  m(TOP, 'stage', -1, F_INTERN),
  m(TOP, 'level', -1, F_INTERN),
  m(TOP, 'requestObject'),
  m(TOP, 'responseObject'),
  m(USER, 'username', -1, F_INTERN),
  m(USER, 'groups', -1, F_STRINGS | F_INTERN),
  m(USER, 'extra'),
  m(USER, 'arn'),
  m(USER, 'canonicalArn'),
  m(OBJECT_REF, 'resource', -1, F_INTERN),
  m(OBJECT_REF, 'subresource', -1, F_INTERN),
  m(OBJECT_REF, 'namespace', -1, F_INTERN),
  m(OBJECT_REF, 'name', -1, F_INTERN),
  m(OBJECT_REF, 'apiGroup', -1, F_INTERN),
  m(OBJECT_REF, 'apiVersion', -1, F_INTERN),
  m(RESPONSE_STATUS, 'code', -1, F_INT),
  m(ANNOTATIONS, 'authorization.k8s.io/decision', -1, F_INTERN),
];

const S_KIND = 0,
  S_VERB = 1,
  S_USER = 2,
  S_REQUEST_URI = 3,
  S_IMPERSONATED = 4,
  S_SOURCE_IPS = 5,
  S_USER_AGENT = 6,
  S_OBJECT_REF = 7,
  S_STATUS = 8,
  S_ANNOTATIONS = 9,
  S_RECEIVED = 10,
  S_TIMESTAMP = 11,
  S_STAGE_TS = 12,
  S_AUDIT_ID = 13,
  S_STAGE = 14,
  S_LEVEL = 15,
  S_REQUEST_OBJECT = 16,
  S_RESPONSE_OBJECT = 17,
  S_USERNAME = 18,
  S_GROUPS = 19,
  S_EXTRA = 20,
  S_ARN = 21,
  S_CANONICAL_ARN = 22,
  S_RESOURCE = 23,
  S_SUBRESOURCE = 24,
  S_NAMESPACE = 25,
  S_NAME = 26,
  S_API_GROUP = 27,
  S_API_VERSION = 28,
  S_CODE = 29,
  S_DECISION = 30;

const SLOTS = READ_MEMBERS.length;

const PAGE = 65536;
/** The module's own data and stack: the first 64 KiB are left to it. */
const CONFIG = PAGE;
const KEYS_AT = CONFIG; // 64 rows × 20 bytes
const FLAGS_AT = CONFIG + 64 * 20; // 64 × 4
const NAMES_AT = FLAGS_AT + 64 * 4;
/** The module's parse of the timestamp members (F_TIME): one f64 per slot. */
const TIMES_AT = CONFIG + 3584;
const TABLE_AT = CONFIG + 4096; // 64 slots × 16 bytes
const STACK_AT = TABLE_AT + 64 * 16;
const MAX_DEPTH = 4096;
/** The key index (asm/extract.ts configure): 8 × 64 + 64 i32. */
const INDEX_AT = STACK_AT + MAX_DEPTH;
const INTERN_AT = INDEX_AT + (8 * 64 + 64) * 4;
/** The module's predictions from the lines before (asm/extract.ts configurePredict): 8 × 32 names of 40 bytes, 64 intern entries. */
const PREDICT_AT = INTERN_AT + INTERN_SLOTS * (16 + INTERN_BYTES) + 64 * 4 + 64;
const PREDICT_BYTES = 8 * 32 * 40 + 64 * 4;
const SCRATCH_AT = PREDICT_AT + PREDICT_BYTES;
/** Longest line copied into the module's memory; longer lines are declined (the JavaScript paths read them). */
const SCRATCH = 1 << 20;
/** Bytes after each buffer: the checker's 16-byte loads may read past a line's end. */
const SLACK = 64;
/** Bytes of a read buffer (reader.ts READ_CHUNK): a file is read straight into two of them. */
const CHUNK = 1 << 20;
const BUFFERS_AT = SCRATCH_AT + SCRATCH + SLACK;
const PAGES = Math.ceil((BUFFERS_AT + 2 * (CHUNK + SLACK)) / PAGE);

interface Exports {
  configure(keys: number, nkeys: number, flags: number, nslots: number, out: number, stack: number, index: number, intern: number): void;
  extract(start: number, end: number): number;
  configureTimes(at: number): void;
  configurePredict(at: number): void;
}

type Obj = Record<string, unknown>;

const EMPTY = Buffer.alloc(0) as Sliceable & Buffer;

/** Extractors given back (WasmExtractor.release), for the next run in this thread. */
const idle: WasmExtractor[] = [];

/**
 * One instance of the module with its memory (3.7 MiB); use one per thread or reader. A file read
 * into `buffers` (reader.ts FileChunks) is checked where it is; lines of other chunks are copied in.
 */
export class WasmExtractor {
  private readonly x: Exports;
  private readonly memory: WasmMemory;
  private readonly mem: Buffer;
  /** Two read buffers in the module's memory (ReadOptions.extract's `buffers`). */
  readonly buffers: Buffer[];
  private readonly t: Int32Array;
  /** The module's parse of each F_TIME slot holding a plain string (parseTimeMs's value, NaN when none). */
  private readonly times: Float64Array;
  /** The line being read: `b`, and what to add to a module address to get an index of `b`. */
  private b: Sliceable & Buffer = EMPTY;
  private delta = 0;
  /** The values of the module's intern entries (arrays are frozen: records share them). */
  private readonly interned: (string | readonly string[])[] = new Array<string>(INTERN_SLOTS).fill('');

  private constructor(inst: { exports: unknown; memory: WasmMemory }) {
    const memory = inst.memory;
    this.x = inst.exports as unknown as Exports;
    this.memory = memory;
    this.mem = Buffer.from(memory.buffer);
    this.buffers = [0, 1].map((k) => Buffer.from(memory.buffer, BUFFERS_AT + k * (CHUNK + SLACK), CHUNK));
    const dv = new DataView(memory.buffer);
    let names = NAMES_AT;
    let rows = 0;
    const row = (parent: number, slot: number, child: number, name: string): void => {
      const n = Buffer.from(name, 'latin1');
      n.copy(this.mem, names);
      const at = KEYS_AT + rows * 20;
      dv.setInt32(at, parent, true);
      dv.setInt32(at + 4, slot, true);
      dv.setInt32(at + 8, child, true);
      dv.setInt32(at + 12, names, true);
      dv.setInt32(at + 16, n.length, true);
      names += n.length;
      rows++;
    };
    READ_MEMBERS.forEach((r, slot) => {
      row(r.parent, slot, r.child, r.name);
      dv.setInt32(FLAGS_AT + slot * 4, r.flags, true);
    });
    for (const k of FALLBACK_KEYS) row(TOP, -2, -1, k);
    if (rows > 64 || names > TIMES_AT) throw new Error('field extractor: configuration too large');
    this.x.configure(KEYS_AT, rows, FLAGS_AT, SLOTS, TABLE_AT, STACK_AT, INDEX_AT, INTERN_AT);
    this.x.configureTimes(TIMES_AT);
    this.x.configurePredict(PREDICT_AT);
    this.t = new Int32Array(memory.buffer, TABLE_AT, SLOTS * 4);
    this.times = new Float64Array(memory.buffer, TIMES_AT, SLOTS);
  }

  /** A new extractor, or null without WebAssembly, without the built module, or with KAUDIT_NO_WASM=1. */
  static create(): WasmExtractor | null {
    if (!SLICES) return null;
    try {
      const inst = instantiate('extract', PAGES, 'field extractor');
      return inst === null ? null : new WasmExtractor(inst);
    } catch {
      return null;
    }
  }

  /**
   * An extractor no one else uses (one released before, else a new one), or null as create().
   * Give it back with release() when the run ends: a worker's tasks then share one memory.
   */
  static acquire(): WasmExtractor | null {
    return idle.pop() ?? WasmExtractor.create();
  }

  /** Gives an extractor back for the next acquire() (its intern table carries over: it only saves work). */
  release(): void {
    if (idle.length < 2 && !idle.includes(this)) idle.push(this);
  }

  /** The value of a member that is not read member by member (see the file comment). */
  private value(slot: number): unknown {
    const t = this.t;
    const o = slot * 4;
    const kind = t[o]!;
    if (kind === K_ABSENT) return undefined;
    const s = t[o + 1]! + this.delta;
    const e = t[o + 2]! + this.delta;
    switch (kind) {
      case K_PLAIN:
        return this.b.latin1Slice(s + 1, e - 1);
      case K_NULL:
        return null;
      case K_INT:
        return t[o + 3]!;
      case K_UTF8:
        return this.b.utf8Slice(s + 1, e - 1);
      case K_STRINGS:
        return e - s === 2 ? [] : this.b.latin1Slice(s + 2, e - 2).split('","');
      case K_INTERNED:
        return this.interned[t[o + 3]!];
      case K_INTERN_NEW: {
        const v = this.b[s] === 91 ? Object.freeze(this.b.latin1Slice(s + 2, e - 2).split('","')) : this.b.latin1Slice(s + 1, e - 1);
        this.interned[t[o + 3]!] = v;
        return v;
      }
      default:
        return JSON.parse(this.b.utf8Slice(s, e)) as unknown;
    }
  }

  /** A body: a LazyJson of an object or array, else its value. */
  private body(slot: number): unknown {
    const o = slot * 4;
    if (this.t[o] !== K_JSON) return this.value(slot);
    const s = this.t[o + 1]! + this.delta;
    const c = this.b[s];
    return c === 123 || c === 91 ? new LazyJson(this.b, s, this.t[o + 2]! + this.delta) : this.value(slot);
  }

  private isObject(slot: number): boolean {
    return this.t[slot * 4] === K_OBJECT;
  }

  /**
   * Reads the line b[start..end) as a native audit Event (see the file comment); null when it must
   * take the other paths. Bodies are LazyJson holding `b`: use them before `b` is reused.
   */
  extract(b: Buffer, start: number, end: number): Obj | null {
    return this.read(b, start, end) ? this.object() : null;
  }

  /**
   * Checks the line b[start..end) and finds its members (see the file comment): true when
   * record() or object() may then read it (until the next line is read), false when the line must
   * take the other paths. After true, call record(), and object() when it gives null: values the
   * line interned anew are kept when they read them (a line read and left unread would leave its
   * intern entries without their values).
   */
  read(b: Buffer, start: number, end: number): boolean {
    this.b = EMPTY;
    if (b[start] !== 123) return false;
    let at: number;
    if (b.buffer === this.memory.buffer && b.byteOffset >= BUFFERS_AT) at = b.byteOffset + start;
    else {
      if (end - start > SCRATCH) return false;
      this.mem.set(b.subarray(start, end), SCRATCH_AT);
      at = SCRATCH_AT;
    }
    if (this.x.extract(at, at + end - start) === 0) return false;
    this.b = b as Sliceable & Buffer;
    this.delta = start - at;
    return true;
  }

  /** A string member: its value, '' when absent or null (as normalizeEvent's field reader), null when it is no string. */
  private str(slot: number): string | null {
    const kind = this.t[slot * 4]!;
    if (kind === K_ABSENT || kind === K_NULL) return '';
    if (kind === K_OBJECT || kind === K_INT || kind === K_STRINGS) return null;
    const v = this.value(slot);
    return typeof v === 'string' ? v : null;
  }

  /** An array-of-strings member: its value, EMPTY_STRINGS when absent, null or empty, null when it is no array of strings. */
  private strings(slot: number): string[] | null {
    const kind = this.t[slot * 4]!;
    if (kind === K_ABSENT || kind === K_NULL) return EMPTY_STRINGS;
    const v = this.value(slot);
    if (!Array.isArray(v)) return null;
    if (kind === K_JSON) for (let k = 0; k < v.length; k++) if (typeof v[k] !== 'string') return null;
    return v.length ? (v as string[]) : EMPTY_STRINGS;
  }

  /**
   * The record normalizeValue makes of the line read() accepted (provider `k8s`, location not set),
   * straight from the member table with no intermediate object, for the events of the common shape:
   * null when the event is of another (a member of an unexpected type, impersonation, a `kind`
   * other than Event, no verb, a code that is no HTTP status, a timestamp that is none…): object()
   * then gives the value for normalizeValue, which decides (and words any rejection). The
   * differential tests compare both on every line (test/ingest/extract.test.ts, the `wasm-record`
   * extractor).
   */
  record(cluster: string, bodies: BodyNeeds | undefined): AuditRecord | null {
    const t = this.t;
    const x = fields;
    if (t[S_KIND * 4] !== K_ABSENT && this.value(S_KIND) !== 'Event') return null;
    if (t[S_USER * 4] !== K_OBJECT) return null;
    const imp = t[S_IMPERSONATED * 4];
    if (imp !== K_ABSENT && imp !== K_NULL) return null;
    const verb = this.str(S_VERB);
    if (verb === null || verb === '') return null;
    x.verb = verb;
    const uri = this.str(S_REQUEST_URI);
    const username = this.str(S_USERNAME);
    const groups = this.strings(S_GROUPS);
    const ips = this.strings(S_SOURCE_IPS);
    const ua = this.str(S_USER_AGENT);
    if (uri === null || username === null || groups === null || ips === null || ua === null) return null;
    x.requestURI = uri;
    x.subject = username;
    x.groups = groups;
    x.notImpersonated();
    x.sourceIP = ips.length ? ips[0]! : '';
    x.userAgent = ua;
    let receivedAt = S_RECEIVED;
    let received = this.str(S_RECEIVED);
    if (received === '') received = this.str((receivedAt = S_TIMESTAMP));
    const auditID = this.str(S_AUDIT_ID);
    const stage = this.str(S_STAGE);
    const level = this.str(S_LEVEL);
    if (received === null || auditID === null || stage === null || level === null) return null;
    x.received = received;
    // Timestamps written plainly were parsed by the module (parseTime, as parseTimeMs): the stage's
    // is then never made a string. One that is no timestamp is rejected: normalizeValue words why.
    const st = S_STAGE_TS * 4;
    const sk = t[st]!;
    if ((received === '' || t[receivedAt * 4] === K_PLAIN) && (sk === K_PLAIN || sk === K_ABSENT || sk === K_NULL)) {
      x.times = true;
      x.stageTs = '';
      x.timeMs = NaN;
      x.endMs = NaN;
      if (received !== '') {
        x.timeMs = this.times[receivedAt]!;
        if (x.timeMs !== x.timeMs) return null;
        if (sk === K_PLAIN && t[st + 2]! - t[st + 1]! > 2) {
          x.endMs = this.times[S_STAGE_TS]!;
          if (x.endMs !== x.endMs) return null;
        }
      }
    } else {
      const stageTs = this.str(S_STAGE_TS);
      if (stageTs === null) return null;
      x.times = false;
      x.stageTs = stageTs;
    }
    x.auditID = auditID;
    x.stage = stage;
    x.level = level;
    const status = t[S_STATUS * 4];
    x.code = 0;
    if (status === K_OBJECT) {
      const c = t[S_CODE * 4];
      if (c === K_INT) {
        const code = t[S_CODE * 4 + 3]!;
        if (code !== 0 && !isHttpStatus(code)) return null;
        x.code = code;
      } else if (c !== K_ABSENT && c !== K_NULL) return null;
    } else if (status !== K_ABSENT && status !== K_NULL) return null;
    const ref = t[S_OBJECT_REF * 4];
    x.hasRef = ref === K_OBJECT;
    if (x.hasRef) {
      const resource = this.str(S_RESOURCE);
      const subresource = this.str(S_SUBRESOURCE);
      const namespace = this.str(S_NAMESPACE);
      const name = this.str(S_NAME);
      const apiGroup = this.str(S_API_GROUP);
      const apiVersion = this.str(S_API_VERSION);
      if (resource === null || subresource === null || namespace === null || name === null || apiGroup === null || apiVersion === null) return null;
      x.resource = resource;
      x.subresource = subresource;
      x.namespace = namespace;
      x.name = name;
      x.apiGroup = apiGroup;
      x.apiVersion = apiVersion;
    } else if (ref !== K_ABSENT && ref !== K_NULL) return null;
    const notes = t[S_ANNOTATIONS * 4];
    if (notes === K_OBJECT) {
      const d = this.str(S_DECISION);
      if (d === null) return null;
      x.decisionNote = d;
    } else if (notes === K_ABSENT || notes === K_NULL) x.decisionNote = '';
    else return null;
    // user.extra and the ARNs some exports put on user itself (principalFrom).
    if (t[S_EXTRA * 4] === K_ABSENT && t[S_ARN * 4] === K_ABSENT && t[S_CANONICAL_ARN * 4] === K_ABSENT) x.principal = '';
    else {
      const e = t[S_EXTRA * 4];
      let extra: Obj | null = null;
      if (e !== K_ABSENT && e !== K_NULL) {
        const v = this.value(S_EXTRA);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
        extra = v as Obj;
      }
      x.principal = principalFrom({ arn: this.value(S_ARN), canonicalArn: this.value(S_CANONICAL_ARN) }, extra);
    }
    const rec = recordFrom(x, cluster, 'k8s');
    if (typeof rec === 'string') return null;
    if (bodies === undefined || wantsBody(bodies.requestObject, rec)) keepRequestBody(rec, this.body(S_REQUEST_OBJECT));
    if (bodies === undefined || wantsBody(bodies.responseObject, rec)) keepResponseBody(rec, this.body(S_RESPONSE_OBJECT));
    return rec;
  }

  /** The value normalizeValue is given for the line read() accepted (see the file comment). */
  object(): Obj {
    const user = this.isObject(S_USER) ? { username: this.value(S_USERNAME), groups: this.value(S_GROUPS), extra: this.value(S_EXTRA), arn: this.value(S_ARN), canonicalArn: this.value(S_CANONICAL_ARN) } : this.value(S_USER);
    const objectRef = this.isObject(S_OBJECT_REF)
      ? {
          resource: this.value(S_RESOURCE),
          subresource: this.value(S_SUBRESOURCE),
          namespace: this.value(S_NAMESPACE),
          name: this.value(S_NAME),
          apiGroup: this.value(S_API_GROUP),
          apiVersion: this.value(S_API_VERSION),
        }
      : this.value(S_OBJECT_REF);
    const responseStatus = this.isObject(S_STATUS) ? { code: this.value(S_CODE) } : this.value(S_STATUS);
    const annotations = this.isObject(S_ANNOTATIONS) ? { 'authorization.k8s.io/decision': this.value(S_DECISION) } : this.value(S_ANNOTATIONS);
    const ev: Obj = {
      kind: this.value(S_KIND),
      verb: this.value(S_VERB),
      user,
      requestURI: this.value(S_REQUEST_URI),
      impersonatedUser: this.value(S_IMPERSONATED),
      sourceIPs: this.value(S_SOURCE_IPS),
      userAgent: this.value(S_USER_AGENT),
      objectRef,
      responseStatus,
      annotations,
      requestReceivedTimestamp: this.value(S_RECEIVED),
      timestamp: this.value(S_TIMESTAMP),
      stageTimestamp: this.value(S_STAGE_TS),
      auditID: this.value(S_AUDIT_ID),
      stage: this.value(S_STAGE),
      level: this.value(S_LEVEL),
      requestObject: this.body(S_REQUEST_OBJECT),
      responseObject: this.body(S_RESPONSE_OBJECT),
    };
    return ev;
  }
}

