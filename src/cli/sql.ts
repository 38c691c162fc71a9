// `audit sql "SELECT …" FILES…`: SQL over the normalized records (the table `requests`), on DuckDB.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { addFilterOptions, addInputOptions, addOutOption, outputOption, runInputs, withOutput, type FilterFlags, type InputOptions } from './common.js';
import { UsageError } from '../util/errors.js';
import { Out } from './out.js';
import { plural } from '../render/format.js';
import { budgetBytes, setBudget } from '../scale/budget.js';
import { collectSooner } from '../util/v8heap.js';

export const SQL_FORMATS = ['table', 'wide', 'csv', 'json', 'jsonl'] as const;

interface Opts extends InputOptions, FilterFlags {
  out?: string;
  output: (typeof SQL_FORMATS)[number];
  maxRows: number;
}

const FILTER_FLAGS = ['user', 'serviceaccount', 'impersonator', 'actor', 'group', 'verb', 'resource', 'namespace', 'name', 'status'] as const;

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('sql')
    .summary('SQL over the normalized records of logs or of a Parquet dataset (table: requests)')
    .description(
      'Run SQL on DuckDB over the normalized records, exposed as the table requests (columns: docs/schema.md). Inputs are anything kaudit reads (logs, gzip, cloud exports; the filters apply to them) or Parquet datasets written by audit export -o parquet. Needs the optional DuckDB engine (@duckdb/node-api). Recipes for common questions: docs/sql.md.',
    )
    .argument('<query>', 'the SQL; the records are the table requests');
  addInputOptions(cmd);
  addFilterOptions(cmd);
  addOutOption(cmd);
  cmd
    .addOption(outputOption(SQL_FORMATS, 'table'))
    .option('--max-rows <n>', 'table output: show at most N rows (the rest are counted)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--max-rows: ${JSON.stringify(v)} is not a positive whole number`, 'e.g. --max-rows 100');
      return n;
    }, 1000)
    .addHelpText(
      'after',
      `
Examples:
  $ audit sql "SELECT verb, count(*) AS n FROM requests GROUP BY verb ORDER BY n DESC" fixtures/sample
  $ audit export logs/ -o parquet --out dataset/ && audit sql "SELECT subject, count(*) FROM requests WHERE decision = 'forbid' GROUP BY ALL" dataset/
  $ audit sql "DESCRIBE requests" -o csv fixtures/sample`,
    )
    .action(async (sql: string, inputs: string[], opts: Opts) => {
      // The pipeline stages records while DuckDB is not yet open; what it leaves on V8's heap counts
      // beside DuckDB's memory, so it is collected sooner (src/util/v8heap.ts).
      collectSooner();
      const { loadDuckDB } = await import('../export/duckdb.js');
      const duckdb = await loadDuckDB('audit sql');
      const { datasetFiles } = await import('../export/parquet.js');
      const { RecordStage, defineRequests, query, cellOf, openEngine } = await import('../sql/index.js');
      const { engineMemoryLimit, engineThreads, jsonReadMemory } = await import('../export/duckdb.js');
      // Parquet datasets (a directory with .parquet files, or a .parquet file) are read by DuckDB;
      // everything else by kaudit's pipeline.
      const parquet: string[] = [];
      const logs: string[] = [];
      const { join } = await import('node:path');
      for (const a of inputs) {
        if (existsSync(a) && statSync(a).isDirectory()) {
          const files = datasetFiles(a);
          if (files.length) for (const f of files) parquet.push(join(a, f));
          else logs.push(a);
        } else if (a.endsWith('.parquet') && existsSync(a)) parquet.push(a);
        else logs.push(a);
      }
      const filtered = FILTER_FLAGS.some((f) => opts[f].length > 0) || !!opts.since || !!opts.until || !!opts.denied || opts.cluster.length > 0;
      if (parquet.length && filtered && logs.length === 0) throw new UsageError('the filter flags apply to logs, not to Parquet datasets', 'write the condition in the query: … FROM requests WHERE subject = \'alice\'');
      let stage: InstanceType<typeof RecordStage> | null = null;
      await withOutput(io, opts.out, opts.quiet, async (target) => {
        // The engine is opened once the logs are staged: the pipeline and DuckDB never hold memory
        // at the same time. Its memory_limit is the --memory budget (src/export/duckdb.ts).
        let engine: Awaited<ReturnType<typeof openEngine>> | null = null;
        try {
          if (logs.length || (parquet.length === 0 && !io.stdin.isTTY)) {
            stage = new RecordStage();
            const s = stage;
            try {
              await runInputs(io, logs, { ...opts, outputs: target.outputs }, (r) => s.add(r));
            } finally {
              s.close();
            }
          } else if (parquet.length === 0) {
            throw new UsageError('no input given', 'pass audit logs or a Parquet dataset directory, or pipe a log into stdin (or pass -)');
          }
          setBudget(opts.memory ?? null);
          // One thread per 256 MiB of the budget; the limit is the budget, and at least what read_json
          // needs for the longest staged line on those threads (only lines of several MB need more).
          const threads = engineThreads();
          const atLeast = stage ? jsonReadMemory((stage as InstanceType<typeof RecordStage>).maxChars, threads) : 0;
          engine = await openEngine('audit sql', { threads, memoryLimit: engineMemoryLimit(budgetBytes(), atLeast) });
          await defineRequests(engine, { parquet, stage });
          const res = await query(engine, duckdb, sql);
          const out = new Out(target.io.stdout);
          if (opts.output === 'csv') {
            const { csvRow } = await import('../render/sanitize.js');
            out.write(csvRow(res.columns));
            for await (const chunk of res.rows) for (const row of chunk) out.write(csvRow(row.map(cellOf)));
          } else if (opts.output === 'jsonl' || opts.output === 'json') {
            let first = true;
            if (opts.output === 'json') out.write('[');
            for await (const chunk of res.rows) {
              for (const row of chunk) {
                const o = Object.fromEntries(res.columns.map((c, i) => [c, row[i]]));
                if (opts.output === 'jsonl') out.write(JSON.stringify(o) + '\n');
                else out.write((first ? '\n  ' : ',\n  ') + JSON.stringify(o));
                first = false;
              }
            }
            if (opts.output === 'json') out.write(first ? ']\n' : '\n]\n');
          } else {
            const rows: import('../types.js').Cell[][] = [];
            let total = 0;
            for await (const chunk of res.rows) {
              for (const row of chunk) if (total++ < opts.maxRows) rows.push(row.map(cellOf));
            }
            const { renderViewTable } = await import('../render/table.js');
            const note = total > rows.length ? `${total - rows.length} more rows not shown (--max-rows ${opts.maxRows}; -o csv or jsonl prints all)` : undefined;
            out.write(renderViewTable({ title: 'Query', sections: [{ title: plural(total, 'row'), kind: 'table', columns: res.columns, rows, ...(note ? { note } : {}) }] }, { ...renderContext(target.io), ...(opts.output === 'wide' ? { wide: true } : {}) }));
          }
          out.flush();
        } finally {
          engine?.close();
          stage?.remove();
        }
      });
      setExit(0);
    });
}
