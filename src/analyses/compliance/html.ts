// The compliance report as one self-contained HTML file: no network, no external assets (a CSP
// forbids them), inline SVG charts, sortable and filterable tables with CSV download of the rows
// shown, print styles. Pure: the report in, a string out; the only time in it is generatedAt.
import type { ComplianceReport, Status } from './index.js';
import { FRAMEWORK_NAMES, type Framework } from '../../rules/compliance.js';
import { escapeHtml as h, FORMULA_START_SOURCE } from '../../render/sanitize.js';
import { displayTime } from '../../render/format.js';
import { stringSink, type Sink } from '../../render/stream.js';

/**
 * A table cell: its text (escaped when written), or its `html`, or `parts`: HTML written piece by
 * piece, for a cell as long as a list of a million subjects (a check's evidence, issue 15).
 */
type Cell = { text: string; sort?: number | string; cls?: string; html?: string; parts?: () => Iterable<string> };

function cell(v: string | number | null, cls?: string): Cell {
  if (v === null) return { text: '–', sort: -1, cls };
  return typeof v === 'number' ? { text: String(v), sort: v, cls } : { text: v, sort: v, cls };
}

/** Writes one sortable, filterable table: `count` rows (given before they are read), written one at a time. */
function writeTable(sink: Sink, id: string, title: string, columns: string[], count: number, rows: Iterable<Cell[]>, note = ''): void {
  const head = columns.map((c, i) => `<th scope="col" data-col="${i}" tabindex="0" aria-sort="none">${h(c)}</th>`).join('');
  sink.write(`<section class="tbl" id="${id}">
<h2>${h(title)}</h2>
<div class="tools"><input type="search" placeholder="Filter rows…" aria-label="Filter ${h(title)}" data-filter="${id}"><button type="button" data-csv="${id}">Download CSV</button><span class="count" data-count="${id}">${count} rows</span></div>
${note ? `<p class="note">${h(note)}</p>` : ''}<table><thead><tr>${head}</tr></thead><tbody>
`);
  let first = true;
  for (const r of rows) {
    let row = first ? '<tr>' : '\n<tr>';
    first = false;
    for (const c of r) {
      const sort = c.sort === undefined ? '' : ` data-sort="${h(String(c.sort))}"`;
      const cls = c.cls ? ` class="${h(c.cls)}"` : '';
      row += `<td${sort}${cls}>`;
      if (c.parts) {
        sink.write(row);
        row = '';
        for (const p of c.parts()) sink.write(p);
      } else row += c.html ?? h(c.text);
      row += '</td>';
    }
    sink.write(`${row}</tr>`);
  }
  sink.write(`
</tbody></table></section>`);
}

/** `f` over the items of an array or a list read from disk, one at a time. */
function* each<T, U>(rows: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of rows) yield f(x);
}

const STATUS_LABEL: Record<Status, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', 'not-assessed': 'NOT ASSESSED' };
const STATUS_ORDER: Record<Status, number> = { fail: 0, warn: 1, pass: 2, 'not-assessed': 3 };

/** Approximate width of an SVG label at 10px (system-ui): wide enough for digits and en dashes. */
const CHAR_W = 6.2;
const LABEL_ANGLE = 35;

/**
 * A bar chart as inline SVG whose every label stays inside it: the value above the tallest bar
 * gets room at the top, and the rotated category labels get room below and to the right from the
 * longest label's rotated extent (the browser test checks each label's box against the chart's).
 */
