// `audit merge --command NAME [options] STATE…`: the result of one pass over all the inputs of
// sharded runs (NAME --shard I/N --save-state FILE). main() turns it into `audit NAME
// --merge-states …` (see rewriteMerge in index.ts); this module only documents it and explains a
// missing --command.
import type { Command } from 'commander';
import type { IO } from './io.js';
import { UsageError } from '../util/errors.js';
import { MERGEABLE } from './index.js';

export function register(program: Command, _io: IO, _setExit: (code: number) => void): void {
  program
    .command('merge')
    .summary('merge the states of sharded runs (--save-state) into the result of one pass')
    .description(
      `Merge the partial states that an analysis saved with --save-state (for example one per --shard I/N) and print the result, byte for byte what one pass over all their inputs prints. The states may be given in any order. The options the shards ran with apply unless you give them again (output format, thresholds); filters cannot change (they applied when the shards read the logs). Commands: ${MERGEABLE.join(', ')}. See docs/scale.md.`,
    )
    .option('--command <name>', `the analysis that saved the states: ${MERGEABLE.join(', ')} (required)`)
    .argument('[states...]', 'state files written by --save-state')
    .allowUnknownOption()
    .addHelpText(
      'after',
      `
Examples:
  $ for i in 0 1 2 3; do audit summary logs/ --shard $i/4 --save-state s$i.json & done; wait
  $ audit merge --command summary s*.json
  $ audit merge --command drift --rbac rbac.yaml -o sarif states/*.json.gz`,
    )
    .action(() => {
      throw new UsageError('--command is required', `name the analysis that saved the states: audit merge --command summary STATE… (one of ${MERGEABLE.join(', ')})`);
    });
}
