// Client recognition from the User-Agent header, as data. The first matching entry wins.
// `product` is matched against the text before the first '/' (or the whole UA for `contains` rules).
import type { AccessMethod } from '../types.js';

export interface ClientRule {
  id: string;
  /** Exact product names (the UA up to its first '/'). */
  products?: string[];
  /** Prefix of the product name. */
  productPrefix?: string;
  /** Substring anywhere in the UA (checked only when no product rule matched). */
  contains?: string;
  client: string;
  accessMethod: AccessMethod;
}

export const CLIENT_RULES: readonly ClientRule[] = [
  { id: 'kubectl', products: ['kubectl', 'oc'], client: 'kubectl', accessMethod: 'kubectl' },
  { id: 'kubectl-versioned', productPrefix: 'kubectl', client: 'kubectl', accessMethod: 'kubectl' },
  { id: 'browser', products: ['Mozilla'], client: 'browser', accessMethod: 'browser' },
  { id: 'kcm', products: ['kube-controller-manager', 'hyperkube'], client: 'kube-controller-manager', accessMethod: 'controller' },
  { id: 'ccm', products: ['cloud-controller-manager'], client: 'cloud-controller-manager', accessMethod: 'controller' },
  { id: 'scheduler', products: ['kube-scheduler'], client: 'kube-scheduler', accessMethod: 'controller' },
  { id: 'kubelet', products: ['kubelet'], client: 'kubelet', accessMethod: 'controller' },
  { id: 'kube-proxy', products: ['kube-proxy'], client: 'kube-proxy', accessMethod: 'controller' },
  { id: 'apiserver', products: ['kube-apiserver'], client: 'kube-apiserver', accessMethod: 'controller' },
  { id: 'coredns', products: ['coredns'], client: 'coredns', accessMethod: 'controller' },
  { id: 'autoscaler', products: ['cluster-autoscaler'], client: 'cluster-autoscaler', accessMethod: 'controller' },
  { id: 'kubebuilder', products: ['manager'], client: 'operator', accessMethod: 'controller' },
  { id: 'helm', products: ['Helm', 'helm'], client: 'helm', accessMethod: 'automation' },
  { id: 'argocd', productPrefix: 'argocd', client: 'argocd', accessMethod: 'automation' },
  { id: 'flux', products: ['flux', 'kustomize-controller', 'helm-controller', 'source-controller'], client: 'flux', accessMethod: 'automation' },
  { id: 'terraform', productPrefix: 'HashiCorp', client: 'terraform', accessMethod: 'automation' },
  { id: 'terraform-provider', productPrefix: 'terraform', client: 'terraform', accessMethod: 'automation' },
  { id: 'pulumi', productPrefix: 'pulumi', client: 'pulumi', accessMethod: 'automation' },
  { id: 'python', products: ['OpenAPI-Generator', 'Swagger-Codegen'], client: 'python-client', accessMethod: 'automation' },
  { id: 'curl', products: ['curl'], client: 'curl', accessMethod: 'automation' },
  { id: 'wget', products: ['Wget'], client: 'wget', accessMethod: 'automation' },
  { id: 'go-http', products: ['Go-http-client'], client: 'go-http-client', accessMethod: 'automation' },
  { id: 'client-go-default', products: ['Go'], client: 'client-go', accessMethod: 'automation' },
  { id: 'java', productPrefix: 'Java', client: 'java-client', accessMethod: 'automation' },
  { id: 'lens', contains: 'Lens/', client: 'lens', accessMethod: 'browser' },
];

/**
 * client-go user agents end with `/<controller identity>` when a controller uses its own credentials:
 * `kube-controller-manager/v1.28.2 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:deployment-controller`.
 * Products whose UAs name the controller this way.
 */
export const CONTROLLER_HOSTS: ReadonlySet<string> = new Set(['kube-controller-manager', 'hyperkube', 'cloud-controller-manager']);
