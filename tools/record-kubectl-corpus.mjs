#!/usr/bin/env node
// Records the kubectl corpus: one morning of a small team on one cluster, played with the real
// kubectl (two versions) against the stub API server (tools/stub-apiserver.mjs), and written as the
// audit log that cluster's API server would have kept, with the truth beside it.
//
//   node tools/record-kubectl-corpus.mjs            record, then build the log and the truth
//   node tools/record-kubectl-corpus.mjs --build    only rebuild the log and truth from the recording
//
// Output (fixtures/kubectl/corpus/):
// - recording.json  every invocation as typed (the shell line, its argv), the kubectl binary, and each
//                   HTTP request kubectl sent with its timing (receipt, response start, end), as recorded;
// - audit.jsonl     the audit events (audit.k8s.io/v1, Metadata level, stages ResponseStarted for
//                   streaming calls and ResponseComplete), in the order an API server writes them (by
//                   stage time), with kubelets, controllers, the scheduler, a helm release and a
//                   k9s-like browser running in the background (generated: tools/kubectl-corpus-events.mjs);
// - truth.json      per invocation: user, kubectl version, the typed line and argv, the line the log
//                   allows (`expected`: typed, with what leaves no trace in the API calls written as the
//                   tool writes it), why the two differ, and the auditIDs of its calls.
//
// Users: alice and bob share the office NAT (203.0.113.10), carol and dave come over a VPN
// (198.51.100.7, 40 ms round trip); alice and carol run kubectl 1.33, bob and dave kubectl 1.28.
// Each user keeps a HOME (kubectl's discovery cache: cold for their first command, then warm).
import { mkdir, writeFile, readFile, mkdtemp, rm } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startStub, runKubectl } from './stub-apiserver.mjs';
import { buildCorpus } from './kubectl-corpus-events.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'fixtures', 'kubectl', 'corpus');
const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';

export const USERS = {
  alice: { username: 'alice@example.com', groups: ['sre', 'system:authenticated'], kubectl: '1.33', sourceIP: '203.0.113.10', rttMs: 2 },
  bob: { username: 'bob@example.com', groups: ['developers', 'system:authenticated'], kubectl: '1.28', sourceIP: '203.0.113.10', rttMs: 2 },
  carol: { username: 'carol@example.com', groups: ['developers', 'system:authenticated'], kubectl: '1.33', sourceIP: '198.51.100.7', rttMs: 40 },
  dave: { username: 'dave@example.com', groups: ['platform-admins', 'system:authenticated'], kubectl: '1.28', sourceIP: '198.51.100.7', rttMs: 40 },
};

/**
 * The invocations, in the order of the morning. `at`: seconds after 09:00:00 (or `next: true`: right
 * after the same user's previous command ends, as a shell script runs them); `line`: what was typed
 * (split by sh); `expected`: the line the audit log allows, when it differs from the typed one, and
 * `why` it differs. `tty`: run in a terminal (exec -it); `stop`: Ctrl-C after that many ms
 * (port-forward); `session`: seconds the streaming call lasts in the morning (the recording streams
 * briefly); `detached`: run in another terminal (the user's next command does not wait for it);
 * `pause: [n, s]`: the person spends s seconds inside the command before its request n (an editor).
 */
