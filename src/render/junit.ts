// JUnit XML, which every CI system displays: one test case per item, failed when it crosses the gate.
// Values are escaped by xmlEscape (src/render/sanitize.ts): attribute values and text differ.
import { xmlEscape } from './sanitize.js';

export { xmlEscape };

export interface JunitCase {
  classname: string;
  name: string;
  failure?: { message: string; text: string };
}

export function renderJunit(suite: string, cases: JunitCase[]): string {
  const parts: string[] = [];
  writeJunit({ write: (x) => void parts.push(x) }, suite, () => cases);
  return parts.join('');
}

/**
 * Writes the JUnit XML of `cases` to `sink` piece by piece (the bytes of renderJunit): `cases()`
 * is called twice, once to count the tests and failures the header gives, once to write them, so
 * that cases made from a list read from disk (millions of subjects) are never all in memory.
 */
export function writeJunit(sink: { write(s: string): void }, suite: string, cases: () => Iterable<JunitCase>): void {
  let tests = 0;
  let failures = 0;
  for (const c of cases()) {
    tests++;
    if (c.failure) failures++;
  }
  sink.write(['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xmlEscape(suite)}" tests="${tests}" failures="${failures}">`, `  <testsuite name="${xmlEscape(suite)}" tests="${tests}" failures="${failures}" errors="0" skipped="0">`].join('\n') + '\n');
  for (const c of cases()) {
    const open = `    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}"`;
    if (!c.failure) sink.write(`${open}/>\n`);
    else sink.write(`${open}>\n      <failure message="${xmlEscape(c.failure.message)}">${xmlEscape(c.failure.text, false)}</failure>\n    </testcase>\n`);
  }
  sink.write('  </testsuite>\n</testsuites>\n');
}
