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
  const failures = cases.filter((c) => c.failure).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(suite)}" tests="${cases.length}" failures="${failures}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}"`;
    if (!c.failure) lines.push(`${open}/>`);
    else lines.push(`${open}>`, `      <failure message="${xmlEscape(c.failure.message)}">${xmlEscape(c.failure.text, false)}</failure>`, '    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return lines.join('\n') + '\n';
}