export const INVOCATIONS = [
  // alice (1.33) investigates the staging web pods.
  { id: 'a01', user: 'alice', at: 30, line: 'kubectl get pods -n staging' },
  { id: 'a02', user: 'alice', at: 41, line: 'kubectl get pods -A -o wide', expected: 'kubectl get pods -A', why: 'the output format (-o) is not in the API calls' },
  { id: 'a03', user: 'alice', at: 66, line: 'kubectl get pod web-0 -n staging -o yaml', expected: 'kubectl get pod web-0 -n staging', why: 'the output format (-o) is not in the API calls' },
  { id: 'a04', user: 'alice', at: 80, line: 'kubectl get pods -n staging -l app=web' },
  { id: 'a05', user: 'alice', at: 95, line: 'kubectl get pods -A --field-selector status.phase=Running' },
  { id: 'a06', user: 'alice', at: 121, line: 'kubectl get pods,services -n staging' },
  { id: 'a07', user: 'alice', at: 140, line: 'kubectl get all -n staging' },
  { id: 'a27', user: 'alice', at: 150.12, line: 'kubectl get services -n staging' },
  { id: 'a08', user: 'alice', at: 170, line: 'kubectl describe pod web-0 -n staging' },
  { id: 'a09', user: 'alice', at: 204, line: 'kubectl logs web-0 -n staging', expected: 'kubectl logs web-0 -n staging -c app', why: 'kubectl names the container it chose (container=app) whether or not -c was typed' },
  { id: 'a10', user: 'alice', at: 230, line: 'kubectl logs web-0 -n staging -c app -f', session: 150 },
  { id: 'a11', user: 'alice', at: 400, line: `kubectl exec -it web-0 -n staging -c app -- sh -c 'cd /srv/app && tail -n 50 log/app.log | grep -i error'`, tty: true, session: 95 },
  { id: 'a12', user: 'alice', at: 520, line: 'kubectl exec web-0 -n staging -c app -- ls -la /tmp' },
  { id: 'a13', user: 'alice', at: 541, line: `kubectl exec web-0 -n staging -c app -- sh -c 'echo "$HOSTNAME" > /tmp/x; cat /tmp/x'` },
  { id: 'a14', user: 'alice', at: 575, line: 'kubectl exec -i web-0 -n staging -c app -- sh', session: 40 },
  { id: 'a15', user: 'alice', at: 640, line: 'kubectl cp staging/web-0:/etc/hosts ./hosts -c app', expected: 'kubectl cp staging/web-0:/etc/hosts … -c app', why: 'the local path is not in the API calls' },
  { id: 'a16', user: 'alice', at: 665, line: 'kubectl cp ./app.conf staging/web-0:/tmp/app.conf -c app', expected: 'kubectl cp … staging/web-0:/tmp/app.conf -c app', why: 'the local path is not in the API calls' },
  { id: 'a17', user: 'alice', at: 700, line: 'kubectl port-forward pod/web-0 -n staging 8080:80', expected: 'kubectl port-forward pod/web-0 -n staging …', why: 'the ports travel inside the stream, not in the API calls', stop: 1500, session: 300, detached: true },
  { id: 'a18', user: 'alice', at: 760, line: 'kubectl attach -it web-0 -n staging -c app', tty: true, session: 30 },
  { id: 'a19', user: 'alice', at: 830, line: 'kubectl debug -it web-0 -n staging --image=busybox:1.36 --target=app', expected: 'kubectl debug -it web-0 -n staging …', why: 'the image and target are in the request body', tty: true, session: 60 },
  { id: 'a20', user: 'alice', at: 1150, line: 'kubectl top pods -n staging' },
  { id: 'a21', user: 'alice', at: 1162, line: 'kubectl top nodes' },
  { id: 'a22', user: 'alice', at: 1180, line: 'kubectl auth can-i delete pods -n staging', expected: 'kubectl auth can-i …', why: 'the question asked is in the request body' },
  { id: 'a23', user: 'alice', at: 1195, line: 'kubectl auth can-i --list -n staging', expected: 'kubectl auth can-i --list …', why: 'the namespace asked about is in the request body' },
  { id: 'a24', user: 'alice', at: 1204, line: 'kubectl auth whoami' },
  { id: 'a25', user: 'alice', at: 1230, line: 'kubectl config get-contexts' },
  { id: 'a26', user: 'alice', at: 1236, line: 'kubectl config use-context stub' },
  { id: 'a28', user: 'alice', at: 1245, line: 'kubectl get pods', expected: 'kubectl get pods -n default', why: "the context's namespace and -n leave the same trace" },
  { id: 'a29', user: 'alice', at: 1262, line: 'kubectl edit deployment web -n staging', env: { KUBE_EDITOR: 'true' }, pause: [3, 20] },

  // bob (1.28) deploys, from the same office NAT, while alice works.
  { id: 'b01', user: 'bob', at: 45, line: 'kubectl apply -f api.yaml', expected: 'kubectl apply -f …', why: 'the file applied is not in the API calls' },
  { id: 'b02', user: 'bob', at: 150, line: 'kubectl apply -f api-v2.yaml', expected: 'kubectl apply -f …', why: 'the file applied is not in the API calls' },
  { id: 'b03', user: 'bob', at: 260, line: 'kubectl apply --server-side -f api-v2.yaml', expected: 'kubectl apply --server-side -f …', why: 'the file applied is not in the API calls' },
  { id: 'b04', user: 'bob', at: 300, line: 'kubectl apply -k overlay/', expected: 'kubectl apply -f …', why: 'a kustomization and a file make the same calls; the source is not in them' },
  { id: 'b05', user: 'bob', at: 340, line: 'kubectl create -f job.yaml', expected: 'kubectl create job nightly-report -n staging …', why: 'create -f and create job make the same call; the spec is in the request body' },
  { id: 'b06', user: 'bob', at: 380, line: 'kubectl create deployment web2 -n staging --image=nginx:1.27', expected: 'kubectl create deployment web2 -n staging …', why: 'the image is in the request body' },
  { id: 'b07', user: 'bob', at: 410, line: 'kubectl create secret generic db-creds -n staging --from-literal=password=s3cr3t', expected: 'kubectl create secret … db-creds -n staging …', why: 'the secret type and data are in the request body' },
  { id: 'b08', user: 'bob', at: 433, line: 'kubectl create secret tls web-tls -n staging --cert=tls.crt --key=tls.key', expected: 'kubectl create secret … web-tls -n staging …', why: 'the secret type and data are in the request body' },
  { id: 'b09', user: 'bob', at: 460, line: 'kubectl create configmap app-config -n staging --from-file=config/', expected: 'kubectl create configmap app-config -n staging …', why: 'the data is in the request body' },
  { id: 'b10', user: 'bob', at: 492, line: 'kubectl create role pod-reader -n staging --verb=get,list --resource=pods', expected: 'kubectl create role pod-reader -n staging …', why: 'the rules are in the request body' },
  { id: 'b11', user: 'bob', at: 515, line: 'kubectl create rolebinding read-pods -n staging --role=pod-reader --user=carol@example.com', expected: 'kubectl create rolebinding read-pods -n staging …', why: 'the role and subjects are in the request body' },
  { id: 'b12', user: 'bob', at: 540, line: 'kubectl create serviceaccount deployer -n staging' },
  { id: 'b13', user: 'bob', at: 552, line: 'kubectl create token deployer -n staging' },
  { id: 'b14', user: 'bob', at: 600, line: 'kubectl scale deployment web -n staging --replicas=3', expected: 'kubectl scale deployment web -n staging --replicas=…', why: 'the replica count is in the request body' },
  { id: 'b15', user: 'bob', at: 615, line: 'kubectl rollout status deployment web -n staging' },
  { id: 'b16', user: 'bob', at: 650, line: 'kubectl rollout restart deployment web -n staging', expected: 'kubectl rollout … deployment web -n staging', why: 'restart, pause and resume make the same patch (fieldManager=kubectl-rollout); the body says which' },
  { id: 'b17', user: 'bob', at: 690, line: 'kubectl rollout history deployment web -n staging' },
  { id: 'b18', user: 'bob', at: 735, line: 'kubectl rollout undo deployment web -n staging' },
  { id: 'b19', user: 'bob', at: 770, line: 'kubectl set image deployment web -n staging app=nginx:1.28', expected: 'kubectl set … deployment web -n staging …', why: 'set image, env and resources make the same patch (fieldManager=kubectl-set); the body says which' },
  { id: 'b20', user: 'bob', at: 800, line: 'kubectl label pod web-0 -n staging tier=frontend', expected: 'kubectl label pod web-0 -n staging …', why: 'the labels are in the request body' },
  { id: 'b21', user: 'bob', at: 818, line: 'kubectl annotate deployment web -n staging owner=bob', expected: 'kubectl annotate deployment web -n staging …', why: 'the annotations are in the request body' },
  { id: 'b22', user: 'bob', at: 850, line: 'kubectl expose deployment web -n staging --port=80 --target-port=8080', expected: 'kubectl expose deployment web -n staging …', why: 'the ports are in the request body' },
  { id: 'b23', user: 'bob', at: 880, line: 'kubectl run tmp -n staging --image=busybox:1.36 --restart=Never -- sleep 3600', expected: 'kubectl run tmp -n staging …', why: 'the image and command are in the request body' },
  { id: 'b24', user: 'bob', at: 915, line: 'kubectl edit deployment web -n staging', env: { KUBE_EDITOR: 'sed -i s/replicas:\\ 3/replicas:\\ 4/' }, pause: [3, 30] },
  { id: 'b25', user: 'bob', at: 950, line: `kubectl patch deployment web -n staging -p '{"spec":{"replicas":2}}'`, expected: 'kubectl patch deployment web -n staging …', why: 'the patch is in the request body' },
  { id: 'b26', user: 'bob', at: 985, line: 'kubectl replace -f web-svc.yaml', expected: 'kubectl replace -f …', why: 'the file is not in the API calls' },
  // A script: back to back, one process after the other.
  { id: 'b27', user: 'bob', at: 1030, line: 'kubectl delete pod tmp -n staging' },
  { id: 'b28', user: 'bob', next: true, line: 'kubectl delete pods -n staging -l app=batch' },
  { id: 'b29', user: 'bob', next: true, line: 'kubectl delete -f job.yaml', expected: 'kubectl delete job nightly-report -n staging', why: 'delete -f FILE and delete KIND NAME make the same calls' },
  { id: 'b30', user: 'bob', next: true, line: 'kubectl get pods -n staging' },
  { id: 'b31', user: 'bob', next: true, line: 'kubectl get deployments -n staging' },
  { id: 'b32', user: 'bob', at: 1100, line: 'kubectl delete deployment web2 -n staging --cascade=orphan', expected: 'kubectl delete deployment web2 -n staging', why: 'the cascade policy is in the request body' },
  { id: 'b33', user: 'bob', at: 1125, line: 'kubectl delete configmaps -n staging --all' },
  // kubectl 1.28 streams over SPDY.
  { id: 'b35', user: 'bob', at: 1150, line: 'kubectl exec -it web-1 -n staging -c app -- bash', tty: true, session: 35 },
  { id: 'b36', user: 'bob', at: 1200, line: 'kubectl logs web-1 -n staging -c app -f --tail=20', session: 60 },
  { id: 'b37', user: 'bob', at: 1280, line: 'kubectl cp staging/web-1:/var/log/app.log ./app.log -c app', expected: 'kubectl cp staging/web-1:/var/log/app.log … -c app', why: 'the local path is not in the API calls' },
  { id: 'b34', user: 'bob', at: 1300, line: 'kubectl delete pod web-1 -n staging --grace-period=0 --force', expected: 'kubectl delete pod web-1 -n staging', why: 'the grace period is in the request body' },

  // carol (1.33, over the VPN): watches deployments in one terminal, works in another.
  { id: 'c01', user: 'carol', at: 75, line: 'kubectl get deployments -n staging' },
  { id: 'c02', user: 'carol', at: 90, line: 'kubectl get deployments -n staging -w', session: 420, detached: true },
  { id: 'c03', user: 'carol', at: 112, line: 'kubectl get nodes' },
  { id: 'c04', user: 'carol', at: 131, line: 'kubectl describe node node-1' },
  { id: 'c05', user: 'carol', at: 160, line: 'kubectl describe deployment web -n staging' },
  { id: 'c06', user: 'carol', at: 200, line: 'kubectl get events -n staging --sort-by=.lastTimestamp', expected: 'kubectl get events -n staging', why: 'sorting is done by kubectl, not in the API calls' },
  { id: 'c07', user: 'carol', at: 225, line: `kubectl get secret db -n staging -o jsonpath='{.data.password}'`, expected: 'kubectl get secret db -n staging', why: 'the output format (-o) is not in the API calls' },
  { id: 'c08', user: 'carol', at: 250, line: 'kubectl get pods -n staging -o json', expected: 'kubectl get pods -n staging', why: 'the output format (-o) is not in the API calls' },
  { id: 'c09', user: 'carol', at: 270, line: 'kubectl get configmap settings -n staging -o yaml', expected: 'kubectl get configmap settings -n staging', why: 'the output format (-o) is not in the API calls' },
  { id: 'c10', user: 'carol', at: 310, line: `kubectl exec web-1 -n staging -c app -- grep -r 'grüße' /srv` },
  { id: 'c11', user: 'carol', at: 333, line: `kubectl exec web-1 -n staging -c app -- sh -c 'printf "%s|\\n" "$1"' sh ''` },
  { id: 'c12', user: 'carol', at: 352, line: `kubectl exec web-1 -n staging -c app -- python3 -c 'import os
print(os.environ.get("PATH"))'` },
  { id: 'c13', user: 'carol', at: 390, line: 'kubectl logs web-1 -n staging -c app --previous' },
  { id: 'c14', user: 'carol', at: 420, line: 'kubectl logs web-0 -n staging -c app --tail=100' },
  { id: 'c15', user: 'carol', at: 450, line: 'kubectl get namespaces' },
  { id: 'c16', user: 'carol', at: 470, line: 'kubectl config view --minify' },
  { id: 'c17', user: 'carol', at: 560, line: 'kubectl get pods -n staging -l app=web -w', session: 200 },
  { id: 'c18', user: 'carol', at: 800, line: 'kubectl get rolebindings -n staging' },
  { id: 'c19', user: 'carol', at: 815, line: `kubectl get pods -n staging -l 'app in (web,batch),tier!=db'` },
  { id: 'c20', user: 'carol', at: 900, line: 'kubectl get pods,configmaps -n staging' },
  { id: 'c21', user: 'carol', at: 920, line: 'kubectl get po -n staging', expected: 'kubectl get pods -n staging', why: 'a short name and the full name make the same call' },
  { id: 'c22', user: 'carol', at: 940, line: 'kubectl get pods -n staging -o name', expected: 'kubectl get pods -n staging', why: 'the output format (-o) is not in the API calls' },
  { id: 'c23', user: 'carol', at: 960, line: 'kubectl get pods -n staging -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName', expected: 'kubectl get pods -n staging', why: 'the output format (-o) is not in the API calls' },

  // dave (1.28, the VPN, an admin): node maintenance.
  { id: 'd01', user: 'dave', at: 60, line: 'kubectl api-resources' },
  { id: 'd02', user: 'dave', at: 85, line: 'kubectl api-versions' },
  { id: 'd03', user: 'dave', at: 100, line: 'kubectl version' },
  { id: 'd04', user: 'dave', at: 600, line: 'kubectl cordon node-2', expected: 'kubectl cordon/uncordon node-2', why: 'cordon and uncordon make the same patch; the body says which' },
  { id: 'd05', user: 'dave', at: 640, line: 'kubectl drain node-2 --ignore-daemonsets --delete-emptydir-data --force', expected: 'kubectl drain node-2 …', why: 'the drain options change only what kubectl decides to evict' },
  { id: 'd06', user: 'dave', at: 760, line: 'kubectl uncordon node-2', expected: 'kubectl cordon/uncordon node-2', why: 'cordon and uncordon make the same patch; the body says which' },
  { id: 'd07', user: 'dave', at: 790, line: 'kubectl taint nodes node-1 dedicated=gpu:NoSchedule', expected: 'kubectl taint nodes node-1 …', why: 'the taints are in the request body' },
  { id: 'd08', user: 'dave', at: 820, line: 'kubectl taint nodes node-1 dedicated:NoSchedule-', expected: 'kubectl taint nodes node-1 …', why: 'the taints are in the request body' },
  { id: 'd09', user: 'dave', at: 850, line: 'kubectl get nodes -l node-role.kubernetes.io/worker' },
  { id: 'd10', user: 'dave', at: 880, line: 'kubectl create namespace team-x' },
  { id: 'd11', user: 'dave', at: 905, line: 'kubectl delete namespace old-team' },
  { id: 'd12', user: 'dave', at: 940, line: 'kubectl get clusterrolebindings' },
  { id: 'd13', user: 'dave', at: 960, line: 'kubectl describe pod web-0 -n staging' },
  { id: 'd14', user: 'dave', at: 1000, line: 'kubectl get pods -A -w', session: 180 },
  // A script over the VPN.
  { id: 'd15', user: 'dave', at: 1200, line: 'kubectl get nodes' },
  { id: 'd16', user: 'dave', next: true, line: 'kubectl get pods -A' },
  { id: 'd17', user: 'dave', next: true, line: 'kubectl get namespaces' },
  { id: 'd18', user: 'dave', at: 1250, line: 'kubectl port-forward pod/web-0 -n staging 9090:9090', expected: 'kubectl port-forward pod/web-0 -n staging …', why: 'the ports travel inside the stream, not in the API calls', stop: 1500, session: 120 },
];

