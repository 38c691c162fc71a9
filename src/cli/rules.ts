// `audit rules list` and `audit rules test FILE…`, and the rule options every command that runs
// detections shares (--rules, --sigma, --only-rules, --disable-rule).
import { visible } from '../render/sanitize.js';
import type { Command } from 'commander';
import type { IO } from './io.js';
import { renderContext } from './io.js';
import { addOutOption, collect, outputOption, withOutput } from './common.js';
import type { LoadOptions } from '../rules/detections.js';

export interface RuleFlags {
  rules: string[];
  sigma: string[];
  onlyRules: string[];
  disableRule: string[];
  enableRule: string[];
}

/** Adds --rules, --sigma, --only-rules and --disable-rule. */
export function addRuleOptions(cmd: Command): Command {
  return cmd
    .option('--rules <path>', 'more detection rules: a rule file or a directory of *.yaml files in kaudit’s schema (repeatable)', collect, [])
    .option('--sigma <path>', 'Sigma rules whose logsource is Kubernetes audit: a file or a directory, read recursively (repeatable)', collect, [])
    .option('--only-rules <ids>', 'run only the rules with these ids (globs, comma-separated, repeatable), e.g. K8S-EXEC,K8S-RBAC-*', collect, [])
    .option('--disable-rule <ids>', 'do not run the rules with these ids (globs, comma-separated, repeatable)', collect, [])
    .option('--enable-rule <ids>', 'run off-by-default rules with these ids too (globs, comma-separated, repeatable), e.g. K8S-UNTRUSTED-REGISTRY', collect, []);
}

export function ruleLoadOptions(o: RuleFlags): LoadOptions {
  return { rules: o.rules, sigma: o.sigma, only: o.onlyRules, disable: o.disableRule, enable: o.enableRule };
}

const LIST_FORMATS = ['table', 'wide', 'json'] as const;

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const rules = program.command('rules').summary('list the detection rules, or test a rule file against its own examples').description('Detection rules are YAML data: the built-in ones (one file per family), your own (--rules) and Sigma rules (--sigma).');
  const list = rules
    .command('list')
    .summary('the detection rules that would run: id, severity, ATT&CK technique, source')
    .description('List the detection rules that would run with the same --rules, --sigma, --only-rules and --disable-rule: id, severity, MITRE ATT&CK techniques, type, title and where each comes from.');
  addOutOption(addRuleOptions(list).addOption(outputOption(LIST_FORMATS, 'table')))
    .option('-q, --quiet', 'no warnings on stderr')
    .option('--all', 'list off-by-default rules too')
    .addHelpText(
      'after',
      `
Examples:
  $ audit rules list
  $ audit rules list --all
  $ audit rules list --rules my-rules/ --sigma sigma/kubernetes/ -o json
  $ audit rules list --only-rules 'K8S-RBAC-*'`,
    )
    .action(async (opts: RuleFlags & { output: string; out?: string; quiet?: boolean; all?: boolean }) => {
      const { loadRuleSet, ruleInfo } = await import('../rules/detections.js');
      const set = await loadRuleSet({ ...ruleLoadOptions(opts), includeDisabled: opts.all === true });
      if (!opts.quiet) for (const w of set.warnings) io.stderr.write(`${visible(w)}\n`);
      await withOutput(io, opts.out, opts.quiet, async (t) => {
        const infos = set.rules.map((r) => ruleInfo(r.doc));
        if (opts.output === 'json') {
          t.io.stdout.write(JSON.stringify({ kind: 'kaudit.rules', version: 1, count: infos.length, rules: infos }, null, 2) + '\n');
        } else {
          const { renderReport } = await import('../render/index.js');
          const { sourceLabel } = await import('../analyses/anomalies/view.js');
          const view = () => ({
            title: 'kaudit rules',
            sections: [
              {
                title: `Detection rules (${infos.length})`,
                kind: 'table' as const,
                columns: ['id', 'severity', 'technique', 'type', 'title', 'source'],
                rows: infos.map((i) => [i.id, i.severity, i.technique.join(', ') || '-', i.enabled ? i.type : `${i.type} (off: --enable-rule)`, i.title, sourceLabel(i)]),
                dropOrder: ['source', 'type', 'technique'],
              },
            ],
          });
          t.io.stdout.write(await renderReport(opts.output === 'wide' ? 'wide' : 'table', { report: infos, view }, renderContext(t.io)));
        }
      });
      setExit(0);
    });

  rules
    .command('test')
    .summary('validate rule files and run each rule against its embedded examples')
    .description('Validate rule files (kaudit’s schema, or Sigma) and run every rule against the examples it embeds (expect: match, no-match or not-evaluated). Exit 0 when all pass, 1 when an example fails, 2 when a file is invalid.')
    .argument('<files...>', 'rule files')
    .addOption(outputOption(LIST_FORMATS, 'table'))
    .option('--out <file>', 'write the results to FILE instead of standard output')
    .option('-q, --quiet', 'only failures and the totals')
    .addHelpText(
      'after',
      `
Examples:
  $ audit rules test my-rules/prod.yaml
  $ audit rules test sigma/k8s_exec.yml -o json`,
    )
    .action(async (files: string[], opts: { output: string; out?: string; quiet?: boolean }) => {
      const { loadRuleFileForTest } = await import('../rules/lang/load.js');
      const { runExamples } = await import('../rules/lang/examples.js');
      const out: { file: string; format: string; rules: number; results: ReturnType<typeof runExamples>; noExamples: string[] }[] = [];
      for (const f of files) {
        const t = await loadRuleFileForTest(f);
        for (const w of t.warnings) io.stderr.write(`${visible(w)}\n`);
        out.push({ file: f, format: t.format, rules: t.rules.length, results: t.rules.flatMap(runExamples), noExamples: t.rules.filter((r) => r.doc.examples.length === 0).map((r) => r.doc.id) });
      }
      const all = out.flatMap((o) => o.results);
      const failed = all.filter((r) => r.got !== r.expect);
      await withOutput(io, opts.out, false, async (t) => {
        if (opts.output === 'json') t.io.stdout.write(JSON.stringify({ kind: 'kaudit.rules-test', version: 1, passed: all.length - failed.length, failed: failed.length, files: out }, null, 2) + '\n');
        else {
          const lines: string[] = [];
          for (const o of out) {
            lines.push(`${o.file}: ${o.rules} rule${o.rules === 1 ? '' : 's'} (${o.format}), valid`);
            for (const r of o.results) {
              const ok = r.got === r.expect;
              if (ok && opts.quiet) continue;
              lines.push(`  ${ok ? 'ok  ' : 'FAIL'} ${r.rule}: ${r.example}: expected ${r.expect}, got ${r.got}${r.detail && (!ok || r.got === 'match') ? ` (${r.detail})` : ''}`);
            }
            for (const id of o.noExamples) lines.push(`  note ${id}: no examples (add examples: with expect: match and expect: no-match)`);
          }
          lines.push(`${all.length - failed.length} passed, ${failed.length} failed`);
          t.io.stdout.write(lines.join('\n') + '\n');
        }
      });
      setExit(failed.length ? 1 : 0);
    });
}
