// The WebAssembly modules kaudit builds from asm/ (tools/build-wasm.mjs writes dist/ingest/NAME.wasm):
// the pre-filter's line scanner (linescan.ts) and the field extractor (wasmextract.ts). Each is
// compiled once per thread and instantiated with a memory of its own that never grows (so that
// views of it stay valid). Without WebAssembly, without the built module, or with KAUDIT_NO_WASM=1
// there is none, and the callers keep their JavaScript paths.
import { readFileSync } from 'node:fs';

/** The part of the WebAssembly JS API used here (the project's lib has no DOM types). */
interface WasmModule {
  readonly kind?: 'module';
}
/** A module's memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
  Memory: new (d: { initial: number; maximum: number }) => WasmMemory;
}
const Wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Compiled modules by name (null: none here). */
const compiled = new Map<string, WasmModule | null>();

function module(name: string): WasmModule | null {
  let m = compiled.get(name);
  if (m !== undefined) return m;
  m = null;
  if (process.env.KAUDIT_NO_WASM !== '1' && Wasm !== undefined) {
    try {
      m = new Wasm.Module(readFileSync(new URL(`../../dist/ingest/${name}.wasm`, import.meta.url)));
    } catch {
      m = null;
    }
  }
  compiled.set(name, m);
  return m;
}

/** Whether dist/ingest/NAME.wasm can be used in this process (it is built and compiles). */
export function wasmAvailable(name: string): boolean {
  return module(name) !== null;
}

/**
 * An instance of dist/ingest/NAME.wasm with a new memory of `pages` 64 KiB pages (imported as
 * env.memory), or null when the module cannot be used (see the file comment). `what` names the
 * module in the error its `abort` raises.
 */
export function instantiate(name: string, pages: number, what: string): { exports: unknown; memory: WasmMemory } | null {
  const mod = module(name);
  if (mod === null) return null;
  const memory = new Wasm!.Memory({ initial: pages, maximum: pages });
  const inst = new Wasm!.Instance(mod, {
    env: {
      memory,
      abort: () => {
        throw new Error(`${what}: abort`);
      },
    },
  });
  return { exports: inst.exports, memory };
}