const FILES = {
  'api.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: staging}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: app, image: "registry.example.com/api:1.2.3"}]
`,
  'job.yaml': `apiVersion: batch/v1
kind: Job
metadata: {name: nightly-report, namespace: staging}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: report, image: "registry.example.com/report:2.0"}]
`,
  'web-svc.yaml': `apiVersion: v1
kind: Service
metadata: {name: web, namespace: staging}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
  'overlay/kustomization.yaml': `namespace: staging
resources: [cm.yaml]
`,
  'overlay/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: overlay-settings}
data: {mode: blue}
`,
  'config/app.properties': 'mode=blue\n',
  'config/log.properties': 'level=info\n',
  'app.conf': 'listen 8080\n',
};
const API_V2 = FILES['api.yaml'].replace('replicas: 1', 'replicas: 2').replace('1.2.3', '1.2.4');

function seed(stub) {
  const meta = (name, namespace, extra = {}) => ({ name, ...(namespace ? { namespace } : {}), uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-03-05T07:00:00Z', ...extra });
  for (const ns of ['default', 'kube-system', 'kube-node-lease', 'staging', 'old-team']) stub.put('', 'namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: meta(ns), status: { phase: 'Active' } });
  for (const n of ['node-1', 'node-2']) {
    stub.put('', 'nodes', '', { apiVersion: 'v1', kind: 'Node', metadata: meta(n, '', { labels: { 'kubernetes.io/hostname': n, 'node-role.kubernetes.io/worker': '' } }), spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: n === 'node-1' ? '10.0.1.11' : '10.0.1.12' }] } });
    stub.put('coordination.k8s.io', 'leases', 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta(n, 'kube-node-lease'), spec: { holderIdentity: n } });
  }
  // web-0's container keeps a terminal open (stdin, tty), as one started with `kubectl run -it` does: attach -it gets a TTY.
  const pod = (name, node, labels, owner) => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta(name, owner?.ns ?? 'staging', { labels, ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true }] } : {}) }), spec: { containers: [{ name: 'app', image: 'nginx:1.27', ...(name === 'web-0' ? { stdin: true, tty: true } : {}) }], nodeName: node, securityContext: {}, restartPolicy: 'Always' }, status: { phase: 'Running' } });
  stub.put('', 'pods', 'staging', pod('web-0', 'node-1', { app: 'web' }));
  stub.put('', 'pods', 'staging', pod('web-1', 'node-1', { app: 'web' }));
  stub.put('', 'pods', 'staging', pod('batch-1', 'node-1', { app: 'batch' }));
  stub.put('', 'pods', 'staging', pod('batch-2', 'node-1', { app: 'batch' }));
  stub.put('', 'pods', 'staging', pod('cache-0', 'node-2', { app: 'cache' }));
  stub.put('', 'pods', 'kube-system', pod('node-exporter-x7k2p', 'node-2', { app: 'node-exporter' }, { ns: 'kube-system', apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'node-exporter' }));
  stub.put('apps', 'daemonsets', 'kube-system', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('node-exporter', 'kube-system'), spec: { selector: { matchLabels: { app: 'node-exporter' } }, template: { metadata: { labels: { app: 'node-exporter' } }, spec: { containers: [{ name: 'exporter', image: 'prom/node-exporter:1.8' }] } } } });
  const template = (image) => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image }] } });
  stub.put('apps', 'deployments', 'staging', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('web', 'staging', { generation: 2, annotations: { 'deployment.kubernetes.io/revision': '2' } }), spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template('nginx:1.27') }, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 } });
  for (const [rev, hash, image] of [['1', '6d4cf56db6', 'nginx:1.26'], ['2', '7c9f8d7b5', 'nginx:1.27']]) {
    stub.put('apps', 'replicasets', 'staging', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta(`web-${hash}`, 'staging', { labels: { app: 'web', 'pod-template-hash': hash }, annotations: { 'deployment.kubernetes.io/revision': rev }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }] }), spec: { replicas: rev === '2' ? 2 : 0, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } }, template: { ...template(image), metadata: { labels: { app: 'web', 'pod-template-hash': hash } } } }, status: { replicas: rev === '2' ? 2 : 0 } });
  }
  stub.put('', 'secrets', 'staging', { apiVersion: 'v1', kind: 'Secret', metadata: meta('db', 'staging'), type: 'Opaque', data: { password: 'c2VjcmV0' } });
  stub.put('', 'configmaps', 'staging', { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('settings', 'staging'), data: { mode: 'green' } });
  stub.put('', 'events', 'staging', { apiVersion: 'v1', kind: 'Event', metadata: meta('web-0.17f', 'staging'), involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'staging', uid: 'uid-web-0' }, reason: 'Started', message: 'Started container app', type: 'Normal', lastTimestamp: '2026-03-05T07:00:00Z' });
  stub.put('rbac.authorization.k8s.io', 'clusterrolebindings', '', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta('platform-admins'), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'platform-admins', apiGroup: 'rbac.authorization.k8s.io' }] });
}

/** Splits a shell line into argv with a real sh (the same splitting the user's shell did). */
export function shellWords(line) {
  return execFileSync('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8' }).split('\0').slice(0, -1);
}

/** Server-side latency of the stub per request: 4 to 30 ms, deterministic by request number. */
function delayMs(entry) {
  return 4 + ((entry.seq * 7919) % 27);
}

async function record() {
  await mkdir(out, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'kaudit-corpus-'));
  for (const [name, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(work, name)), { recursive: true });
    await writeFile(join(work, name), text);
  }
  await writeFile(join(work, 'api-v2.yaml'), API_V2);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, 'tls.key'), '-out', join(work, 'tls.crt'), '-days', '3650', '-subj', '/CN=web.staging.svc'], { stdio: 'ignore' });
  const homes = {};
  for (const u of Object.keys(USERS)) homes[u] = await mkdtemp(join(tmpdir(), `kaudit-home-${u}-`));
  const stub = await startStub({ aggregatedDiscovery: true, delayMs, streamMs: 150 });
  seed(stub);
  const recorded = [];
  // Record in the order of the morning; `next` invocations follow their predecessor at once.
  const order = [...INVOCATIONS].map((v, i) => ({ v, i }));
  const atOf = new Map();
  const last = {};
  for (const v of INVOCATIONS) {
    atOf.set(v.id, v.at ?? atOf.get(last[v.user]));
    last[v.user] = v.id;
  }
  order.sort((a, b) => atOf.get(a.v.id) - atOf.get(b.v.id) || a.i - b.i);
  for (const { v } of order) {
    const argv = shellWords(v.line);
    if (argv[0] !== 'kubectl') throw new Error(`${v.id}: a line starts with kubectl`);
    const u = USERS[v.user];
    const bin = join(KUBECTL_DIR, `kubectl.${u.kubectl}`);
    const first = stub.requests.length;
    const spawnedAt = performance.timeOrigin + performance.now();
    const res = await runKubectl(stub, argv.slice(1), { kubectl: bin, home: homes[v.user], tty: !!v.tty, stopAfterMs: v.stop, env: v.env ?? {}, cwd: work, timeoutMs: 20_000 });
    const exitedAt = performance.timeOrigin + performance.now();
    if (v.id === 'b01') await writeFile(join(work, 'api.yaml'), API_V2);
    const requests = stub.requests.slice(first).map((q) => ({
      method: q.method,
      path: q.path,
      query: q.query,
      userAgent: q.userAgent,
      code: q.code ?? 0,
      ...(q.objectName ? { objectName: q.objectName } : {}),
      ...(q.upgrade ? { upgrade: q.upgrade } : {}),
      ...(q.refusedUpgrade ? { refusedUpgrade: true } : {}),
      ...(q.streamed ? { streamed: true } : {}),
      receivedMs: round(q.receivedAt - spawnedAt),
      startedMs: q.startedAt ? round(q.startedAt - spawnedAt) : null,
      endedMs: q.endedAt ? round(q.endedAt - spawnedAt) : round(exitedAt - spawnedAt),
    }));
    recorded.push({ id: v.id, user: v.user, kubectl: bin.split('/').pop(), line: v.line, argv, exitCode: res.code, stderr: res.stderr.trim().split('\n').slice(-1)[0] ?? '', durationMs: round(exitedAt - spawnedAt), requests });
    process.stderr.write(`${v.id} ${v.line.slice(0, 70)}: exit ${res.code}, ${requests.length} calls${res.code ? ` (${res.stderr.trim().split('\n').pop()?.slice(0, 90)})` : ''}\n`);
  }
  await stub.close();
  for (const h of Object.values(homes)) await rm(h, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  const byId = new Map(recorded.map((r) => [r.id, r]));
  const inOrder = INVOCATIONS.map((v) => byId.get(v.id));
  await writeFile(join(out, 'recording.json'), JSON.stringify({ recordedWith: [...new Set(recorded.map((r) => r.kubectl))], recordedAgainst: 'tools/stub-apiserver.mjs (aggregated discovery)', invocations: inOrder }, null, 1) + '\n');
}

function round(ms) {
  return Math.round(ms * 1000) / 1000;
}

async function build() {
  const recording = JSON.parse(await readFile(join(out, 'recording.json'), 'utf8'));
  const { events, truth } = buildCorpus(recording, { users: USERS, invocations: INVOCATIONS, shellWords });
  await writeFile(join(out, 'audit.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(join(out, 'truth.json'), JSON.stringify(truth, null, 1) + '\n');
  process.stderr.write(`wrote ${out}: ${truth.invocations.length} invocations, ${events.length} events\n`);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes('--build')) await record();
  await build();
}
