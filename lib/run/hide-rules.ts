// Which of the project's files the agent never sees: gitignore-like patterns, pure (the walk that applies them is
// hidden.ts). The list is the user's: realm's defaults, then $REALM_HOME/hide, then REALM_HIDE and REALM_SHOW,
// then --hide and --show; the last pattern that matches a path decides, as in a .gitignore. Nothing is read from
// the project: the agent can write there.

/**
 * Files that hold credentials by convention, as secret scanners and the peers of realm treat them. Where a name
 * is also an ordinary file that real work needs, it is left out (and the comment says why); `--hide` adds it.
 */
export const DEFAULT_HIDE: readonly string[] = [
  // dotenv files (the dotenv convention: `.env.local`, `.env.production`, …); the committed templates stay
  '.env',
  '.env.*',
  '!.env.example',
  '!.env.sample',
  '!.env.template',
  '!.env.dist', // Symfony's committed template
  // SSH private keys by their default names (gitleaks' file list and shhgit's signatures: `*_rsa`, `*_dsa`, …)
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  'id_ecdsa_sk',
  'id_ed25519_sk',
  '*_rsa',
  '*_dsa',
  '*_ecdsa',
  '*_ed25519',
  // private keys and key stores: PEM, PKCS#12 (gitleaks' pkcs12-file rule), Java key stores, PuTTY keys,
  // KeePass databases, OpenVPN profiles with their keys inline (gitleaks' file list)
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.pkcs12',
  '*.jks',
  '*.keystore',
  '*.ppk',
  '*.kdbx',
  '*.ovpn',
  // credential files of tools, in a project as in a home directory (gitleaks' file list, gitrob's signatures)
  '.git-credentials',
  '.netrc',
  '_netrc',
  '.pgpass',
  '.htpasswd',
  '.s3cfg',
  '.pypirc', // twine's upload credentials; nothing but an upload reads it
  '.dockercfg',
  '**/.docker/config.json',
  '**/.aws/credentials',
  'credentials.json', // Google's client secrets and service accounts, by the name its quickstarts use
  // Terraform: variable files and state hold secrets in clear (GitHub's Terraform .gitignore says so)
  '*.tfvars',
  '*.tfvars.json',
  '*.tfstate',
  '*.tfstate.*',
  // secrets files by name (Rails' secrets.yml, Streamlit's secrets.toml); not `secrets.*`, which would hide
  // source files such as secrets.py
  'secrets.yml',
  'secrets.yaml',
  'secrets.json',
  'secrets.toml',
  // Not hidden: .npmrc and .yarnrc.yml (they carry the registry settings an install needs, and their tokens are
  // usually ${ENV} references), .envrc (direnv never runs in the container; a risk flag marks changes to it).
]

export interface HideSources {
  /** the user's file ($REALM_HOME/hide): one pattern a line, `!pattern` shows, `#` starts a comment */
  file?: string
  /** REALM_HIDE, REALM_SHOW: patterns separated by commas or spaces */
  envHide?: string
  envShow?: string
  /** --hide, --show, in order */
  hide?: readonly string[]
  show?: readonly string[]
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter(Boolean)
}

/** Every rule in order, `!` marking a show; the last rule that matches a path decides. */
export function hideRules(sources: HideSources): string[] {
  const fileRules = (sources.file ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  return [
    ...DEFAULT_HIDE,
    ...fileRules,
    ...words(sources.envHide),
    ...words(sources.envShow).map((p) => `!${p}`),
    ...(sources.hide ?? []).flatMap(words),
    ...(sources.show ?? []).flatMap(words).map((p) => `!${p}`),
  ]
}

export interface HideRule {
  show: boolean
  /** a pattern with a trailing slash: directories only (hidden whole); any other: files and symlinks */
  directory: boolean
  /** matched against the basename (a pattern without a slash), else against the whole relative path */
  basename: boolean
  /** the pattern without `!`, leading and trailing slashes */
  glob: string
  regex: RegExp
}

/** The regular expression of one glob: `*` and `?` stop at a slash, `**` crosses them, `[...]` is a class. */
export function globSource(glob: string): string {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*' && glob[i + 1] === '*') {
      const slashAfter = glob[i + 2] === '/'
      const atStart = i === 0 || glob[i - 1] === '/'
      if (atStart && slashAfter) {
        out += '(?:.*/)?' // `**/` : any number of directories, none included
        i += 2
      } else {
        out += '.*'
        i += 1
      }
    } else if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end < 0) out += '\\['
      else {
        let body = glob.slice(i + 1, end)
        if (body.startsWith('!')) body = `^${body.slice(1)}`
        out += `[${body.replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += `\\${glob[++i]}`
    } else out += /[.+^${}()|\\]/.test(c) ? `\\${c}` : c
  }
  return out
}

function compile(pattern: string): HideRule | undefined {
  let p = pattern
  const show = p.startsWith('!')
  if (show) p = p.slice(1)
  const directory = p.endsWith('/')
  p = p.replace(/\/+$/, '')
  const basename = !p.includes('/')
  p = p.replace(/^\/+/, '')
  if (!p) return undefined
  // Case-insensitive: a missed secret is worse than a file hidden too many (`ID_RSA`, `Cert.PEM`).
  return { show, directory, basename, glob: p, regex: new RegExp(`^${globSource(p)}$`, 'i') }
}

export interface HideMatcher {
  /** finds, in a NUL-ended list of `./`-prefixed paths, the names a rule may hide (see candidateScan) */
  candidates: RegExp
  /** whether the file or symlink at `rel` (a relative path with `/`) is hidden */
  file(rel: string, name: string): boolean
  /** whether the directory at `rel` is hidden whole */
  directory(rel: string, name: string): boolean
}

/** A matcher for the rules: the last rule of the path's kind that matches it decides. */
export function hideMatcher(patterns: readonly string[]): HideMatcher {
  const rules = patterns.map(compile).filter((r): r is HideRule => r !== undefined)
  const kind = (directory: boolean) => {
    const own = rules.filter((r) => r.directory === directory)
    return (rel: string, name: string): boolean => {
      for (let i = own.length - 1; i >= 0; i--) {
        const rule = own[i]
        if (rule.regex.test(rule.basename ? name : rel)) return !rule.show
      }
      return false
    }
  }
  return { candidates: candidateScan(rules.filter((r) => !r.show)), file: kind(false), directory: kind(true) }
}

/**
 * One expression that finds, in a list of `./`-prefixed paths each ended by a NUL (as `find -print0` writes it),
 * the name of every entry a hiding rule may match (a rule's last part, matched against names alone). A project has
 * tens of thousands of names and nearly none is hidden: one scan of the whole list by the regular expression
 * engine costs a fraction of testing each name on its own.
 */
function candidateScan(hiding: readonly HideRule[]): RegExp {
  const names = hiding.map((rule) => rule.glob.slice(rule.glob.lastIndexOf('/') + 1))
  // `**` in a name part could be anything: every entry is then a candidate.
  const alternatives = names.some((n) => n.includes('**')) ? ['[^\\0/]+'] : names.map((n) => globSource(n).replaceAll('[^/]', '[^\\0/]'))
  return new RegExp(`[/\\0](?:${alternatives.join('|') || '(?!)'})(?=\\0)`, 'gi')
}
