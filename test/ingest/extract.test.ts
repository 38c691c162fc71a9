// The field extractors (src/ingest/extract.ts in JavaScript, src/ingest/wasmextract.ts in
// WebAssembly) against their reference, JSON.parse: for every line, each extractor
// either the extractor declines (null: the line then takes the reference path itself), or
// JSON.parse accepts the line too and normalizeValue gives strictly the same record, reject reason
// or ignore from both values. Differential fuzzing over generated and mutated events (fast-check;
// KAUDIT_FUZZ_RUNS sets the number of runs: `npm run fuzz` runs a million of each), then every file
// of the corpus and the fixtures through the whole pipeline with `--parser fast` and `reference`.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { extractEvent, LazyJson, FALLBACK_KEYS } from '../../src/ingest/extract.js';
import { WasmExtractor, READ_MEMBERS } from '../../src/ingest/wasmextract.js';
import { scanValue } from '../../src/ingest/scan.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { containerOf } from '../../src/ingest/containers.js';
import { ALL_BODIES, NO_BODIES, RBAC_WRITE_BODIES, type BodyNeeds } from '../../src/normalize/bodies.js';
import { collect, sameDeep, tmpDir } from '../helpers.js';

const RUNS = Number(process.env.KAUDIT_FUZZ_RUNS) || 1500;
const TIMEOUT = Number(process.env.KAUDIT_FUZZ_RUNS) ? 0 : 120_000;

/** The line inside a larger buffer (bytes before and after it), as the reader hands it over. */
function embed(line: string, before = '{"x":1}\n', after = '\n{"y":[1,2'): { b: Buffer; s: number; e: number } {
  const b = Buffer.from(before + line + after, 'utf8');
  const s = Buffer.byteLength(before, 'utf8');
  return { b, s, e: s + Buffer.byteLength(line, 'utf8') };
}

/** The WebAssembly extractor (one instance: its intern table carries over from line to line, as in a run). */
const wasm = WasmExtractor.create();
type Extractor = (b: Buffer, s: number, e: number) => Record<string, unknown> | null;
/** The JavaScript extractor, and the WebAssembly one when it is there ('is built and loads' fails if not). */
const EXTRACTORS: [string, Extractor | 'record'][] = [['js', extractEvent], ...(wasm ? [['wasm', (b: Buffer, s: number, e: number) => wasm.extract(b, s, e)] as [string, Extractor], ['wasm-record', 'record'] as [string, 'record']] : [])];
/** Lines each extractor took (the WebAssembly one also takes lines without a body). */
const taken = { js: 0, wasm: 0, 'wasm-record': 0 } as Record<string, number>;

/** Lines whose record WasmExtractor.record() made itself (not null: normalizeValue was not asked). */
const direct = { records: 0 };

/**
 * What the pipeline makes of a line with the WebAssembly extractor: the record straight from its
 * member table (WasmExtractor.record), or, when that declines the event's shape, normalizeValue of
 * the extracted value; null when the extractor declines the line.
 */
function wasmRecord(b: Buffer, s: number, e: number, needs: BodyNeeds | undefined): { value: unknown } | null {
  if (!wasm!.read(b, s, e)) return null;
  const rec = wasm!.record('c1', needs);
  if (rec !== null) {
    direct.records++;
    return { value: rec };
  }
  return { value: normalizeValue(wasm!.object(), 'c1', needs) };
}

/** What an extractor makes of a line: null when it declines it. */
function fast(line: string, needs: BodyNeeds | undefined, extract: Extractor | 'record'): { value: unknown } | null {
  const { b, s, e } = embed(line);
  if (extract === 'record') return wasmRecord(b, s, e, needs);
  const ev = extract(b, s, e);
  if (ev === null) return null;
  return { value: normalizeValue(ev, 'c1', needs) };
}

/** The reference: JSON.parse, then the same normalizeValue (or why the line is no single event). */
function reference(line: string, needs: BodyNeeds | undefined): { value: unknown } | 'not JSON' | 'wrapper' {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (containerOf(v) !== null) return 'wrapper';
  return { value: normalizeValue(v, 'c1', needs) };
}

const NEEDS: (BodyNeeds | undefined)[] = [undefined, ALL_BODIES, NO_BODIES, RBAC_WRITE_BODIES];

/** Checks one line with each extractor against the reference; returns whether the JavaScript one took it. */
function same(line: string): boolean {
  let took = false;
  for (const [name, extract] of EXTRACTORS) {
    let t = false;
    for (const needs of NEEDS) {
      const f = fast(line, needs, extract);
      if (f === null) continue;
      t = true;
      const r = reference(line, needs);
      if (typeof r === 'string') throw new Error(`the ${name} extractor took a line the reference reads as ${r}: ${line}`);
      // sameDeep first: 'deep nesting in a body' holds 5,000 levels, which vitest's recursive
      // comparison overflowed on when its code was not yet optimised (under load).
      if (!sameDeep(f.value, r.value)) expect(f.value, `${name}: ${line}`).toStrictEqual(r.value);
    }
    if (t) taken[name]!++;
    if (name === 'js') took = t;
  }
  return took;
}

