// README.md shows real output: every console block must be what the commands print today
// (regenerate with `npm run readme`).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasKubectl)('README.md', () => {
  it('every console block is the real output of its commands', () => {
    const r = spawnSync(process.execPath, ['tools/readme-examples.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stdout).toBe('README.md: every console block is up to date\n');
    expect(r.status).toBe(0);
  });
});