function barChart(title: string, data: { label: string; value: number; cls?: string }[], width = 560, height = 230): string {
  let max = 1;
  let longest = 0;
  for (const d of data) {
    if (d.value > max) max = d.value;
    if (d.label.length > longest) longest = d.label.length;
  }
  const rad = (LABEL_ANGLE * Math.PI) / 180;
  const labelLen = longest * CHAR_W;
  const pad = { l: 40, r: Math.max(16, Math.ceil(labelLen * Math.cos(rad)) - 8), t: 18, b: Math.ceil(labelLen * Math.sin(rad) + 24) };
  height = Math.max(height, pad.t + pad.b + 120);
  const w = width - pad.l - pad.r;
  const hh = height - pad.t - pad.b;
  const bw = data.length ? w / data.length : w;
  const bars = data
    .map((d, i) => {
      const bh = Math.round((d.value / max) * hh);
      const x = Math.round(pad.l + i * bw + bw * 0.1);
      const y = pad.t + hh - bh;
      const lx = Math.round(pad.l + i * bw + bw / 2);
      return `<rect class="${d.cls ?? 'bar'}" x="${x}" y="${y}" width="${Math.max(1, Math.round(bw * 0.8))}" height="${bh}"><title>${h(d.label)}: ${d.value}</title></rect>` +
        `<text class="lbl" x="${lx}" y="${pad.t + hh + 14}" transform="rotate(35 ${lx} ${pad.t + hh + 14})">${h(d.label)}</text>` +
        (d.value ? `<text class="val" x="${lx}" y="${y - 3}" text-anchor="middle">${d.value}</text>` : '');
    })
    .join('');
  return `<figure><svg role="img" aria-label="${h(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><line class="axis" x1="${pad.l}" y1="${pad.t + hh}" x2="${width - pad.r}" y2="${pad.t + hh}"/><text class="val" x="${pad.l - 6}" y="${pad.t + 8}" text-anchor="end">${max}</text>${bars}</svg><figcaption>${h(title)}</figcaption></figure>`;
}

const CSS = `
:root{--fg:#1d2433;--muted:#5b6478;--line:#d9dee8;--bg:#fff;--pass:#1f7a3d;--warn:#9a6400;--fail:#b3261e;--accent:#2f5bd3}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0 0 16px}.meta b{color:var(--fg)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px}
.card .n{font-size:26px;font-weight:600}.card .k{color:var(--muted)}
.pass{color:var(--pass);font-weight:600}.na,.not-assessed{color:var(--muted);font-weight:600}.warn{color:var(--warn);font-weight:600}.fail{color:var(--fail);font-weight:600}
.red{color:var(--fail)}.yellow{color:var(--warn)}.green{color:var(--pass)}
figure{margin:8px 0;display:inline-block;vertical-align:top}figcaption{color:var(--muted);text-align:center}
svg .bar{fill:var(--accent)}svg .bar-red{fill:var(--fail)}svg .bar-yellow{fill:#d8a200}svg .bar-green{fill:var(--pass)}svg .bar-none{fill:#9aa3b5}
svg .lbl{font-size:10px;fill:var(--muted)}svg .val{font-size:10px;fill:var(--fg)}svg .axis{stroke:var(--line)}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}.nowrap,td.pass,td.warn,td.fail,td.not-assessed{white-space:nowrap}
th{cursor:pointer;user-select:none;background:#f5f7fb;position:sticky;top:0}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}.tools{display:flex;gap:8px;align-items:center}.tools input{padding:4px 8px;min-width:260px}
.count,.note{color:var(--muted)}details summary{cursor:pointer;color:var(--accent)}code{font-size:12px}
ul.ev{margin:4px 0;padding-left:18px}
@media print{body{max-width:none;padding:0}.tools{display:none}th{position:static}tr,figure,.card{break-inside:avoid}details{display:block}details>*{display:block}details summary{display:none}h2{break-after:avoid}}
`;

