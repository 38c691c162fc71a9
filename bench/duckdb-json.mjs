#!/usr/bin/env node
// `node bench/duckdb-json.mjs QUESTION FILE`: the benchmark's questions asked of DuckDB's own JSON
// reader on a raw audit log (what a DuckDB user would write without kaudit): events, not requests,
// so only stage ResponseComplete; the decision as kaudit reads it. Prints the rows as JSON lines.
import { DuckDBInstance } from '@duckdb/node-api';

const [question, file] = process.argv.slice(2);
const src = `read_json('${file.replace(/'/g, "''")}', format = 'newline_delimited', maximum_object_size = 67108864, columns = {
  stage: 'VARCHAR', verb: 'VARCHAR', requestURI: 'VARCHAR', auditID: 'VARCHAR', sourceIPs: 'VARCHAR[]',
  "user": 'STRUCT(username VARCHAR)',
  objectRef: 'STRUCT(resource VARCHAR, subresource VARCHAR, namespace VARCHAR, name VARCHAR)',
  responseStatus: 'STRUCT(code INTEGER)',
  annotations: 'MAP(VARCHAR, VARCHAR)',
  requestReceivedTimestamp: 'TIMESTAMPTZ', stageTimestamp: 'TIMESTAMPTZ'
})`;
const decision = `coalesce(annotations['authorization.k8s.io/decision'], CASE WHEN responseStatus.code = 403 THEN 'forbid' ELSE '' END)`;
const SQL = {
  'who-deleted': `SELECT requestReceivedTimestamp AS time, "user".username AS subject, objectRef.name AS name, sourceIPs[1] AS sourceIP, responseStatus.code AS code, auditID
    FROM ${src} WHERE stage = 'ResponseComplete' AND verb = 'delete' AND objectRef.resource = 'pods' AND objectRef.namespace = 'kube-system' ORDER BY time, auditID`,
  'top-denied': `SELECT "user".username AS subject, count(*) AS denied FROM ${src}
    WHERE stage = 'ResponseComplete' AND ${decision} = 'forbid' GROUP BY subject ORDER BY denied DESC, subject LIMIT 10`,
  latency: `SELECT verb, count(*) AS n,
      quantile_disc(ms, 0.5) AS p50, quantile_disc(ms, 0.95) AS p95, quantile_disc(ms, 0.99) AS p99
    FROM (SELECT verb, objectRef, requestURI, (epoch_us(stageTimestamp) - epoch_us(requestReceivedTimestamp)) / 1000 AS ms FROM ${src} WHERE stage = 'ResponseComplete')
    WHERE ms IS NOT NULL AND verb <> 'watch' AND coalesce(objectRef.subresource, '') NOT IN ('exec', 'attach', 'portforward', 'proxy')
      AND NOT (coalesce(objectRef.subresource, '') = 'log' AND requestURI LIKE '%follow=true%')
    GROUP BY verb ORDER BY n DESC, verb`,
};
if (!SQL[question]) throw new Error(`unknown question ${question}: ${Object.keys(SQL).join(', ')}`);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(`SET TimeZone = 'UTC'`);
const r = await c.runAndReadAll(SQL[question]);
for (const row of r.getRowObjectsJson()) process.stdout.write(JSON.stringify(row) + '\n');
