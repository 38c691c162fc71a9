#!/usr/bin/env node
// `node tools/apply-to-stub.mjs FILE…`: runs `kubectl apply --validate=false -f FILE` against the
// local stub API server and prints what kubectl printed. A way to check generated RBAC with the real
// client when no cluster is at hand. (The stub serves no OpenAPI schema, hence --validate=false.)
import { startStub, runKubectl } from './stub-apiserver.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node tools/apply-to-stub.mjs FILE…\n');
  process.exit(2);
}
const stub = await startStub();
try {
  const r = await runKubectl(stub, ['apply', '--validate=false', ...files.flatMap((f) => ['-f', f])]);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.code;
} finally {
  await stub.close();
}
