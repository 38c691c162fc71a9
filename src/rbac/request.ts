// Authorization attributes and identity of a normalized record.
import type { AuditRecord, RequestAttributes, UserInfo } from '../types.js';

export function requestAttributes(r: AuditRecord): RequestAttributes {
  return { verb: r.verb, apiGroup: r.apiGroup, resource: r.resource, subresource: r.subresource, namespace: r.namespace, name: r.name, nonResourceURL: r.resource === '' ? r.nonResourceURL : '' };
}

export function userInfo(r: AuditRecord): UserInfo {
  return { user: r.subject, groups: r.groups };
}
