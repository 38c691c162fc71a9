// `audit rbac-gen FILES…`: least-privilege Roles and bindings from what subjects actually did.
import { RBAC_WRITE_BODIES } from '../normalize/bodies.js';
import { collectSooner } from '../util/v8heap.js';
import { Option, type Command } from 'commander';
import type { IO } from './io.js';
import { addFilterOptions, addInputOptions, addJobsOption, addOutOption, addStateOptions, outputOption, runReducer, intOption, type FilterFlags, type InputOptions, collect } from './common.js';
import { UsageError } from '../util/errors.js';
import { displayTime, plural } from '../render/format.js';
import type { SensitiveFinding } from '../rbac/generate.js';

export const RBAC_GEN_FORMATS = ['yaml', 'json', 'report'] as const;

/** Sensitive permissions listed one a line on stderr; beyond this, a count (-o report has them all). */
const SENSITIVE_LINES = 50;

interface Opts extends InputOptions, FilterFlags {
  output: 'yaml' | 'json' | 'report';
  includeSystem?: boolean;
  includeDiscovery?: boolean;
  includeDenied?: boolean;
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
      'Write least-privilege RBAC (Role/RoleBinding per namespace, ClusterRole/ClusterRoleBinding for cluster-scoped resources, all-namespace requests and non-resource URLs) from the requests each user and service account made, including the impersonate, bind and escalate permissions those requests needed. Denied requests and what the default bootstrap bindings already allow are left out. Every sensitive permission in the output is listed on stderr. The output is checked against the authorizer before it is printed: with the default bindings it must allow every request it came from.',
    );
  addInputOptions(cmd);
  addJobsOption(cmd);
  addStateOptions(cmd);
  addFilterOptions(
    cmd,
    'the subject, and the impersonator of impersonated requests: alice gets a policy for what she did as herself and the impersonate permission for what she did as someone else (the impersonated identity gets the rest); exact or glob (repeatable, comma-separated)',
  );
  cmd
    .option('--include-system', 'also write policies for system components: control plane, nodes, system:anonymous, system:kube-*')
    .option('--include-discovery', 'keep requests the default bootstrap bindings allow every user (discovery, /healthz, /version, self reviews; src/rules/data/rbac-defaults.yaml)')
    .option('--include-denied', 'also grant what the authorizer denied (the audit2rbac workflow: run a workload without permissions, grant what it was refused); by default denied requests are left out and counted per subject')
    .addOption(new Option('--exclude-denied', 'the default since denied requests are left out; accepted for old scripts').hideHelp())
    .addOption(new Option('--scope <scope>', 'namespaced: a Role per namespace; cluster: one ClusterRole for the namespaced rules, bound by a RoleBinding in each namespace').choices(['namespaced', 'cluster']).default('namespaced'))
    .addOption(new Option('--verbs <mode>', 'exact: the verbs observed; grouped: any of get/list/watch grants all three').choices(['exact', 'grouped']).default('exact'))
    .addOption(new Option('--wildcards <mode>', "never: no '*'; safe: verbs ['*'] only when all eight resource verbs were observed").choices(['never', 'safe']).default('never'))
    .option('--resource-names', 'pin resourceNames where every request named its object as the authorizer saw it (a get, a list or watch with a metadata.name field selector, a create on a named subresource; never a create on a collection). impersonate, bind and escalate are always pinned')
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
  $ audit rbac-gen audit.log --out rbac.yaml    # read rbac.yaml and the sensitive permissions listed on stderr
  $ kubectl apply -f rbac.yaml
  $ audit rbac-gen logs/ --serviceaccount ci:deployer --explain
  $ audit rbac-gen logs/ --user alice@example.com --verbs grouped --resource-names
  $ audit rbac-gen logs/ --existing current-rbac.yaml --out-dir rbac/`,
    )
    .action(async (inputs: string[], opts: Opts) => {
      // Per-subject state up to the memory budget, spilled and merged back: it outlives V8's young
      // generation, and V8's default growth let the heap reach several times what was live (issue 15).
      collectSooner();
      const [{ rbacGenExcept }, { loadRbac }, { Authorizer }, { objectsYaml, objectYaml }, { toPlainObject, policyObjectName, objectCount, sensitiveCount, deniedTop, uncheckedHead }, { safeFileName }] = await Promise.all([
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
      if (dest && opts.existing.length) dest.checkInputs((await (await import('../rbac/load.js')).expandRbacInputs(opts.existing, '--existing')).map((s) => s.path));
      const { globMatcher, identityPatterns } = await import('../filter/index.js');
      const selected = identityPatterns(opts);
      const plain = {
        group: groups[0],
        includeSystem: !!opts.includeSystem,
        includeDiscovery: !!opts.includeDiscovery,
        includeDenied: !!opts.includeDenied,
        scope: opts.scope,
        verbs: opts.verbs,
        wildcards: opts.wildcards,
        resourceNames: !!opts.resourceNames,
        maxNames: opts.maxNames,
      };
      let existing: InstanceType<typeof Authorizer> | null = null;
      if (opts.existing.length) {
        const snap = await loadRbac(opts.existing, '--existing');
        existing = new Authorizer(snap);
        if (!opts.quiet) {
          for (const w of [...snap.warnings, ...existing.warnings, ...existing.missing.map((m) => m.message)]) io.stderr.write(`warning: ${visible(w)}\n`);
          const ignored = Object.entries(snap.ignored).map(([k, n]) => `${n} ${k}`);
          if (ignored.length) io.stderr.write(`note: --existing: ignored objects that are not RBAC: ${visible(ignored.join(', '))}\n`);
        }
      }
      const init = rbacGenExcept.init({ ...plain, existing, ...(selected.length ? { select: globMatcher(selected) } : {}) });
      const { state, accounting } = await runReducer(io, inputs, { ...opts, userMatchesImpersonator: true, outputs: dest ? [dest] : [], bodies: RBAC_WRITE_BODIES }, { command: 'rbac-gen', options: { ...plain, users: selected, existing: opts.existing }, reducer: rbacGenExcept, state: init });
      state.inner.opts = { ...state.inner.opts };
      // Without -o report only the first sensitive findings are listed (stderr): a top-N, not a sort of all.
      if (opts.output !== 'report') state.sensitiveTop = SENSITIVE_LINES;
      const report = rbacGenExcept.finish(state, { input: accounting });
      const sc = report.selfCheck;
      type Obj = (typeof report.policies extends Iterable<infer P> ? P : never) extends { objects: (infer O)[] } ? O : never;
      const objectsTotal = objectCount(report);
      // Every object of every policy, read once (the policies may stream from spilled runs).
      const objects = (): Iterable<Obj> => ({
        *[Symbol.iterator]() {
          for (const p of report.policies) yield* p.objects;
        },
      });
      const header = `# Generated by kaudit rbac-gen from ${plural(sc.requests - sc.defaults, 'request')} of ${plural(report.policies.length, 'subject')}, observed ${displayTime(report.window.from) || '-'} to ${displayTime(report.window.to) || '-'}.\n`;
      const render = (objs: Obj[]): string =>
        opts.output === 'yaml' ? objectsYaml(objs, !!opts.explain, header) : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.map(toPlainObject) }, null, 2) + '\n';
      // Files are written only when the self-check passed: a failed run leaves no output file.
      const selfCheckFailed = sc.allowed < sc.checks;
      /** The first sensitive findings, for stderr (taken while -o report writes them, else read here). */
      let shown: SensitiveFinding[] | null = null;
      // Standard output and --out are written object by object (issue 15): the bytes of one
      // JSON.stringify or one YAML string, never that string (a million subjects' policies exceed
      // V8's string limit).
      const { writeJson, LazyList, mapRows, headOf } = await import('../render/stream.js');
      const { releaseRows } = await import('../scale/lazy.js');
      const { releaseLists } = await import('../scale/spilled.js');
      const { Out } = await import('./out.js');
      if (outDir) {
        if (!selfCheckFailed) {
          const ext = opts.output === 'yaml' ? 'yaml' : 'json';
          // One file at a time (the policies may stream from spilled runs): a million subjects'
          // files are never held at once (issue 15).
          const files = outDir.open();
          try {
            for (const p of report.policies) files.add(safeFileName(policyObjectName(p.subject), ext), render(p.objects));
          } catch (e) {
            files.abort();
            throw e;
          }
          const written = await files.commit();
          if (!opts.quiet) for (const f of written) io.stderr.write(`wrote ${visible(f)}\n`);
          releaseLists(written);
        }
      } else {
        // --out gets the policy only when the self-check passed (the report always).
        if (!outFile || !selfCheckFailed || opts.output === 'report') {
          const sink = outFile ? outFile.open() : null;
          const out = new Out(sink ?? io.stdout);
          try {
            if (opts.output === 'report') {
              // The report reads the sensitive list: the first ones are kept for stderr as it goes.
              shown = [];
              const keep = shown;
              const sensitive = mapRows(report.sensitive, (f) => {
                if (keep.length < SENSITIVE_LINES) keep.push(f);
                return f;
              });
              writeJson(out, { ...report, policies: mapRows(report.policies, (p) => ({ ...p, objects: p.objects.map(toPlainObject) })), sensitive });
            } else if (opts.output === 'yaml') {
              out.write(header);
              for (const o of objects()) out.write(`---\n${objectYaml(o, !!opts.explain)}`);
            } else writeJson(out, { apiVersion: 'v1', kind: 'List', items: new LazyList(objectsTotal, function* () {
              for (const o of objects()) yield toPlainObject(o);
            }) });
            out.flush();
            if (sink) await sink.commit();
          } catch (e) {
            sink?.abort();
            throw e;
          }
          if (outFile && !opts.quiet) io.stderr.write(`wrote ${visible(outFile.path)}\n`);
        }
      }
      // Lists read from spilled runs that nothing wrote (a failed self-check, -q) let go of their files now.
      releaseRows(report.policies);
      releaseRows(report.deniedBySubject);
      releaseRows(report.escalationUnchecked);
      if (opts.quiet) releaseRows(report.sensitive);
      if (!opts.quiet) {
        // The accounting line was printed when reading ended (src/cli/common.ts).
        const say = (line: string): void => void io.stderr.write(`${visible(line)}\n`);
        const left = Object.entries(report.leftOut).map(([why, n]) => `${n} ${why}`);
        if (report.alreadyGranted) left.push(`${report.alreadyGranted} already allowed by --existing`);
        if (left.length) say(`left out: ${left.join('; ')}`);
        // The first ten and an exact count of the rest (-o report lists every subject).
        const denied = deniedTop(report);
        if (denied.subjects) {
          say(`denied requests left out, per subject (--include-denied grants them): ${denied.top.map(([who, n]) => `${who} ${n}`).join(', ')}${denied.subjects > denied.top.length ? `, and ${denied.subjects - denied.top.length} more subjects` : ''}`);
        }
        const unchecked = uncheckedHead(report);
        for (const u of unchecked.head) {
          say(`note: ${u.subject}: ${u.requests} RBAC write${u.requests === 1 ? '' : 's'} whose bind/escalate check could not be judged (${Object.entries(u.reasons).map(([why, n]) => `${n} ${why}`).join('; ')}); the generated policy grants no bind or escalate for ${u.requests === 1 ? 'it' : 'them'}`);
        }
        const moreUnchecked = unchecked.subjects - unchecked.head.length;
        if (moreUnchecked > 0) say(`note: … and ${moreUnchecked} more subject${moreUnchecked === 1 ? '' : 's'} with such RBAC writes (-o report lists every one)`);
        const sensitiveTotal = sensitiveCount(report);
        if (sensitiveTotal) {
          say(`sensitive permissions in the output (${sensitiveTotal}; review before applying):`);
          // At most SENSITIVE_LINES here; -o report lists every one.
          for (const f of shown ?? headOf(report.sensitive, SENSITIVE_LINES)) {
            const where = f.object.namespace ? `${f.object.kind} ${f.object.namespace}/${f.object.name}` : `${f.object.kind} ${f.object.name}`;
            say(`  ${f.id} ${f.severity} ${f.description}: ${f.subject}, ${where}: ${f.permissions.join('; ')} (${plural(f.requests, 'request')}${f.examples.length ? `, e.g. auditID ${f.examples[0]}` : ''})`);
          }
          releaseRows(report.sensitive);
          const more = sensitiveTotal - SENSITIVE_LINES;
          if (more > 0) say(`  … and ${more} more (-o report lists every one)`);
        }
        say(
          `rbac-gen: ${plural(report.policies.length, 'subject')}, ${plural(objectsTotal, 'object')}; self-check: coverage ${sc.coverage}%, ${sc.allowed} of ${sc.checks} authorization checks allowed by the generated policy with the default bindings (${sc.requests} requests, ${sc.defaults} of them allowed by the defaults; ${sc.checks - sc.requests} impersonate/bind/escalate checks)`,
        );
      }
      if (selfCheckFailed) {
        io.stderr.write('audit: error: the generated policy does not allow every observed request (a kaudit bug; please report it):\n');
        for (const u of sc.uncovered.slice(0, 10)) io.stderr.write(`  ${visible(`${u.subject}: ${u.check} ${u.verb} ${u.nonResourceURL || `${u.resource}${u.apiGroup ? '.' + u.apiGroup : ''}`} ${u.namespace ? `in ${u.namespace}` : '(cluster)'}${u.name ? ` name ${u.name}` : ''}`)}\n`);
        setExit(2);
        return;
      }
      setExit(0);
    });
}
