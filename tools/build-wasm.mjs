// Builds the pre-filter's line scanner (asm/linescan.ts, AssemblyScript) into
// dist/ingest/linescan.wasm, loaded by src/ingest/linescan.ts, and the field extractor's grammar
// checker (asm/extract.ts) into dist/ingest/extract.wasm, loaded by src/ingest/wasmextract.ts.
// Part of `npm run build`.
// AssemblyScript (a dev dependency) compiles a TypeScript subset to WebAssembly; SIMD is on
// (Node.js ≥ 16.4 runs it). The output depends only on the source and the compiler version.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const name of ['linescan', 'extract']) {
  const out = join(root, `dist/ingest/${name}.wasm`);
  mkdirSync(dirname(out), { recursive: true });
  const { error, stderr } = await asc.main([
    join(root, `asm/${name}.ts`),
    '-O3',
    '--runtime', 'stub',
    '--noAssert',
    '--importMemory',
    '--enable', 'simd',
    '--outFile', out,
  ]);
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build-wasm: ${error.message}\n`);
    process.exit(1);
  }
}