const SCRIPT = `
(function(){
  var FORMULA=new RegExp(${JSON.stringify(FORMULA_START_SOURCE)},'u');
  function rows(id){return Array.prototype.slice.call(document.querySelectorAll('#'+id+' tbody tr'));}
  function visible(id){return rows(id).filter(function(r){return r.style.display!=='none';});}
  function count(id){var c=document.querySelector('[data-count="'+id+'"]');if(c){c.textContent=visible(id).length+' of '+rows(id).length+' rows';}}
  document.querySelectorAll('input[data-filter]').forEach(function(inp){
    inp.addEventListener('input',function(){var id=inp.getAttribute('data-filter');var q=inp.value.toLowerCase();
      rows(id).forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});count(id);});
  });
  document.querySelectorAll('th[data-col]').forEach(function(th){
    function sort(){var tbl=th.closest('table');var id=th.closest('section').id;var col=+th.getAttribute('data-col');
      var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
      tbl.querySelectorAll('th').forEach(function(o){o.setAttribute('aria-sort','none');});th.setAttribute('aria-sort',dir>0?'ascending':'descending');
      var rs=rows(id);rs.sort(function(a,b){var x=a.children[col].getAttribute('data-sort');var y=b.children[col].getAttribute('data-sort');
        var nx=Number(x),ny=Number(y);var c=(x!==''&&y!==''&&!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));return dir*c;});
      var tb=tbl.querySelector('tbody');rs.forEach(function(r){tb.appendChild(r);});}
    th.addEventListener('click',sort);th.addEventListener('keydown',function(e){if(e.key==='Enter'){sort();}});
  });
  function csvCell(s){s=String(s);if(FORMULA.test(s)){s="'"+s;}if(/[",\\n\\r]/.test(s)){s='"'+s.replace(/"/g,'""')+'"';}return s;}
  document.querySelectorAll('button[data-csv]').forEach(function(b){
    b.addEventListener('click',function(){var id=b.getAttribute('data-csv');var sec=document.getElementById(id);
      var head=Array.prototype.map.call(sec.querySelectorAll('thead th'),function(th){return csvCell(th.textContent);}).join(',');
      var body=visible(id).map(function(r){return Array.prototype.map.call(r.children,function(td){return csvCell(td.textContent.trim());}).join(',');});
      var blob=new Blob([[head].concat(body).join('\\n')+'\\n'],{type:'text/csv'});var a=document.createElement('a');
      a.href=URL.createObjectURL(blob);a.download=id+'.csv';document.body.appendChild(a);a.click();setTimeout(function(){URL.revokeObjectURL(a.href);a.remove();},0);});
  });
  document.querySelectorAll('section.tbl').forEach(function(s){count(s.id);});
})();
`;

/**
 * Writes the red subjects with their scores, as the score distribution counts them: the subjects
 * in red, in report order (summary.red lists the same subjects in the same order).
 */
function writeRedList(sink: Sink, r: ComplianceReport): void {
  let first = true;
  for (const x of r.subjects) {
    if (x.severity !== 'red') continue;
    const name = `${x.kind} ${x.namespace ? `${x.namespace}/${x.name}` : x.name}`;
    sink.write(`${first ? '' : ', '}${h(`${name} (${x.score ?? 0}%${x.dormant ? ', dormant' : x.unusedRules === 0 ? ', every rule used in part' : ''})`)}`);
    first = false;
  }
}

/** An evidence list's HTML, a piece at a time (nothing when it is empty). */
function* list(items: Iterable<string> & { length: number }): Generator<string> {
  if (!items.length) return;
  yield '<ul class="ev">';
  for (const i of items) yield `<li>${h(i)}</li>`;
  yield '</ul>';
}

/** A check's finding and its evidence (subjects, rules, sample auditIDs), a piece at a time. */
function* findingParts(c: ComplianceReport['checks'][number]): Generator<string> {
  yield h(c.summary);
  const ev = c.evidence;
  if (!(ev.subjects.length || ev.rules.length || ev.auditIDs.length)) return;
  yield '<details><summary>Evidence</summary>';
  if (ev.subjects.length) {
    yield '<div>Subjects:</div>';
    yield* list(ev.subjects);
  }
  if (ev.rules.length) {
    yield '<div>Rules:</div>';
    yield* list(ev.rules.map((x) => `${x.subject}: ${x.rule} (${x.source})`));
  }
  if (ev.auditIDs.length) {
    yield '<div>Sample auditIDs:</div>';
    yield* list(ev.auditIDs);
  }
  yield '</details>';
}

