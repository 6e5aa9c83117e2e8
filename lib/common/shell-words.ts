/**
 * Splits a string into words the way a POSIX shell would (quotes, backslashes, whitespace), without expanding
 * anything: no variables, globs or command substitution. REALM_DOCKER_ARGS is read with this, never eval'd.
 */
export function splitShellWords(input: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < input.length; i++) {
    const c = input[i]
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && i + 1 < input.length && '"\\$`\n'.includes(input[i + 1])) {
        if (input[i + 1] !== '\n') word += input[i + 1]
        i++
      } else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === '\\') {
      if (i + 1 < input.length && input[i + 1] !== '\n') {
        word += input[i + 1]
        inWord = true
      }
      i++
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`)
  if (inWord) words.push(word)
  return words
}
