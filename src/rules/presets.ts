// `audit investigate --preset NAME`: named filter sets for the usual questions, as data.
import type { FilterOptions } from '../filter/index.js';

export interface Preset {
  description: string;
  filter: FilterOptions;
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  deletions: { description: 'deletions of any object (delete, deletecollection)', filter: { verb: ['delete', 'deletecollection'] } },
  'secret-access': { description: 'any request on secrets', filter: { resource: ['secrets'] } },
  'rbac-changes': { description: 'writes to roles, bindings and cluster roles', filter: { apiGroup: ['rbac.authorization.k8s.io'], verb: ['create', 'update', 'patch', 'delete', 'deletecollection'] } },
  exec: { description: 'exec, attach and port-forward into pods', filter: { resource: ['pods/exec', 'pods/attach', 'pods/portforward'] } },
  denied: { description: 'requests the authorizer denied', filter: { denied: true } },
  anonymous: { description: 'requests by system:anonymous', filter: { user: ['system:anonymous'] } },
  unauthenticated: { description: 'requests audited before any identity was established: failed authentication (401), no user', filter: { subjectKinds: ['Unauthenticated'] } },
  impersonation: { description: 'requests made by impersonating someone', filter: { impersonated: true } },
};
