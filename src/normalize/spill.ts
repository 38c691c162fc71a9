// A flat line codec for normalized records, for the runs of an external sort (`investigate --sort`;
// issue 15): the generic codec (src/scale/codec.ts encodeLine) walks each record to prove it is
// plain data and writes every key name; at a million records that was a fifth of the run. Here a
// record is one JSON array of its fields in a fixed order, and is read back into an object built in
// the same key order as normalize's recordFrom (one hidden class for every record).
import type { AuditRecord, Loc } from '../types.js';
import { numIn, numOut, type LineCodec } from '../scale/codec.js';

/** A number or null as JSON has it (null stays null; -0, NaN and ±Infinity as numOut's strings). */
function nOut(x: number | null): number | string | null {
  return x === null ? null : numOut(x);
}

function nIn(x: number | string | null): number | null {
  return x === null ? null : numIn(x);
}

/**
 * One record as one line and back, without its bodies (requestObject and responseObject are not
 * written: a sort holds records without them, see investigate's Listing). decode(encode(r)) has
 * every other field of r with the same value (numbers NaN, ±Infinity and -0 included), in
 * recordFrom's key order. The location and impersonatedExtra are written as the objects they are:
 * JSON keeps their members and member order, and JSON.parse makes a "__proto__" key an own key,
 * as extraFrom (src/normalize/event.ts) made it. Throws (from JSON.parse) on a line it did not write.
 */
export const RECORD_CODEC: LineCodec<AuditRecord> = {
  encode(r: AuditRecord): string {
    return JSON.stringify([
      r.time, nOut(r.timeMs), r.auditID, r.stage, r.level, r.cluster,
      r.subject, r.subjectKind, r.subjectNamespace, r.subjectName, r.groups, r.impersonator, r.principal,
      r.verb, r.apiGroup, r.apiVersion, r.resource, r.subresource, r.namespace, r.name, r.nonResourceURL, r.requestURI,
      nOut(r.code), r.decision, nOut(r.durationMs), r.sourceIP, r.userAgent, r.client, r.clientVersion, r.accessMethod, r.provider,
      r.auditIDReused, r.location, r.impersonatorGroups, r.impersonatedUID, r.impersonatedExtra, nOut(r.responseStartedMs),
    ]);
  },
  decode(line: string): AuditRecord {
    const a = JSON.parse(line) as unknown[];
    return {
      time: a[0] as string,
      timeMs: numIn(a[1] as number | string),
      auditID: a[2] as string,
      stage: a[3] as string,
      level: a[4] as string,
      cluster: a[5] as string,
      subject: a[6] as string,
      subjectKind: a[7] as AuditRecord['subjectKind'],
      subjectNamespace: a[8] as string,
      subjectName: a[9] as string,
      groups: a[10] as string[],
      impersonator: a[11] as string,
      principal: a[12] as string,
      verb: a[13] as string,
      apiGroup: a[14] as string,
      apiVersion: a[15] as string,
      resource: a[16] as string,
      subresource: a[17] as string,
      namespace: a[18] as string,
      name: a[19] as string,
      nonResourceURL: a[20] as string,
      requestURI: a[21] as string,
      code: numIn(a[22] as number | string),
      decision: a[23] as AuditRecord['decision'],
      durationMs: nIn(a[24] as number | string | null),
      sourceIP: a[25] as string,
      userAgent: a[26] as string,
      client: a[27] as string,
      clientVersion: a[28] as string,
      accessMethod: a[29] as AuditRecord['accessMethod'],
      provider: a[30] as string,
      auditIDReused: a[31] as boolean,
      location: a[32] as Loc,
      impersonatorGroups: a[33] as string[],
      impersonatedUID: a[34] as string,
      impersonatedExtra: a[35] as Record<string, string[]>,
      responseStartedMs: nIn(a[36] as number | string | null),
    };
  },
};
