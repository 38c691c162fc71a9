#!/usr/bin/env node
// Writes fixtures/cloud/*: the logical requests of fixtures/cloud/native.jsonl as each managed
// provider exports them. Shapes follow the real samples in ../shared/corpus (sysdig-aks-audit-log,
// khi-gke) and the providers' documentation:
//   EKS  CloudWatch Logs: `aws logs filter-log-events` output, a subscription payload (gzipped),
//        Logs Insights CSV and JSON exports, `aws logs tail` text and its JSON-lines form.
//   GKE  Cloud Logging LogEntry with an AuditLog protoPayload: `gcloud logging read --format=json`
//        (an array) and a JSON-lines export.
//   AKS  diagnostic records ({records:[…]}, UTF-8 BOM, pretty-printed, log as a string and as an
//        object), Log Analytics AKSAudit rows as JSON, CSV, and a Log Analytics API response.
//
//   node tools/make-cloud-fixtures.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloud');
const events = readFileSync(join(dir, 'native.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ms = (s) => Date.parse(s);
const write = (name, data) => writeFileSync(join(dir, name), data);
const csvCell = (v) => (v === undefined || v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

// ---------- EKS ----------
const stream = 'kube-apiserver-audit-6f1c8f4bc2a1e4d7a3d2b1c0e9f8a7b6';
write('eks-filter-log-events.json', JSON.stringify({ events: events.map((e, i) => ({ logStreamName: stream, timestamp: ms(e.stageTimestamp), message: JSON.stringify(e), ingestionTime: ms(e.stageTimestamp) + 900, eventId: `3778${String(i).padStart(52, '0')}` })), searchedLogStreams: [] }, null, 4));
write('eks-subscription.json.gz', gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '111122223333', logGroup: '/aws/eks/prod/cluster', logStream: stream, subscriptionFilters: ['kaudit'], logEvents: events.map((e, i) => ({ id: `3778${i}`, timestamp: ms(e.stageTimestamp), message: JSON.stringify(e) })) })));
write('eks-insights.csv', '@timestamp,@message\n' + events.map((e) => `${e.stageTimestamp.replace('T', ' ').slice(0, 23)},${csvCell(JSON.stringify(e))}`).join('\n') + '\n');
write('eks-insights.json', JSON.stringify(events.map((e) => ({ '@timestamp': e.stageTimestamp.replace('T', ' ').slice(0, 23), '@message': JSON.stringify(e) })), null, 2));
write('eks-tail.txt', events.map((e) => `${e.stageTimestamp.replace('Z', '+00:00')} ${stream} ${JSON.stringify(e)}`).join('\n') + '\n');
write('eks-tail.jsonl', events.map((e) => JSON.stringify({ timestamp: ms(e.stageTimestamp), message: JSON.stringify(e), logStreamName: stream })).join('\n') + '\n');

