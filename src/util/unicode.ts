// Well-formed UTF-16. Audit logs are JSON, and JSON can spell a lone surrogate (`"\udc00"`) that no
// UTF-8 file, and so no YAML kubectl reads, can carry (go-yaml rejects the escape and the whole file).

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** Whether the string has no lone UTF-16 surrogate (String.prototype.isWellFormed, Node 20). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** The string with each lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export function toWellFormed(s: string): string {
  return s.replace(LONE_SURROGATES, '\ufffd');
}
