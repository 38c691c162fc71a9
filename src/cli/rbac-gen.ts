// `audit rbac-gen FILES…`: least-privilege Roles and bindings from what subjects actually did.
import { Option, type Command } from 'commander';
import type { IO } from './io.js';
import { addFilterOptions, addInputOptions, addJobsOption, addOutOption, outputOption, runReducer, intOption, type FilterFlags, type InputOptions, collect } from './common.js';
import { displayTime, plural } from '../render/format.js';

export const RBAC_GEN_FORMATS = ['yaml', 'json', 'report'] as const;
import { UsageError } from '../util/errors.js';

interface Opts extends InputOptions, FilterFlags {
  output: 'yaml' | 'json' | 'report';
  includeSystem?: boolean;
  includeDiscovery?: boolean;
  excludeDenied?: boolean;
  scope: 'namespaced' | 'cluster';
  verbs: 'exact' | 'grouped';
  wildcards: 'never' | 'safe';
  resourceNames?: boolean;
  maxNames: number;
  explain?: boolean;
  existing: string[];
  outDir?: string;
  out?: string;
}

export function register(program: Command, io: IO, setExit: (code: number) => void): void {
  const cmd = program
    .command('rbac-gen')
    .summary('least-privilege Roles/ClusterRoles and bindings from what each subject did')
    .description(
      'Write least-privilege RBAC (Role/RoleBinding per namespace, ClusterRole/ClusterRoleBinding for cluster-scoped resources, all-namespace requests and non-resource URLs) from the requests each user and service account made. The output is checked against the authorizer before it is printed: it must allow every request it came from.',
    );
  addInputOptions(cmd);
  addJobsOption(cmd);
  addFilterOptions(
    cmd,
    'the subject, and the impersonator of impersonated requests: alice gets a policy for what she did as herself and the impersonate permission for what she did as someone else (the impersonated identity gets the rest); exact or glob (repeatable, comma-separated)',
  );
  cmd
    .option('--include-system', 'also write policies for system components: control plane, nodes, system:anonymous, system:kube-*')
    .option('--include-discovery', 'keep discovery, health and self-review requests, which every user is granted by default')
    .option('--exclude-denied', 'leave out denied (403) requests; by default a 403 counts as a permission that was needed')
    .addOption(new Option('--scope <scope>', 'namespaced: a Role per namespace; cluster: one ClusterRole for the namespaced rules, bound by a RoleBinding in each namespace').choices(['namespaced', 'cluster']).default('namespaced'))
    .addOption(new Option('--verbs <mode>', 'exact: the verbs observed; grouped: any of get/list/watch grants all three').choices(['exact', 'grouped']).default('exact'))
    .addOption(new Option('--wildcards <mode>', "never: no '*'; safe: verbs ['*'] only when all eight resource verbs were observed").choices(['never', 'safe']).default('never'))
    .option('--resource-names', 'pin resourceNames where every request named its object and the verb can be restricted by name (never create, list, watch, deletecollection)')
    .option('--max-names <n>', 'with --resource-names: pin at most this many names per rule', intOption('--max-names'), 20)
    .option('--explain', 'comment each rule with its request count, first and last seen, and two example auditIDs')
    .option('--existing <file>', 'RBAC export (YAML/JSON, file or directory): only write what it does not already allow (repeatable)', collect, [])
    .option('--out-dir <dir>', 'write one file per subject into DIR instead of stdout')
    .addOption(outputOption(RBAC_GEN_FORMATS, 'yaml', 'yaml (multi-document), json (a v1 List), or report (the canonical JSON report with evidence and self-check)'));
  addOutOption(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ audit rbac-gen audit.log --out rbac.yaml && kubectl apply -f rbac.yaml
  $ audit rbac-gen logs/ --serviceaccount ci:deployer --explain
  $ audit rbac-gen logs/ --user alice@example.com --verbs grouped --resource-names
  $ audit rbac-gen logs/ --existing current-rbac.yaml --out-dir rbac/`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      const [{ rbacGenExcept }, { loadRbac }, { Authorizer }, { objectsYaml }, { toPlainObject, subjectLabel }, { safeFileName }] = await Promise.all([
        import('../analyses/rbacgen/existing.js'),
        import('../rbac/load.js'),
        import('../rbac/authorizer.js'),
        import('../render/rbac-yaml.js'),
        import('../rbac/generate.js'),
        import('../rbac/names.js'),
      ]);
      const { visible } = await import('../render/sanitize.js');
      const groups = opts.group.flatMap((g) => g.split(',')).filter(Boolean);
      if (groups.length > 1) throw new UsageError('--group: rbac-gen writes a policy for one group at a time', 'pass a single --group NAME');
      if (opts.out !== undefined && opts.outDir !== undefined) throw new UsageError('--out and --out-dir cannot be combined', 'pick one: one file for every policy (--out), or one file per subject (--out-dir)');
      // Destinations are checked before anything is read (src/cli/outfile.ts).
      const { prepareOutputDir, prepareOutputFile } = await import('./outfile.js');
      const outDir = opts.outDir && opts.output !== 'report' ? prepareOutputDir('--out-dir', opts.outDir) : null;
      const outFile = opts.out !== undefined ? prepareOutputFile('--out', opts.out) : null;
      const dest = outDir ?? outFile;
      if (dest && opts.existing.length) dest.checkInputs((await (await import('../ingest/sources.js')).expandInputs(opts.existing)).map((s) => s.path));
      const { globMatcher, subjectPatterns } = await import('../filter/index.js');
      const selected = subjectPatterns(opts);
      const plain = {
        group: groups[0],
        includeSystem: !!opts.includeSystem,
        includeDiscovery: !!opts.includeDiscovery,
        excludeDenied: !!opts.excludeDenied,
        scope: opts.scope,
        verbs: opts.verbs,
        wildcards: opts.wildcards,
        resourceNames: !!opts.resourceNames,
        maxNames: opts.maxNames,
      };
      let existing: InstanceType<typeof Authorizer> | null = null;
      if (opts.existing.length) {
        const snap = await loadRbac(opts.existing);
        existing = new Authorizer(snap);
        if (!opts.quiet) {
          for (const w of [...snap.warnings, ...existing.missing.map((m) => m.message)]) io.stderr.write(`warning: ${visible(w)}\n`);
          const ignored = Object.entries(snap.ignored).map(([k, n]) => `${n} ${k}`);
          if (ignored.length) io.stderr.write(`note: --existing: ignored objects that are not RBAC: ${visible(ignored.join(', '))}\n`);
        }
      }
      const init = rbacGenExcept.init({ ...plain, existing, ...(selected.length ? { select: globMatcher(selected) } : {}) });
      const { state, accounting } = await runReducer(io, inputs, { ...opts, userMatchesImpersonator: true, outputs: dest ? [dest] : [] }, { command: 'rbac-gen', options: { ...plain, users: selected, existing: opts.existing }, reducer: rbacGenExcept, state: init });
      state.inner.opts = { ...state.inner.opts };
      const report = rbacGenExcept.finish(state, { input: accounting });
      const sc = report.selfCheck;
      const objects = report.policies.flatMap((p) => p.objects);
      const header = `# Generated by kaudit rbac-gen from ${plural(sc.requests, 'request')} of ${plural(report.policies.length, 'subject')}, observed ${displayTime(report.window.from) || '-'} to ${displayTime(report.window.to) || '-'}.\n`;
      const render = (objs: typeof objects): string =>
        opts.output === 'yaml' ? objectsYaml(objs, !!opts.explain, header) : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.map(toPlainObject) }, null, 2) + '\n';
      // Files are written only when the self-check passed: a failed run leaves no output file.
      const selfCheckFailed = sc.allowed < sc.requests;
      if (outDir) {
        if (!selfCheckFailed) {
          const ext = opts.output === 'yaml' ? 'yaml' : 'json';
          const written = await outDir.writeAll(report.policies.map((p) => ({ name: safeFileName(subjectLabel(p.subject), ext), text: render(p.objects) })));
          if (!opts.quiet) for (const f of written) io.stderr.write(`wrote ${visible(f)}\n`);
        }
      } else {
        const text = opts.output === 'report' ? JSON.stringify({ ...report, policies: report.policies.map((p) => ({ ...p, objects: p.objects.map(toPlainObject) })) }, null, 2) + '\n' : render(objects);
        if (!outFile) io.stdout.write(text);
        else if (!selfCheckFailed || opts.output === 'report') {
          await outFile.write(text);
          if (!opts.quiet) io.stderr.write(`wrote ${visible(outFile.path)}\n`);
        }
      }
      if (!opts.quiet) {
        const left = Object.entries(report.leftOut).map(([why, n]) => `${n} ${why}`);
        if (report.alreadyGranted) left.push(`${report.alreadyGranted} already allowed by --existing`);
        if (left.length) io.stderr.write(`left out: ${left.join('; ')}\n`);
        io.stderr.write(`rbac-gen: ${plural(report.policies.length, 'subject')}, ${plural(objects.length, 'object')}; self-check: coverage ${sc.coverage}%, ${sc.allowed} of ${plural(sc.requests, 'request')} allowed by the generated policy\n`);
      }
      if (selfCheckFailed) {
        io.stderr.write('audit: error: the generated policy does not allow every observed request (a kaudit bug; please report it):\n');
        for (const u of sc.uncovered.slice(0, 10)) io.stderr.write(`  ${visible(`${u.subject}: ${u.verb} ${u.nonResourceURL || `${u.resource}${u.apiGroup ? '.' + u.apiGroup : ''}`} ${u.namespace ? `in ${u.namespace}` : '(cluster)'}`)}\n`);
        setExit(2);
        return;
      }
      setExit(0);
    });
}