/** A realistic event: any member may be missing, of another type, or hold odd strings. */
const str = fc.oneof(
  fc.constantFrom('', 'get', 'create', 'ResponseComplete', 'RequestReceived', 'Event', 'alice', 'system:serviceaccount:ci:deployer', '2026-03-02T10:00:00.123456Z', '2026-03-02T10:00:01Z', 'not a time', '__proto__', 'rbac.authorization.k8s.io', 'roles', 'clusterrolebindings'),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 6 }), // lone surrogates, controls
);
const json = fc.jsonValue({ maxDepth: 4 });
/** A body big enough to be cut out of the line (MIN_CUT), with strings that need escapes. */
const big = fc.record({ kind: str, metadata: fc.record({ name: str, managedFields: fc.array(json, { maxLength: 3 }) }), spec: fc.dictionary(str, json, { maxKeys: 4 }), pad: fc.constant('x'.repeat(64)) });
const anyOf = (v: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: v }, { weight: 1, arbitrary: json });
const event = fc.record(
  {
    kind: anyOf(fc.constant('Event')),
    apiVersion: anyOf(fc.constant('audit.k8s.io/v1')),
    level: anyOf(fc.constantFrom('Metadata', 'Request', 'RequestResponse')),
    auditID: anyOf(fc.uuid()),
    stage: anyOf(fc.constantFrom('RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic')),
    requestURI: anyOf(fc.constantFrom('/api/v1/namespaces/a/pods/x', '/apis/rbac.authorization.k8s.io/v1/clusterroles', '/healthz?verbose=1', '')),
    verb: anyOf(fc.constantFrom('get', 'create', 'update', 'patch', 'delete', 'list')),
    user: anyOf(fc.record({ username: anyOf(str), groups: anyOf(fc.array(str, { maxLength: 3 })), uid: str, extra: anyOf(fc.dictionary(str, fc.array(str, { maxLength: 2 }), { maxKeys: 2 })), arn: str }, { requiredKeys: [] })),
    impersonatedUser: anyOf(fc.record({ username: anyOf(str), groups: anyOf(fc.array(str, { maxLength: 2 })), uid: str, extra: anyOf(fc.dictionary(str, fc.array(str, { maxLength: 2 }), { maxKeys: 2 })) }, { requiredKeys: [] })),
    sourceIPs: anyOf(fc.array(fc.ipV4(), { maxLength: 2 })),
    userAgent: anyOf(fc.constantFrom('kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', 'Mozilla/5.0', '')),
    objectRef: anyOf(fc.record({ resource: anyOf(fc.constantFrom('pods', 'roles', 'clusterroles', 'rolebindings', 'secrets')), namespace: anyOf(str), name: anyOf(str), apiGroup: anyOf(fc.constantFrom('', 'rbac.authorization.k8s.io', 'apps')), apiVersion: str, subresource: anyOf(fc.constantFrom('', 'status', 'exec')) }, { requiredKeys: [] })),
    responseStatus: anyOf(fc.record({ metadata: fc.constant({}), code: anyOf(fc.oneof(fc.constantFrom(200, 201, 403, 404, 0, 101, 600, -1, 2.5), fc.double())), message: str }, { requiredKeys: [] })),
    requestObject: fc.oneof(json, big),
    responseObject: fc.oneof(json, big),
    requestReceivedTimestamp: anyOf(fc.constantFrom('2026-03-02T10:00:00.123456Z', '2026-03-02T10:00:00Z', 'yesterday')),
    stageTimestamp: anyOf(fc.constantFrom('2026-03-02T10:00:00.223456Z', '2026-03-02T10:00:02Z', 'x')),
    timestamp: anyOf(fc.constantFrom('2026-03-02T10:00:00Z')),
    annotations: anyOf(fc.dictionary(fc.constantFrom('authorization.k8s.io/decision', 'authorization.k8s.io/reason', 'x'), anyOf(fc.constantFrom('allow', 'forbid', '')), { maxKeys: 3 })),
    extra: json,
  },
  { requiredKeys: ['verb', 'user'] },
);

/** JSON text of `v` with each string character escaped (\uXXXX or its short escape) with probability p, and random whitespace. */
function writeJson(v: unknown, rnd: () => number, p: number, ws: number): string {
  const w = (): string => (rnd() < ws ? [' ', '\t', '\r', '  '][Math.floor(rnd() * 4)]! : '');
  if (typeof v === 'string') {
    let out = '"';
    for (let i = 0; i < v.length; i++) {
      const ch = v[i]!;
      const c = ch.charCodeAt(0);
      out += rnd() < p ? '\\u' + c.toString(16).padStart(4, rnd() < 0.5 ? '0' : '0').toUpperCase() : JSON.stringify(ch).slice(1, -1);
    }
    return out + '"';
  }
  if (Array.isArray(v)) return '[' + w() + v.map((x) => writeJson(x, rnd, p, ws)).join(w() + ',' + w()) + w() + ']';
  if (v !== null && typeof v === 'object') return '{' + w() + Object.entries(v).map(([k, x]) => writeJson(k, rnd, p, ws) + w() + ':' + w() + writeJson(x, rnd, p, ws)).join(w() + ',' + w()) + w() + '}';
  return JSON.stringify(v) ?? 'null';
}

/** Edits that break or bend JSON: JSON's own characters, controls, non-ASCII, a BOM. */
const EDIT_CHARS = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\t', '0', '-', '1e5', '.', 'e', 't', 'n', 'u', '\u0001', '\u0000', 'é', '\ud83d\ude00', '\ud800', '\ufeff', '\\u00', '"verb":"get",', '"items":[],', '"__proto__":{"verb":1},', '"verb":5,'];

function mutate(text: string, edits: { at: number; kind: number; ch: number }[]): string {
  let t = text;
  for (const e of edits) {
    const at = Math.floor(e.at * (t.length + 1));
    const ch = EDIT_CHARS[e.ch % EDIT_CHARS.length]!;
    if (e.kind === 0) t = t.slice(0, at) + t.slice(at + 1);
    else if (e.kind === 1) t = t.slice(0, at) + ch + t.slice(at);
    else if (e.kind === 2) t = t.slice(0, at) + ch + t.slice(at + 1);
    else t = t.slice(0, at);
  }
  return t;
}