// ---------- GKE ----------
const HTTP_TO_RPC = { 200: 0, 201: 0, 101: 0, 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 422: 3, 429: 8, 500: 13, 503: 14 };
function gkeGroup(g) {
  if (g === '') return 'io.k8s.core';
  if (['apps', 'batch', 'autoscaling', 'policy', 'extensions'].includes(g)) return `io.k8s.${g}`;
  if (g.endsWith('.k8s.io')) return `io.k8s.${g.slice(0, -'.k8s.io'.length).split('.').reverse().join('.')}`;
  return g.split('.').reverse().join('.');
}
function toGke(e) {
  const r = e.objectRef;
  const group = r.apiGroup ?? '';
  const method = [gkeGroup(group), r.apiVersion, r.resource, ...(r.subresource ? [r.subresource] : []), e.verb].join('.');
  const path = [group || 'core', r.apiVersion, ...(r.namespace && r.resource !== 'namespaces' ? ['namespaces', r.namespace] : []), r.resource, ...(r.name ? [r.name] : []), ...(r.subresource ? [r.subresource] : [])].join('/');
  const write = !['get', 'list', 'watch'].includes(e.verb);
  const code = e.responseStatus.code;
  return {
    insertId: e.auditID,
    labels: { 'authorization.k8s.io/decision': e.annotations['authorization.k8s.io/decision'], 'authorization.k8s.io/reason': e.annotations['authorization.k8s.io/reason'] },
    logName: `projects/sample-project/logs/cloudaudit.googleapis.com%2F${write ? 'activity' : 'data_access'}`,
    operation: { first: true, id: e.auditID, last: true, producer: 'k8s.io' },
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: { principalEmail: e.user.username },
      authorizationInfo: [{ granted: code !== 403, permission: method, resource: path }],
      methodName: method,
      requestMetadata: { callerIp: e.sourceIPs[0], callerSuppliedUserAgent: e.userAgent },
      resourceName: path,
      serviceName: 'k8s.io',
      status: HTTP_TO_RPC[code] === 0 ? {} : { code: HTTP_TO_RPC[code], message: e.responseStatus.reason ?? '' },
    },
    receiveTimestamp: e.stageTimestamp,
    resource: { labels: { cluster_name: 'sample-cluster', location: 'us-central1-a', project_id: 'sample-project' }, type: 'k8s_cluster' },
    timestamp: e.requestReceivedTimestamp,
  };
}
const gke = events.map(toGke);
write('gke-read.json', JSON.stringify(gke, null, 2));
write('gke.jsonl', gke.map((g) => JSON.stringify(g)).join('\n') + '\n');

// ---------- AKS ----------
const rid = '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1';
write(
  'aks-records.json',
  '\uFEFF' +
    JSON.stringify(
      {
        records: events.map((e, i) => ({
          operationName: 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
          category: i % 2 ? 'kube-audit' : 'kube-audit-admin',
          ccpNamespace: '5eb120ce57f96500011bde2d',
          resourceId: rid,
          properties: { log: i === 0 ? e : JSON.stringify(e) + '\n', stream: 'stdout', pod: 'kube-apiserver-79599f95c7-qn557' },
          time: e.stageTimestamp,
          Cloud: 'AzureCloud',
          Environment: 'prod',
        })),
      },
      null,
      2,
    ),
);
function toLogAnalytics(e, asText) {
  const d = (v) => (v === undefined ? (asText ? '' : null) : asText ? JSON.stringify(v) : v);
  return {
    TenantId: '00000000-0000-0000-0000-000000000001',
    TimeGenerated: e.stageTimestamp.replace(/(\.\d{6})Z$/, '$10Z'),
    Level: e.level,
    AuditId: e.auditID,
    Stage: e.stage,
    RequestUri: e.requestURI,
    Verb: e.verb,
    User: d(e.user),
    SourceIps: d(e.sourceIPs),
    UserAgent: e.userAgent,
    ObjectRef: d(e.objectRef),
    ResponseStatus: d(e.responseStatus),
    RequestObject: d(undefined),
    ResponseObject: d(undefined),
    RequestReceivedTime: e.requestReceivedTimestamp,
    StageReceivedTime: e.stageTimestamp,
    Annotations: d(e.annotations),
    PodName: 'kube-apiserver-79599f95c7-qn557',
    _ResourceId: rid.toLowerCase(),
    Type: 'AKSAudit',
  };
}
write('aks-loganalytics.json', JSON.stringify(events.map((e) => toLogAnalytics(e, false)), null, 2));
const cols = Object.keys(toLogAnalytics(events[0], true));
write('aks-loganalytics.csv', cols.join(',') + '\n' + events.map((e) => cols.map((c) => csvCell(toLogAnalytics(e, true)[c])).join(',')).join('\n') + '\n');
write('aks-loganalytics-api.json', JSON.stringify({ tables: [{ name: 'PrimaryResult', columns: cols.map((c) => ({ name: c, type: ['User', 'SourceIps', 'ObjectRef', 'ResponseStatus', 'RequestObject', 'ResponseObject', 'Annotations'].includes(c) ? 'dynamic' : 'string' })), rows: events.map((e) => cols.map((c) => toLogAnalytics(e, false)[c])) }] }, null, 2));
process.stderr.write(`wrote the cloud fixtures for ${events.length} requests into ${dir}\n`);
