#!/usr/bin/env node
// The naive baseline of `npm run bench` (issue 19): readline over the file and JSON.parse of each
// line, in one thread, counting what parses. What a one-off script would do; kaudit's rows are
// compared with it in the same run.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

let events = 0;
let bad = 0;
for await (const line of createInterface({ input: createReadStream(process.argv[2]), crlfDelay: Infinity })) {
  if (line === '') continue;
  try {
    JSON.parse(line);
    events++;
  } catch {
    bad++;
  }
}
process.stdout.write(`${events} values, ${bad} not JSON\n`);