const rndFrom = (seed: number): (() => number) => {
  let x = seed | 0;
  return () => ((x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 0) / 4294967296;
};

describe('field extractor: the same records as JSON.parse', () => {
  it('the WebAssembly extractor is built and loads', () => {
    expect(wasm).not.toBeNull();
  });

  it('on generated events, written compactly, with escapes and whitespace', () => {
    let took = 0;
    const wasmBefore = taken.wasm!;
    fc.assert(
      fc.property(event, fc.integer(), fc.constantFrom(0, 0, 0.1, 1), fc.constantFrom(0, 0, 0.2), (ev, seed, p, ws) => {
        const line = p === 0 && ws === 0 ? JSON.stringify(ev) : writeJson(ev, rndFrom(seed), p, ws);
        if (same(line)) took++;
      }),
      { numRuns: RUNS, seed: 19 },
    );
    // Many generated events have a body to cut out: the fast path is what is being tested.
    expect(took).toBeGreaterThan(RUNS * 0.4);
    // The WebAssembly extractor declines only what it cannot read exactly (escaped member names,
    // duplicates of read members): most generated events are read by it.
    if (wasm) expect(taken.wasm! - wasmBefore).toBeGreaterThan(RUNS * 0.4);
  }, TIMEOUT);

  it('on generated events of the common shape (WasmExtractor.record makes their records itself)', () => {
    // Every member of the type normalize expects, or null, or missing; any string (escapes,
    // surrogates, controls, times that are none), any code; with escapes and whitespace written in.
    const opt = <T>(v: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ weight: 8, arbitrary: v }, { weight: 1, arbitrary: fc.constant(null) });
    const time = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('2026-03-02T10:00:00.123456Z', '2026-03-02T10:00:00Z', '2026-03-02T10:00:00.1+02:00', '1999-12-31t23:59:59.999999999-00:30') }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('2026-02-30T10:00:00Z', 'yesterday'), str) });
    const code = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(200, 201, 403, 404, 0, 101, 599) }, { weight: 1, arbitrary: fc.constantFrom(600, 99, -1, 2.5, 1e3, 123456789012) });
    const common = fc.record(
      {
        kind: fc.constant('Event'),
        apiVersion: fc.constant('audit.k8s.io/v1'),
        level: opt(fc.oneof(fc.constantFrom('Metadata', 'RequestResponse'), str)),
        auditID: opt(fc.oneof(fc.uuid(), str)),
        stage: opt(fc.oneof(fc.constantFrom('RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'), str)),
        requestURI: opt(fc.oneof(fc.constantFrom('/api/v1/namespaces/a/pods/x', '/healthz?verbose=1', '/apis?a=1&b=<x>', ''), str)),
        verb: fc.oneof(fc.constantFrom('get', 'create', 'list', 'watch'), str),
        user: fc.record({ username: opt(str), groups: opt(fc.array(str, { maxLength: 3 })), uid: str, extra: opt(fc.dictionary(str, fc.array(str, { maxLength: 2 }), { maxKeys: 2 })), arn: opt(str), canonicalArn: opt(fc.oneof(str, fc.array(str, { maxLength: 2 }))) }, { requiredKeys: [] }),
        impersonatedUser: fc.constant(null),
        sourceIPs: opt(fc.array(fc.oneof(fc.ipV4(), str), { maxLength: 2 })),
        userAgent: opt(fc.oneof(fc.constantFrom('kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', 'kubelet/v1.29.4 (linux/amd64) kubernetes/55019c8', 'Mozilla/5.0', ''), str)),
        objectRef: opt(fc.record({ resource: opt(str), namespace: opt(str), name: opt(str), apiGroup: opt(str), apiVersion: opt(str), subresource: opt(str), uid: str }, { requiredKeys: [] })),
        responseStatus: opt(fc.record({ metadata: fc.constant({}), code: opt(code), message: str }, { requiredKeys: [] })),
        requestObject: opt(fc.oneof(json, big)),
        responseObject: opt(fc.oneof(json, big)),
        requestReceivedTimestamp: opt(time),
        stageTimestamp: opt(time),
        timestamp: opt(time),
        annotations: opt(fc.dictionary(fc.constantFrom('authorization.k8s.io/decision', 'authorization.k8s.io/reason', 'x'), opt(fc.oneof(fc.constantFrom('allow', 'forbid', ''), str)), { maxKeys: 3 })),
      },
      { requiredKeys: ['verb', 'user'] },
    );
    const before = direct.records;
    fc.assert(
      fc.property(common, fc.integer(), fc.constantFrom(0, 0, 0.1, 1), fc.constantFrom(0, 0, 0.2), (ev, seed, p, ws) => {
        same(p === 0 && ws === 0 ? JSON.stringify(ev) : writeJson(ev, rndFrom(seed), p, ws));
      }),
      { numRuns: RUNS, seed: 1903 },
    );
    // Most of them (one record per body need): the direct path is what is being tested.
    expect(direct.records - before).toBeGreaterThan(RUNS * NEEDS.length * 0.3);
  }, TIMEOUT);

  it('timestamps the module parses (parseTime in asm/extract.ts) are what parseTimeMs makes of them', () => {
    // Shapes near RFC 3339: every field's digits at random (days that do not exist, hours 24…),
    // fractions of 0–12 digits, every zone form, the separators swapped, and characters cut or added.
    const pad = (n: number, w: number): string => String(n).padStart(w, '0');
    /** Mostly in range, sometimes anything of the field's width. */
    const field = (min: number, max: number, wide: number): fc.Arbitrary<number> => fc.oneof({ weight: 6, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: wide }) });
    const stamp = fc
      .record({
        y: fc.oneof(fc.integer({ min: 1969, max: 2101 }), fc.integer({ min: 0, max: 9999 })),
        mo: field(1, 12, 99),
        d: field(1, 31, 99),
        h: field(0, 23, 99),
        mi: field(0, 59, 99),
        se: field(0, 59, 99),
        frac: fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,12}$/), fc.constant('.')),
        zone: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+02:00', '-11:30') }, { weight: 1, arbitrary: fc.constantFrom('', '+24:00', '+02:60', '+0200', 'Z ', 'ZZ', '+2:00') }),
        t: fc.oneof({ weight: 6, arbitrary: fc.constant('T') }, { weight: 1, arbitrary: fc.constantFrom('t', ' ', 'x') }),
        cut: fc.nat({ max: 40 }),
        edit: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      })
      .map(({ y, mo, d, h, mi, se, frac, zone, t, cut, edit }) => {
        const s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${t}${pad(h, 2)}:${pad(mi, 2)}:${pad(se, 2)}${frac}${zone}`;
        return edit ? s.slice(0, cut) + s.slice(cut + 1) : s;
      });
    const before = direct.records;
    fc.assert(
      fc.property(stamp, stamp, fc.boolean(), (a, b, legacy) => {
        const ev = { kind: 'Event', verb: 'get', user: { username: 'alice' }, auditID: 'x', stage: 'ResponseComplete', requestURI: '/api', ...(legacy ? { timestamp: a } : { requestReceivedTimestamp: a }), stageTimestamp: b };
        same(JSON.stringify(ev));
      }),
      { numRuns: RUNS * 4, seed: 3339 },
    );
    expect(direct.records - before).toBeGreaterThan(RUNS * 4 * NEEDS.length * 0.07);
  }, TIMEOUT);

  it('on mutated events (broken JSON must be declined, never read differently)', () => {
    fc.assert(
      fc.property(event, fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.integer({ min: 0, max: 3 }), ch: fc.nat() }), { minLength: 1, maxLength: 3 }), (ev, edits) => {
        same(mutate(JSON.stringify(ev), edits));
      }),
      { numRuns: RUNS * 2, seed: 1919 },
    );
  }, TIMEOUT);

  it('on duplicate members (the last one wins, in the first one’s place)', () => {
    fc.assert(
      fc.property(event, fc.constantFrom('verb', 'user', 'kind', 'objectRef', 'requestObject', 'annotations', 'responseStatus', 'stage', 'items', 'protoPayload'), json, fc.boolean(), (ev, key, other, first) => {
        const text = JSON.stringify(ev);
        const dup = `${JSON.stringify(key)}:${JSON.stringify(other)}`;
        const line = first ? `{${dup},${text.slice(1)}` : `${text.slice(0, -1)},${dup}}`;
        same(line);
      }),
      { numRuns: RUNS, seed: 7 },
    );
  }, TIMEOUT);

  it.each([
    ['escapes in every read member', String.raw`{"kind":"Ev\u0065nt","verb":"g\u0065t","user":{"username":"\u0061lice\n\t\"\\\/","groups":["a\u00e9","\ud83d\ude00"]},"requestURI":"/api/v1/namespaces/d\u0065fault/pods","objectRef":{"resource":"p\u006fds","namespace":"default"},"annotations":{"authorization.k8s.io/decisio\u006e":"forbid"}}`],
    ['an escaped member name', String.raw`{"\u0076erb":"get","user":{"\u0075sername":"bob"}}`],
    ['lone and paired surrogates, raw and escaped', `{"verb":"get","user":{"username":"\\ud800x\ud83d\ude00\\udfff"},"userAgent":"\u00e9\u4e2d"}`],
    ['invalid UTF-8 is not this test (strings are UTF-16 here); a BOM inside is not whitespace', '\ufeff{"verb":"get","user":{}}'],
    ['a __proto__ member, top-level and nested', '{"__proto__":{"verb":"x"},"verb":"get","user":{"__proto__":{"username":"root"},"username":"bob","groups":["g"]}}'],
    ['numbers', '{"verb":"get","user":{"username":"a"},"responseStatus":{"code":2.0e2},"requestObject":{"n":[-0,1E400,-1e-400,0.1,123456789012345678901234567890]}}'],
    ['a status code that is no HTTP status', '{"verb":"get","user":{"username":"a"},"responseStatus":{"code":1e3}}'],
    ['deep nesting in a body', `{"verb":"get","user":{"username":"a"},"requestObject":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['deep nesting in a read member', `{"verb":"get","user":{"username":"a","extra":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}}`],
    ['deep nesting, unbalanced', `{"verb":"get","user":{"username":"a"},"requestObject":${'['.repeat(5000)}${']'.repeat(4999)}}`],
    ['trailing comma', '{"verb":"get","user":{"username":"a"},}'],
    ['mismatched brackets in a body', '{"verb":"get","user":{"username":"a"},"requestObject":{"a":[1}]}'],
    ['a key without a value in a body', '{"verb":"get","user":{"username":"a"},"requestObject":{"a"}}'],
    ['trailing comma in a body', '{"verb":"get","user":{"username":"a"},"requestObject":{"a":[1,]}}'],
    ['a raw control character in a skipped string', '{"verb":"get","user":{"username":"a"},"requestObject":{"a":"x\u0001y"}}'],
    ['a bad escape in a skipped string', '{"verb":"get","user":{"username":"a"},"requestObject":{"a":"\\x41"}}'],
    ['a short \\u escape', '{"verb":"get","user":{"username":"a"},"requestObject":{"a":"\\u12"}}'],
    ['a leading zero', '{"verb":"get","user":{"username":"a"},"requestObject":{"a":01}}'],
    ['a bare minus', '{"verb":"get","user":{"username":"a"},"requestObject":-}'],
    ['a value after the object', '{"verb":"get","user":{"username":"a"}}{"verb":"list"}'],
    ['whitespace after the object', '{"verb":"get","user":{"username":"a"}} \t\r'],
    ['single quotes', "{'verb':'get'}"],
    ['unquoted key', '{verb:"get"}'],
    ['a scalar', '"get"'],
    ['an array', '[{"verb":"get","user":{}}]'],
    ['empty object', '{}'],
    ['a GKE entry', '{"protoPayload":{"methodName":"io.k8s.core.v1.pods.get"},"verb":"get"}'],
    ['a CloudWatch control message', '{"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}'],
    ['kind an object (its JSON is in the reason)', '{"kind":{"b":[1,{"c":"\\u0041"}]},"verb":"get","user":{}}'],
    ['user an array', '{"verb":"get","user":["a"]}'],
    ['a body that is a JSON patch (an array)', '{"verb":"patch","user":{"username":"a"},"objectRef":{"apiGroup":"rbac.authorization.k8s.io","resource":"roles"},"requestObject":[{"op":"add","path":"/rules/-","value":{}}]}'],
    ['a body that is a string', '{"verb":"create","user":{"username":"a"},"requestObject":"{}"}'],
    ['an RBAC write keeps its body under the RBAC needs', '{"verb":"create","user":{"username":"a"},"objectRef":{"apiGroup":"rbac.authorization.k8s.io","resource":"clusterrolebindings"},"requestObject":{"roleRef":{"kind":"ClusterRole","name":"cluster-admin"}},"responseObject":{"kind":"Status"}}'],
  ])('%s', (_what, line) => {
    same(line);
  });

  it('declines what it cannot read exactly, and takes plain events', () => {
    const took = (line: string): boolean => extractEvent(...Object.values(embed(line)) as [Buffer, number, number]) !== null;
    const pod = '{"spec":{"containers":[{"name":"app","image":"registry.example.com/app:1.2.3","env":[{"name":"A","value":"b"}]}]}}';
    expect(took(`{"verb":"get","user":{"username":"a"},"requestObject":${pod}}`)).toBe(true);
    expect(took('{"verb":"get","user":{"username":"a"},"requestObject":{"spec":{}}}')).toBe(false); // small: JSON.parse is as fast
    expect(took('{"verb":"get","user":{"username":"a"}}')).toBe(false); // no body
    expect(took(`{"verb":"get","user":{"username":"a"},"requestObject":${pod.slice(0, -1)},]}}`)).toBe(false);
    expect(took('{"items":[]}')).toBe(false);
    expect(took('{"verb":"get"}{"verb":"get"}')).toBe(false);
  });

  it('parses a body only for the records that keep it', () => {
    const line = '{"verb":"create","user":{"username":"a"},"objectRef":{"resource":"pods"},"requestObject":{"kind":"Pod","spec":{"containers":[{"name":"app","image":"registry.example.com/app:1"}]}}}';
    const { b, s, e } = embed(line);
    const ev = extractEvent(b, s, e)!;
    expect(ev.requestObject).toBeInstanceOf(LazyJson);
    const kept = normalizeValue(ev, '', ALL_BODIES) as { requestObject?: unknown };
    expect(kept.requestObject).toEqual({ kind: 'Pod', spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1' }] } });
    const dropped = normalizeValue(extractEvent(b, s, e)!, '', RBAC_WRITE_BODIES) as object;
    expect('requestObject' in dropped).toBe(false);
  });

  it('scanValue accepts exactly the values JSON.parse accepts (generated and mutated JSON)', () => {
    fc.assert(
      fc.property(json, fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.integer({ min: 0, max: 3 }), ch: fc.nat() }), { maxLength: 2 }), (v, edits) => {
        const text = mutate(JSON.stringify(v), edits).trimStart();
        if (text === '') return;
        let ok = true;
        try {
          JSON.parse(text);
        } catch {
          ok = false;
        }
        const { b, s, e } = embed(text);
        const end = scanValue(b, s, e);
        // Only JSON's whitespace may follow (String.prototype.trim would also take U+FEFF and others).
        const scanned = end >= 0 && /^[ \t\r\n]*$/.test(text.slice(Buffer.from(text).subarray(0, end - s).toString().length));
        expect(scanned, text).toBe(ok);
      }),
      { numRuns: RUNS * 2, seed: 88 },
    );
  }, TIMEOUT);
});

