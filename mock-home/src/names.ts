/**
 * Instance names: a DNS label (they become container names and hostnames), checked here first
 * so an obviously bad name never costs a round trip to the spawner.
 */
export const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The same rule for the HTML pattern attribute. Browsers compile it with the `v` flag, where a bare
 * "-" in a class is a syntax error (the pattern would be silently ignored), hence "\-".
 */
export const NAME_PATTERN_HTML = '[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?';

export const NAME_RULE =
  'Use 1 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit.';

/** Why a name is unacceptable, or undefined when it is fine. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'Please pick a name.';
  if (name.length > 63) return `That name is ${name.length} characters long; the limit is 63.`;
  if (/[A-Z]/.test(name) && NAME_RE.test(name.toLowerCase())) {
    return 'Names must be lowercase.';
  }
  return NAME_RE.test(name) ? undefined : `That name is not allowed. ${NAME_RULE}`;
}
