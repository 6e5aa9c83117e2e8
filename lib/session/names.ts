const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/**
 * Why `name` cannot be a session name, or undefined when it can. A session name becomes a directory under
 * $REALM_HOME and, on push, a branch name, so it must be safe as both.
 */
export function nameProblem(name: string): string | undefined {
  if (!NAME.test(name)) {
    return 'use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'
  }
  // The rest of git's branch-name rules (git check-ref-format) that the characters above still allow.
  if (name.includes('..')) return 'it cannot contain ".."'
  if (name.endsWith('.lock')) return 'it cannot end with ".lock"'
  if (name.endsWith('.')) return 'it cannot end with "."'
  if (name === 'HEAD') return '"HEAD" is not a valid branch name'
  return undefined
}