/** Checks a line given as bytes (any bytes: invalid UTF-8 too) with the WebAssembly extractor. */
function sameBytes(line: Buffer): boolean {
  const b = Buffer.concat([Buffer.from('{"x":1}\n'), line, Buffer.from('\n{"y":[1,2')]);
  const s = 8;
  const ev = wasm!.extract(b, s, s + line.length);
  if (ev === null) return false;
  let v: unknown;
  try {
    v = JSON.parse(line.toString('utf8'));
  } catch {
    throw new Error(`the wasm extractor took a line JSON.parse refuses: ${line.toString('latin1')}`);
  }
  expect(containerOf(v)).toBeNull();
  for (const needs of NEEDS) {
    expect(normalizeValue(wasm!.extract(b, s, s + line.length)!, 'c1', needs), line.toString('latin1')).toStrictEqual(normalizeValue(v, 'c1', needs));
    expect(wasmRecord(b, s, s + line.length, needs)!.value, line.toString('latin1')).toStrictEqual(normalizeValue(v, 'c1', needs));
  }
  return true;
}

describe.skipIf(wasm === null)('WebAssembly field extractor: bytes, state and the members normalize reads', () => {
  const BYTES = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x09, 0x0d, 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf8, 0xff, 0x30, 0x2d, 0x65, 0x75, 0x6e];
  it('on events mutated byte by byte (invalid UTF-8, controls, JSON bytes)', () => {
    let took = 0;
    fc.assert(
      fc.property(event, fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.integer({ min: 0, max: 2 }), byte: fc.nat() }), { minLength: 1, maxLength: 4 }), (ev, edits) => {
        let b = Buffer.from(JSON.stringify(ev), 'utf8');
        for (const e of edits) {
          const at = Math.floor(e.at * b.length);
          const x = Buffer.from([BYTES[e.byte % BYTES.length]!]);
          if (e.kind === 0) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          else if (e.kind === 1) b = Buffer.concat([b.subarray(0, at), x, b.subarray(at)]);
          else b = Buffer.concat([b.subarray(0, at), x, b.subarray(at + 1)]);
        }
        if (sameBytes(b)) took++;
      }),
      { numRuns: RUNS * 2, seed: 2019 },
    );
    // Bytes ≥ 0x80 inside strings are read (as UTF-8, as JSON.parse sees them): some mutated lines are taken.
    expect(took).toBeGreaterThan(RUNS * 0.03);
  }, TIMEOUT);

  it('predictions from the line before (asm/extract.ts: names by position, interned values by slot) never change what a line reads', () => {
    // A line read right after another that differs from it in one place: a name or a value that
    // is the remembered one cut short, run on, escaped, re-quoted or replaced, members in another
    // order, an array for a string, a string holding an array's bytes.
    const EDITS = ['"', '\\', '\\u0065', 'x', ' ', '', ']', '["a"]', '"a"', '\\"', ',', '}', '\u00e9', '\u0001'];
    let took = 0;
    fc.assert(
      fc.property(event, fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), cut: fc.nat({ max: 3 }), ed: fc.nat() }), { minLength: 1, maxLength: 2 }), fc.boolean(), (full, edits, swap) => {
        // Without the bodies: the edits fall among the members that are read.
        const { requestObject: _q, responseObject: _r, extra: _x, ...ev } = full as Record<string, unknown>;
        const base = JSON.stringify(ev);
        sameBytes(Buffer.from(base));
        let t = base;
        for (const e of edits) {
          const at = Math.floor(e.at * t.length);
          t = t.slice(0, at) + EDITS[e.ed % EDITS.length]! + t.slice(at + e.cut);
        }
        if (sameBytes(Buffer.from(t))) took++;
        if (swap) {
          // The same members in another order: every remembered name is at another position.
          const entries = Object.entries(ev as Record<string, unknown>).reverse();
          sameBytes(Buffer.from(JSON.stringify(Object.fromEntries(entries))));
        }
        sameBytes(Buffer.from(base));
      }),
      { numRuns: RUNS, seed: 4242 },
    );
    expect(took).toBeGreaterThan(RUNS * 0.01);
    // Values the remembered ones are a prefix, a run-on or an array of, back to back.
    const lines = [
      '{"verb":"get","user":{"username":"alice","groups":["a","b"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"ns"}}',
      '{"verb":"ge","user":{"username":"alice2","groups":["a","b","c"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"ns"}}',
      '{"verb":"get","user":{"username":"alice","groups":"[\\"a\\",\\"b\\"]"},"sourceIPs":"[\\"10.0.0.1\\"]","objectRef":{"resourc":"pods","namespace":"ns"}}',
      '{"verb":"get","user":{"username":"alice","groups":["a","b"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resources":"x","resource":"pods","namespace":"ns"}}',
      '{"verbs":"get","verb":"get","user":{"username":"alice","groups":["a","b"] },"sourceIPs":["10.0.0.1" ],"objectRef":{"resource":"pods","namespace":"ns"}}',
      '{"verb":"get","user":{"username":"alice","groups":["a","b"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"ns"}}',
      '{"verb":"get","user":{"username":"alic\\u0065","groups":["a","b"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"ns"}}',
      '{"verb":"get","user":{"username":"alice","groups":["a","b"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"ns","namespace":"x"}}',
      '{"verb":"get","user":{"username":"alice","groups":["a","b"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"ns"}}',
    ];
    const expected = [true, true, true, true, true, true, true, false, true];
    for (let round = 0; round < 2; round++) lines.forEach((l, k) => expect(sameBytes(Buffer.from(l)), l).toBe(expected[k]));
  });

  it('raw non-ASCII and invalid UTF-8 inside read strings and names', () => {
    const lines = [
      Buffer.from('{"verb":"get","user":{"username":"caf\xc3\xa9","groups":["\xff","a"]},"objectRef":{"name":"\xe2\x82","namespace":"\xed\xa0\x80"},"userAgent":"\xf0\x9f\x98\x80 \xc3"}', 'latin1'),
      Buffer.from('{"verb":"g\xc3\xa9t","user":{"username":"a"},"annotations":{"authorization.k8s.io/decision":"\xc0\xaf"}}', 'latin1'),
      Buffer.from('{"verb":"get","us\xc3\xa9r":{"username":"a"},"user":{"username":"b"}}', 'latin1'),
    ];
    for (const l of lines) expect(sameBytes(l)).toBe(true);
    expect(sameBytes(Buffer.from('{"verb":"get","user":{"username":"a"}}\xc3', 'latin1'))).toBe(false); // not JSON after the object
  });

  it('bodies nothing reads (asm/extract.ts skipString, skipScalar): every string and token at every offset of a 16-byte load, valid or not', () => {
    // A body is checked against the JSON grammar but never read: the line must be taken exactly
    // when JSON.parse accepts it (same reject or not), whatever the bytes around a 16-byte (and
    // 64-byte) block border hold: quotes, escaped quotes, backslash runs, brackets inside strings,
    // \u escapes and surrogate pairs (escaped and raw), raw controls, bad escapes, cut strings.
    const head = '{"kind":"Event","level":"RequestResponse","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/n/pods/p","verb":"update","user":{"username":"alice","groups":["g"]},"objectRef":{"resource":"pods","namespace":"n","name":"p","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-03-02T10:00:00.000001Z","stageTimestamp":"2026-03-02T10:00:00.000002Z","requestObject":';
    const tokens = [
      '"a\\"b"', '"\\\\"', '"\\\\\\""', '"x\\\\\\\\"', '"[{]}"', '"}]"', '"\\u00e9\\ud83d\\ude00"', '"\\ud800"', '"\\uDC00x"', '"\\/\\b\\f\\n\\r\\t"',
      '"caf\xc3\xa9 \xf0\x9f\x98\x80"', '"\xff\xfe"', '-0.5e+10', '0', 'true', 'false', 'null', '[]', '{}', '[[[["]"]]]]', '{"k":{"k":{"]":"["}}}',
      // not JSON
      '"a\x01b"', '"\\x"', '"\\u12G4"', '"\\u00e"', '"abc', '"a\\"', '01', '-', '1.', '1e', 'tru', 'nul', 'falsey', '[1,]', '{"k"}', '{"k":}', '{,}', '[1 2]', '"a"b"', '"\x1f"', '"\\\n"',
    ];
    let taken = 0;
    let refused = 0;
    for (const t of tokens)
      for (let pad = 0; pad < 70; pad++) {
        const body = `{"pad":"${'p'.repeat(pad)}","v":${t},"a":[${t},1],"s":"${'q'.repeat(pad % 17)}\\\\"}`;
        const line = Buffer.from(head + body + '}', 'latin1');
        let ok = true;
        try {
          JSON.parse(line.toString('utf8'));
        } catch {
          ok = false;
        }
        expect(sameBytes(line), `${t} after ${pad}`).toBe(ok);
        if (ok) taken++;
        else refused++;
      }
    expect(taken).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });

  it('bodies nested deeply: up to the module\'s depth limit taken, beyond it declined (never taken when JSON.parse refuses)', () => {
    const head = '{"verb":"get","user":{"username":"a"},"responseObject":';
    for (const depth of [1, 100, 4000, 4095, 4096, 4097, 6000]) {
      const ok = '['.repeat(depth) + '"x\\\\"' + ']'.repeat(depth);
      const line = Buffer.from(head + ok + '}');
      // Past MAX_DEPTH the module declines: the reference path reads the line instead.
      expect(sameBytes(line), `depth ${depth}`).toBe(depth <= 4096);
      expect(sameBytes(Buffer.from(head + ok.slice(0, -1) + '}')), `depth ${depth}, one ] short`).toBe(false);
      expect(sameBytes(Buffer.from(head + '{"k":'.repeat(depth) + '1' + '}'.repeat(depth) + '}')), `object depth ${depth}`).toBe(depth <= 4096);
    }
  });

  it('interned values stay right across lines: many distinct values, collisions, declined lines between', () => {
    // More distinct values than the intern table has entries, in every interned member, with lines
    // declined after their values were interned (a duplicate read member at the end).
    const rnd = rndFrom(5);
    const before = direct.records;
    const pick = (n: number): string => `v${Math.floor(rnd() * n).toString(36)}`;
    for (let k = 0; k < 20000; k++) {
      const ev = {
        kind: rnd() < 0.9 ? 'Event' : pick(50),
        verb: pick(8),
        user: { username: pick(3000), groups: [pick(40), pick(40)] },
        requestURI: `/api/v1/namespaces/${pick(500)}/pods/${pick(5000)}`,
        sourceIPs: [pick(300)],
        userAgent: pick(200),
        objectRef: { resource: pick(30), namespace: pick(500), name: pick(5000), apiGroup: pick(5), apiVersion: pick(3), subresource: pick(4) },
        responseStatus: { code: 200 },
        stage: pick(4),
        level: pick(3),
        annotations: { 'authorization.k8s.io/decision': pick(3) },
      };
      const text = JSON.stringify(ev);
      const declined = rnd() < 0.2;
      const line = declined ? `${text.slice(0, -1)},"verb":"get"}` : text;
      const took = sameBytes(Buffer.from(line));
      expect(took).toBe(!declined);
    }
    // The records of the lines taken came from WasmExtractor.record() (kinds other than Event aside).
    expect(direct.records - before).toBeGreaterThan(20000 * 0.7 * 0.8 * NEEDS.length);
  });

  it('normalize reads no member of an event the extractor leaves out (READ_MEMBERS)', () => {
    // Every property normalizeValue reads, through Proxies over a full event (each member present,
    // with values of the expected shapes, impersonation and extra included).
    const read = new Set<string>();
    const watch = (o: unknown, path: string): unknown => {
      if (o === null || typeof o !== 'object') return o;
      return new Proxy(o as object, {
        get(t, k, r) {
          if (typeof k === 'string') read.add(path ? `${path}.${k}` : k);
          const v = Reflect.get(t, k, r) as unknown;
          return path === '' && (k === 'user' || k === 'objectRef' || k === 'responseStatus' || k === 'annotations') ? watch(v, k) : v;
        },
        has(t, k) {
          if (typeof k === 'string') read.add(path ? `${path}.${k}` : k);
          return Reflect.has(t, k);
        },
        getOwnPropertyDescriptor(t, k) {
          if (typeof k === 'string') read.add(path ? `${path}.${k}` : k);
          return Reflect.getOwnPropertyDescriptor(t, k);
        },
      });
    };
    const full = {
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'RequestResponse', auditID: 'a', stage: 'ResponseComplete', requestURI: '/api/v1/pods', verb: 'create',
      user: { username: 'alice', uid: 'u', groups: ['g'], extra: { arn: ['arn:aws:sts::1:assumed-role/r/s'], oid: ['o'] }, arn: 'x', canonicalArn: 'y' },
      impersonatedUser: { username: 'bob', groups: ['h'], uid: 'v', extra: { k: ['w'] } },
      sourceIPs: ['10.0.0.1'], userAgent: 'kubectl/v1.30.0 (linux/amd64) kubernetes/abc',
      objectRef: { resource: 'pods', namespace: 'd', name: 'p', apiGroup: '', apiVersion: 'v1', subresource: 'exec', uid: 'x', resourceVersion: '1' },
      responseStatus: { metadata: {}, code: 201, status: 'Success', message: 'm', reason: 'r' },
      requestObject: { kind: 'Pod' }, responseObject: { kind: 'Pod' },
      requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:00:00.100000Z', timestamp: '2026-03-02T10:00:00Z',
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'r', 'pod-security.kubernetes.io/enforce-policy': 'x' },
    };
    for (const needs of NEEDS) {
      expect(typeof normalizeValue(watch(full, ''), 'c1', needs)).toBe('object');
      expect(containerOf(watch(full, ''))).toBeNull();
    }
    const members = new Set(READ_MEMBERS.map((r) => (r.parent === 0 ? r.name : `${['', 'user', 'objectRef', 'responseStatus', 'annotations'][r.parent]}.${r.name}`)));
    // What the extractor's value always leaves out: members that are never in a line it takes.
    const declined = new Set(FALLBACK_KEYS);
    // user.extra and impersonatedUser are whole JSON.parse values (not watched inside).
    const unread = [...read].filter((k) => !members.has(k) && !declined.has(k));
    expect(unread).toStrictEqual([]);
    expect(read.has('objectRef.resource') && read.has('user.groups') && read.has('annotations.authorization.k8s.io/decision')).toBe(true);
  });
});