/** The report as one HTML page (a string: small reports and tests; writeComplianceHtml writes large ones piece by piece). */
export function renderComplianceHtml(r: ComplianceReport): string {
  const sink = stringSink();
  writeComplianceHtml(sink, r);
  return sink.text();
}

/** Writes the report as one HTML page to `sink`, a row at a time (the bytes of renderComplianceHtml). */
export function writeComplianceHtml(sink: Sink, r: ComplianceReport): void {
  const e = r.evaluation;
  const s = r.summary;
  const fw = e.frameworks as Framework[];
  const checkRows: Cell[][] = r.checks.map((c) => [
    cell(c.id, 'nowrap'),
    cell(c.title),
    { text: STATUS_LABEL[c.status], sort: STATUS_ORDER[c.status], cls: c.status },
    ...fw.map((f) => cell((c.controls[f] ?? []).join(', '))),
    { text: c.summary, sort: c.summary, parts: () => findingParts(c) },
  ]);
  const subjectRows = each(r.subjects, (x): Cell[] => [
    cell(x.namespace ? `${x.namespace}/${x.name}` : x.name),
    cell(x.kind),
    cell(x.requests, 'num'),
    cell(x.grantedRules, 'num'),
    cell(x.usedRules, 'num'),
    cell(x.unusedRules, 'num'),
    cell(x.sensitiveExcess, 'num'),
    { ...cell(x.score, 'num'), text: x.score === null ? '–' : `${x.score}%` },
    cell(x.severity, x.severity),
    cell(x.dormant ? 'yes' : 'no'),
  ]);
  const excessRows = each(r.sensitiveExcess, (x): Cell[] => [cell(x.subject), cell(x.id), cell(x.severity), cell(x.description), cell(x.permissions.slice(0, 6).join(', ') + (x.permissions.length > 6 ? ` (+${x.permissions.length - 6} more)` : '')), cell(x.source)]);
  const privRows = (function* (): Generator<Cell[]> {
    for (const x of r.privileged.clusterAdmin) yield [cell('cluster-admin'), cell(x.subject), cell(x.binding), cell(x.requests, 'num'), cell(x.auditIDs.join(', '))];
    for (const x of r.privileged.systemMasters) yield [cell('system:masters'), cell(x.subject), cell('group membership (bypasses RBAC)'), cell(x.requests, 'num'), cell(x.auditIDs.join(', '))];
  })();
  const gapRows: Cell[][] = r.coverage.gaps.map((g) => [cell(displayTime(g.from)), cell(displayTime(g.to)), cell(g.hours, 'num')]);
  const inputRows: Cell[][] = [
    ...r.inputs.files.map((f) => [cell('audit log'), cell(f.path), { text: f.sha256, sort: f.sha256, html: `<code>${h(f.sha256)}</code>` }, cell(f.format), cell(f.lines, 'num'), cell(f.events, 'num'), cell(f.rejected, 'num')]),
    ...r.inputs.rbac.files.map((f) => [cell('RBAC export'), cell(f.path), { text: f.sha256, sort: f.sha256, html: `<code>${h(f.sha256)}</code>` }, cell('yaml/json'), cell(''), cell(''), cell('')]),
  ];
  const band = (range: string): string => (range === 'no own grants' ? 'bar-none' : Number(range.split('–')[0]) >= 80 ? 'bar-green' : Number(range.split('–')[0]) >= 50 ? 'bar-yellow' : 'bar-red');
  const cards = [
    ['checks failed', `<span class="fail">${s.checks.fail}</span>`],
    ['checks with warnings', `<span class="warn">${s.checks.warn}</span>`],
    ['checks passed', `<span class="pass">${s.checks.pass}</span>`],
    ...(s.checks['not-assessed'] ? [['checks not assessed', `<span class="na">${s.checks['not-assessed']}</span>`]] : []),
    ['subjects', String(s.subjects)],
    ['average score', s.averageScore === null ? '–' : `${s.averageScore}%`],
    ['subjects in red', `<span class="red">${s.red.length}</span>`],
    ['sensitive excess', String(r.sensitiveExcess.length)],
    ['dormant subjects', String(r.dormant.length)],
  ];
  sink.write(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>Kubernetes least-privilege report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Kubernetes least-privilege report</h1>
<p class="meta">Generated at <b>${h(displayTime(e.generatedAt))}</b> by kaudit <b>${h(e.kaudit)}</b> · observed <b>${h(displayTime(e.window.from) || '–')}</b> → <b>${h(displayTime(e.window.to) || '–')}</b>${e.period ? ` · period under review <b>${h(displayTime(e.period.from))}</b> → <b>${h(displayTime(e.period.to))}</b>` : ' · no period under review given (--period)'} · frameworks: ${h(fw.map((f) => FRAMEWORK_NAMES[f]).join(', '))} · RBAC snapshot <code>${h(r.inputs.rbac.digest.slice(0, 16))}</code></p>
</header>
<section id="summary">
<h2>Summary</h2>
<div class="cards">${cards.map(([k, v]) => `<div class="card"><div class="n">${v}</div><div class="k">${h(k!)}</div></div>`).join('')}</div>
`);
  if (s.red.length) {
    sink.write('<p>Subjects in red (score under 50%: they use under half of what their own rules grant, a rule used in part counting in part): ');
    writeRedList(sink, r);
    sink.write('.</p>');
  }
  sink.write(`
${barChart('Subjects by least-privilege score (%)', s.scoreDistribution.map((d) => ({ label: d.range, value: d.subjects, cls: band(d.range) })))}
${barChart('Requests per day', r.coverage.activity.map((a) => ({ label: a.day, value: a.requests })))}
</section>
`);
  writeTable(sink, 'checks', 'Checks', ['check', 'title', 'status', ...fw.map((f) => FRAMEWORK_NAMES[f]), 'finding and evidence'], checkRows.length, checkRows);
  sink.write('\n');
  writeTable(sink, 'subjects', 'Subjects', ['subject', 'kind', 'requests', 'rules granted', 'used', 'unused', 'sensitive excess', 'score', 'band', 'dormant'], r.subjects.length, subjectRows, 'Score: the used share of the subject’s own rules, as audit drift computes it (green ≥ 80%, yellow ≥ 50%, red below).');
  sink.write('\n');
  writeTable(sink, 'excess', 'Sensitive excess (granted, never used)', ['subject', 'id', 'severity', 'permission', 'unused', 'granted by'], r.sensitiveExcess.length, excessRows);
  sink.write('\n');
  writeTable(sink, 'privileged', 'Use of cluster-admin and system:masters', ['role', 'subject', 'through', 'requests', 'sample auditIDs'], r.privileged.clusterAdmin.length + r.privileged.systemMasters.length, privRows);
  sink.write('\n');
  writeTable(sink, 'coverage', 'Log coverage gaps', ['from', 'to', 'hours'], gapRows.length, gapRows, `${r.coverage.hoursWithEvents} of ${r.coverage.hours} hours have events.`);
  sink.write('\n');
  writeTable(sink, 'inputs', 'Inputs', ['input', 'path', 'SHA-256', 'format', 'lines', 'events', 'rejected'], inputRows.length, inputRows, `RBAC snapshot digest (SHA-256 of its objects): ${r.inputs.rbac.digest}. Re-run kaudit on the same inputs to get the same report.`);
  sink.write(`
<script>${SCRIPT}</script>
</body>
</html>
`);
}
