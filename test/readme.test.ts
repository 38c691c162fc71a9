// README.md shows real output: every console block must be what the commands print today
// (regenerate with `npm run readme`), and no documented command may resolve to another package.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const README = readFileSync('README.md', 'utf8');

/** Every fenced code block: its info string and its lines. */
function blocks(md: string): { lang: string; lines: string[] }[] {
  const out: { lang: string; lines: string[] }[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\S*)/.exec(lines[i]!);
    if (!m) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j] !== '```') body.push(lines[j++]!);
    out.push({ lang: m[1]!, lines: body });
    i = j;
  }
  return out;
}

describe.skipIf(!hasKubectl)('README.md', () => {
  it('every console block is the real output of its commands', () => {
    const r = spawnSync(process.execPath, ['tools/readme-examples.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stdout).toBe('README.md: every console block is up to date\n');
    expect(r.status).toBe(0);
  });
});

describe('README.md commands', () => {
  it('never runs kaudit through npx, which fetches whatever registry package is called audit', () => {
    for (const b of blocks(README)) for (const l of b.lines) expect(l).not.toMatch(/\bnpx\s+(-\S+\s+)*k?audit\b/);
    expect(README).not.toMatch(/npmjs\.com\/package\/kaudit/);
  });

  it('console blocks call the installed binary (audit or kaudit), or ordinary tools', () => {
    const cmds = blocks(README)
      .filter((b) => b.lang === 'console')
      .flatMap((b) => b.lines.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2)));
    expect(cmds.length).toBeGreaterThan(20);
    for (const c of cmds) {
      expect(c).toMatch(/^((audit|kaudit|kubectl|printf|cp|cat|mkdir|find|cmp|for) |node tools\/)/);
      // kaudit itself is only ever the installed audit or kaudit.
      for (const m of c.matchAll(/\b(npx|npm exec|node \S*audit\S*)\b/g)) expect(m[0], c).toBeUndefined();
    }
  });

  it('installs kaudit in CI from the repository (a pinned git URL or a packed tarball) before calling it', () => {
    const ci = blocks(README).find((b) => b.lang === 'yaml' && b.lines.some((l) => l.includes('audit drift')))!;
    const text = ci.lines.join('\n');
    expect(text).toMatch(/npm install -g "git\+https:\/\/[^"]+#COMMIT"/);
    expect(text.indexOf('npm install -g')).toBeLessThan(text.indexOf('audit drift'));
  });

  it('the set-up commands are the ones .ci/run runs', () => {
    const setup = blocks(README).find((b) => b.lang === 'sh' && b.lines.some((l) => l.startsWith('npm ci')))!;
    const ci = readFileSync('.ci/run', 'utf8');
    for (const l of setup.lines) expect(ci).toContain(l.replace(/\s+#.*$/, '').trim());
  });
});
