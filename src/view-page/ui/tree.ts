// The Commands view's rows: each selected command, and beneath an opened one its API calls. The
// display list is two typed arrays (command, and the call's row or -1 for the command itself),
// rebuilt when the selection or an opened command changes.
import type { ViewData } from '../../analyses/view/payload.js';
import type { GridSource } from './grid.js';
import { callCells, commandCells, rowClass } from './cells.js';

export class CommandTree {
  /** Opened commands. */
  readonly open = new Set<number>();
  private cmd = new Int32Array(0);
  private row = new Int32Array(0);

  constructor(private readonly d: ViewData) {}

  /** Lays out `n` commands in display order (`at(k)` is the k-th command shown). */
  build(at: (k: number) => number, n: number): void {
    const d = this.d;
    let total = n;
    for (const c of this.open) total += d.commandStart[c + 1]! - d.commandStart[c]!;
    const cmd = new Int32Array(total);
    const row = new Int32Array(total);
    let k = 0;
    for (let j = 0; j < n; j++) {
      const c = at(j);
      cmd[k] = c;
      row[k++] = -1;
      if (!this.open.has(c)) continue;
      for (let x = d.commandStart[c]!; x < d.commandStart[c + 1]!; x++) {
        cmd[k] = c;
        row[k++] = d.commandRows[x]!;
      }
    }
    this.cmd = cmd.subarray(0, k);
    this.row = row.subarray(0, k);
  }

  /** The command of display row k. */
  commandAt(k: number): number {
    return this.cmd[k]!;
  }

  /** The call's row at display row k, or -1 when k is a command. */
  rowAt(k: number): number {
    return this.row[k]!;
  }

  /** The display row of a command (-1: not shown). */
  indexOfCommand(c: number): number {
    for (let k = 0; k < this.cmd.length; k++) if (this.cmd[k] === c && this.row[k] === -1) return k;
    return -1;
  }

  /** The display row of a call (-1: not shown). */
  indexOfRow(r: number): number {
    for (let k = 0; k < this.row.length; k++) if (this.row[k] === r) return k;
    return -1;
  }

  source(local: boolean): GridSource {
    const d = this.d;
    return {
      length: this.cmd.length,
      cells: (k) => {
        const row = this.row[k]!;
        const c = this.cmd[k]!;
        if (row < 0) return commandCells(d, c, local);
        const first = d.commandStart[c]!;
        let pos = 0;
        for (let j = first; j < d.commandStart[c + 1]!; j++) if (d.commandRows[j] === row) pos = j - first + 1;
        return callCells(d, row, local, `↳ call ${pos} of ${d.commandStart[c + 1]! - first}`);
      },
      rowClass: (k) => (this.row[k]! < 0 ? rowClass(d.commandFlags[this.cmd[k]!]!) : `call ${rowClass(d.flags[this.row[k]!]!)}`),
      expanded: (k) => (this.row[k]! < 0 ? this.open.has(this.cmd[k]!) : null),
      level: (k) => (this.row[k]! < 0 ? 1 : 2),
    };
  }
}