describe('--parser fast and reference read every input alike', () => {
  const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'corpus');
  const inputs = ['fixtures/sample', 'fixtures/cloud', 'fixtures/shapes', 'fixtures/kubectl', 'fixtures/mini', ...(existsSync(CORPUS) ? [CORPUS] : [])];
  it.each(inputs)('%s', async (input) => {
    const fastRun = await collect([input], { bodies: ALL_BODIES });
    const refRun = await collect([input], { bodies: ALL_BODIES, read: { parser: 'reference' } });
    expect(fastRun.records).toStrictEqual(refRun.records);
    expect(fastRun.rejects).toStrictEqual(refRun.rejects);
    expect(fastRun.acc).toStrictEqual(refRun.acc);
    expect(fastRun.records.length).toBeGreaterThan(0);
  });

  it('a generated log of several read chunks with bodies, hostile lines between (read in place in the extractor memory)', async () => {
    // Files are read straight into the WebAssembly extractor's two buffers (1 MiB each, used in
    // turn): lines across chunk ends, bodies kept as LazyJson until normalize parses them, and
    // lines the extractors decline, all read as the reference reads them.
    const dir = tmpDir();
    await generate({ ...DEFAULT_GEN, out: join(dir, 'gen'), days: 1, seed: 19, scale: 0.05, rotate: 'none', maxBytes: 3_500_000, levels: { Request: 0.1, RequestResponse: 0.6 } });
    const lines = readFileSync(join(dir, 'gen', 'audit.log'), 'utf8').split('\n').filter((l) => l !== '');
    const hostile = [
      '{"\\u0076erb":"get","user":{"username":"bob"}}',
      '{"verb":"get","user":{"username":"a"},"verb":"list"}',
      '{"verb":"get","user":{"username":"caf\u00e9","groups":["\\ud800"]},"objectRef":{"resource":"pods","name":"x\\"y"}}\r',
      '  \t{"verb":"get","user":{"username":"a"},"responseStatus":{"code":2e2}}',
      '{"verb":"get","user":{"username":"a"}} x',
      '{"items":[{"verb":"get","user":{"username":"w"}}]}',
      '',
    ];
    const mixed = lines.flatMap((l, i) => (i % 97 === 0 ? [hostile[i % hostile.length]!, l] : [l]));
    const file = join(dir, 'mixed.log');
    writeFileSync(file, mixed.join('\n') + '\n');
    const fastRun = await collect([file], { bodies: ALL_BODIES });
    const refRun = await collect([file], { bodies: ALL_BODIES, read: { parser: 'reference' } });
    expect(fastRun.records).toStrictEqual(refRun.records);
    expect(fastRun.rejects).toStrictEqual(refRun.rejects);
    expect(fastRun.acc).toStrictEqual(refRun.acc);
    expect(fastRun.records.some((r) => r.requestObject !== undefined)).toBe(true);
    expect(fastRun.acc.events).toBeGreaterThan(2000);
  }, 60_000);
});
