// Builds the pre-filter's line scanner (asm/linescan.ts, AssemblyScript) into
// dist/ingest/linescan.wasm, loaded by src/ingest/linescan.ts. Part of `npm run build`.
// AssemblyScript (a dev dependency) compiles a TypeScript subset to WebAssembly; SIMD is on
// (Node.js ≥ 16.4 runs it). The output depends only on the source and the compiler version.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/ingest/linescan.wasm');
mkdirSync(dirname(out), { recursive: true });
const { error, stderr } = await asc.main([
  join(root, 'asm/linescan.ts'),
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
