// POSIX shell quoting of rebuilt command lines. Audit data is attacker-controlled: a pod name, a
// label selector or an exec argument from the log must come back as exactly one word, whatever it
// holds, when the line is pasted into sh, bash or zsh.
//
// The rule is POSIX's own (XCU 2.2.2, Single-Quotes): inside '…' every character is literal
// except the closing quote, so a word is written as '…' with each ' turned into '\'' (close,
// escaped quote, reopen). Words made only of characters that no POSIX shell, bash or zsh treats
// specially are left bare, so ordinary lines stay readable (kubectl get pods -n kube-system).
// shell-quote (npm) was considered and not used: its quote() mixes three styles (single, double and
// backslash quoting) chosen by what a word holds; one style is easier to prove right, and the
// round-trip tests through real shells do (test/util/shell.test.ts).

/**
 * Characters that are literal in every position of a word in sh, bash and zsh. `=` is left out of
 * the first position (zsh expands `=cmd` to a path), `~` and `#` everywhere (tilde expansion, comments),
 * `{`, `}`, `[`, `]`, `*`, `?`, `!`, `^` (globs, brace and history expansion).
 */
const BARE = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/;

/**
 * One argument as a shell word: bare when that is safe, else single-quoted.
 * `shellQuote("a b")` is `'a b'`, `shellQuote("it's")` is `'it'\''s'`, `shellQuote("")` is `''`.
 * Any string without NUL round-trips (a NUL cannot be in an argv element at all).
 */
export function shellQuote(word: string): string {
  if (BARE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one command line: each element quoted by `shellQuote`, joined by single spaces. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
