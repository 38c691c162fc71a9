// shellQuote/shellJoin: a rebuilt command line, split as a real shell splits it, gives back the exact
// argv. Checked by running the line through `sh -c 'printf "%s\0" …'` (dash, the POSIX sh here) and
// bash: NUL separates the words so that newlines inside them survive.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { shellJoin, shellQuote } from '../../src/util/shell.js';

const SHELLS = ['sh', 'bash'];

/** The words a shell gets from `printf '%s\0' LINE`. */
function splitBy(shell: string, line: string): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' } });
  return out.split('\0').slice(0, -1);
}

const HARD: string[][] = [
  ['sh', '-c', 'cd /srv/app && tail -n 50 log/app.log | grep -i error'],
  ['a b', 'c\td', 'e\nf', ''],
  ["it's", "'", "''", '"', '\\', '\\\'', 'a\\nb'],
  ['$HOME', '${x:-y}', '$(id)', '`id`', '$((1+1))', '$'],
  ['|', ';', '&', '&&', '||', '>', '<', '>>', '2>&1', '<(x)', '(', ')'],
  ['*', '?', '[a-z]', '{a,b}', '~', '~root', '#comment', '!', '!!', '^x^y', 'a=b', '=ls', '-n', '--', '%1'],
  ['héllo', 'grüße', '日本語', '🙂', '\u00a0nbsp', 'zero\u200bwidth', 'rtl\u202eevil'],
  ['\u0001\u001b[31m', '\r\n', '\u007f'],
  ['--field-selector=status.phase!=Running', '-l', 'app in (web,api),tier!=db'],
];

describe('shellQuote', () => {
  it.each([
    ['pods', 'pods'],
    ['kube-system', 'kube-system'],
    ['--replicas=3', '--replicas=3'],
    ['deployment/web', 'deployment/web'],
    ['app=web,tier=db', 'app=web,tier=db'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['=ls', "'=ls'"],
    ['~', "'~'"],
    ['#x', "'#x'"],
    ['a*', "'a*'"],
    ['héllo', "'héllo'"],
  ])('%j is written %s', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });

  it.each(SHELLS)('%s gives back each hard argv exactly', (shell) => {
    for (const argv of HARD) expect(splitBy(shell, shellJoin(argv))).toEqual(argv);
  });

  it.each(SHELLS)('%s gives back 400 random argv exactly (seeded)', (shell) => {
    // Any Unicode text without NUL (an argv element cannot hold one) or lone surrogates (not UTF-8),
    // with shell syntax over-represented. One shell runs them all: `set -- LINE; printf '%s\0' "$#" "$@"`.
    const codePoint = fc.integer({ min: 1, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c));
    const word = fc.string({ unit: fc.oneof(codePoint, fc.constantFrom(...' \t\n\'"\\$`|&;<>(){}[]*?~#!=%^')), maxLength: 12 });
    const cases = fc.sample(fc.array(word, { minLength: 1, maxLength: 6 }), { seed: 16, numRuns: 400 });
    const script = cases.map((argv) => `set -- ${shellJoin(argv)}; printf '%s\\0' "$#" "$@"`).join('\n');
    const out = execFileSync(shell, ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' } }).split('\0');
    let i = 0;
    for (const argv of cases) {
      const n = Number(out[i++]);
      const got = out.slice(i, i + n);
      i += n;
      expect({ line: shellJoin(argv), argv: got }).toEqual({ line: shellJoin(argv), argv });
    }
  });

  it('a bare word holds no character any shell treats specially', () => {
    for (let c = 32; c < 127; c++) {
      const ch = String.fromCharCode(c);
      if (shellQuote(`x${ch}`) === `x${ch}`) expect(ch).toMatch(/[A-Za-z0-9_@%+=:,./-]/);
    }
  });
});
