// Bits of a row's (and a command's) flags in the `audit view` report: what the page's "only …"
// toggles and row marks read. Shared by the report (src/analyses/view) and the page (src/view-page).
export const FLAG = {
  /** The authorizer denied the request (decision forbid, as `--denied`). */
  denied: 1,
  /** The request failed otherwise: HTTP status 400 or more, not denied. */
  failed: 2,
  /** A write: verb in WRITE_VERBS (src/rules/verbs.ts). */
  write: 4,
  /** Made by a person (see byPerson in src/analyses/view/index.ts). */
  human: 8,
} as const;
