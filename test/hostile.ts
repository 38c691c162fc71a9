// One fixture full of hostile strings, as an attacker who can talk to the API server would write
// them into the audit log (and into an RBAC export committed to a repository): control characters
// and terminal escape sequences, bidi controls (U+202A–U+202E, U+2066–U+2069, "Trojan Source"),
// zero-width and tag characters, spreadsheet formulas (with leading spaces and quotes), Markdown
// links, images and @mentions, astral characters, XML specials, path separators, very long names.
import { join } from 'node:path';
import { event, jsonl, writeFiles } from './helpers.js';
import { yamlStr } from '../src/render/sanitize.js';

export const HOSTILE = {
  /** ESC sequences (window title, clear screen, CSI in C1 form), BEL, backspace, CR, NUL, DEL. */
  control: 'ctl\u0000\u0007x\u0008\r\u001b]0;pwned\u0007\u001b[2J\u009b31m\u007fend',
  /** Every bidi control: U+202A–U+202E and U+2066–U+2069. */
  bidi: 'adm\u202eni\u202c\u202a\u202b\u202d\u2066\u2067\u2068\u2069n',
  /** Zero-width space, BOM, soft hyphen, a tag character, a line separator. */
  invisible: 'zw\u200bsp\ufeffbom\u00adshy\u{E0041}tag\u2028ls',
  /** Formula prefixes, also after leading spaces and quotes. */
  formula: '  =HYPERLINK("http://evil.example/","x")',
  formulaQuoted: '"=1+1"',
  formulaAt: "'@SUM(A1)",
  formulaTab: '\t-2+3',
  /** Markdown that would link, load an image, ping a team, reference an issue, run HTML. */
  markdown: '[x](https://evil.example/a) ![i](https://evil.example/i.png) @kaudit-team #12 www.evil.example https://evil.example/auto *em* _u_ ~s~ `c` | <img src=x onerror=alert(1)> &amp; $x$ \\',
  /** Characters outside the BMP, and XML specials. */
  astral: 'emoji😀user𝒳',
  xml: `<a b="c">'&amp;</a>]]>`,
  /** Path separators and traversal. */
  path: '../../etc/passwd',
  pathWin: 'a/b\\c..\\CON',
  /** A name far longer than anything is laid out for. */
  long: `long-${'n'.repeat(300)}-end`,
} as const;

export const HOSTILE_VALUES: string[] = Object.values(HOSTILE);

/** The subjects (user names) of the fixture, one per hostile string. */
export const HOSTILE_USERS: string[] = HOSTILE_VALUES;

const KUBECTL = 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819';

/** Events: each hostile user gets secrets, execs into a pod and is denied a delete; extra fields carry hostile strings too. */
export function hostileEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let n = 0;
  const at = (): string => `2026-03-02T10:${String(Math.floor(n / 60)).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.000000Z`;
  const id = (): string => `hostile-${String(++n).padStart(4, '0')}`;
  HOSTILE_USERS.forEach((u, i) => {
    const ns = i % 2 ? HOSTILE.bidi : 'default';
    const name = HOSTILE_VALUES[(i + 3) % HOSTILE_VALUES.length]!;
    const ua = i % 3 === 0 ? `${KUBECTL} ${HOSTILE.control}` : i % 3 === 1 ? HOSTILE.formula : KUBECTL;
    const base = { user: { username: u, groups: [HOSTILE.markdown, 'system:authenticated'] }, userAgent: ua, sourceIPs: [i % 4 === 0 ? HOSTILE.xml : '198.51.100.7'] };
    let t = at();
    out.push(event({ ...base, auditID: id(), verb: 'get', requestURI: `/api/v1/namespaces/x/secrets/${encodeURIComponent(name)}`, objectRef: { resource: 'secrets', namespace: ns, name, apiVersion: 'v1' }, requestReceivedTimestamp: t, stageTimestamp: t }));
    t = at();
    out.push(event({ ...base, auditID: id(), verb: 'create', requestURI: '/api/v1/namespaces/x/pods/p/exec?command=sh', objectRef: { resource: 'pods', subresource: 'exec', namespace: ns, name: HOSTILE.path, apiVersion: 'v1' }, responseStatus: { code: 101 }, requestReceivedTimestamp: t, stageTimestamp: t }));
    t = at();
    out.push(event({ ...base, auditID: id(), verb: 'delete', requestURI: '/api/v1/namespaces/x/configmaps/c', objectRef: { resource: 'configmaps', namespace: ns, name: HOSTILE.astral, apiVersion: 'v1' }, responseStatus: { code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid' }, requestReceivedTimestamp: t, stageTimestamp: t }));
  });
  // Impersonation of a hostile user, and a non-resource request with a hostile path.
  let t = at();
  out.push(event({ auditID: id(), user: { username: 'alice', groups: ['system:authenticated'] }, impersonatedUser: { username: HOSTILE.bidi, groups: [HOSTILE.xml] }, verb: 'list', requestURI: '/api/v1/namespaces/default/pods', objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' }, requestReceivedTimestamp: t, stageTimestamp: t }));
  t = at();
  out.push(event({ auditID: id(), user: { username: HOSTILE.markdown, groups: ['system:authenticated'] }, verb: 'get', requestURI: `/healthz/${encodeURIComponent(HOSTILE.control)}`, objectRef: undefined, requestReceivedTimestamp: t, stageTimestamp: t }));
  return out;
}

/** An RBAC export whose names are hostile: a Role and RoleBinding per hostile user, and a wildcard ClusterRole bound to one of them. */
export function hostileRbac(): string {
  const docs: string[] = [];
  HOSTILE_USERS.forEach((u, i) => {
    const ns = i % 2 ? HOSTILE.bidi : 'default';
    const role = `role-${i}-${HOSTILE_VALUES[(i + 5) % HOSTILE_VALUES.length]}`;
    docs.push(
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: ${yamlStr(role)}\n  namespace: ${yamlStr(ns)}\nrules:\n- apiGroups: [""]\n  resources: ["secrets", "configmaps"]\n  verbs: ["get", "list", "delete"]\n`,
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${yamlStr(`rb-${i}-${u}`)}\n  namespace: ${yamlStr(ns)}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${yamlStr(role)}}\nsubjects:\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: ${yamlStr(u)}}\n- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: ${yamlStr(HOSTILE.markdown)}}\n`,
    );
  });
  docs.push(
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ${yamlStr(`wild-${HOSTILE.xml}`)}\nrules:\n- apiGroups: ["*"]\n  resources: ["*"]\n  verbs: ["*"]\n`,
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ${yamlStr(`crb-${HOSTILE.formula}`)}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${yamlStr(`wild-${HOSTILE.xml}`)}}\nsubjects:\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: ${yamlStr(HOSTILE.formulaQuoted)}}\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: ${yamlStr(`dormant-${HOSTILE.astral}`)}}\n`,
  );
  return docs.map((d) => `---\n${d}`).join('');
}

/** Writes `audit.log` and `rbac.yaml` into `dir`; returns their paths. */
export function writeHostileFixture(dir: string): { log: string; rbac: string } {
  writeFiles(dir, { 'audit.log': jsonl(hostileEvents()), 'rbac.yaml': hostileRbac() });
  return { log: join(dir, 'audit.log'), rbac: join(dir, 'rbac.yaml') };
}
