// Which changed paths can run code by themselves, or steer the user's own agent: the files a tool loads without
// being asked (on `cd`, on opening the project in an editor or IDE, on install or build, when a test runner or
// an interpreter starts, on a git command, in CI, when the user's agent starts). Judged from the path alone;
// manifest-risk.ts judges the few files whose risk depends on which part of them changed.
//
// A missed flag is worse than an extra one, but ordinary source files are never flagged: a name is listed here
// only when the tool that reads it is known to act on it by itself. Deliberately not flagged:
// - dependency lists and lockfiles (package-lock.json, go.sum, Cargo.lock, requirements.txt): a new dependency
//   is a supply-chain question for the review, not a file that runs by itself;
// - version pins that only pick an official release (.nvmrc, .node-version, .python-version, .ruby-version, go.mod's
//   `toolchain`, checked against Go's checksum database); .tool-versions and rust-toolchain are flagged, since
//   mise/asdf plugins and rustup's `path` can name any program;
// - Go: `//go:generate` and cgo directives live in source and run only on an explicit `go generate`/build;
// - Dockerfiles: they run in a container build, not on the host (compose files, which mount host paths, are
//   flagged).
//
// Paths are matched in lower case: on macOS and Windows `.VSCode/tasks.json` *is* `.vscode/tasks.json`. Matching
// is a handful of map lookups per path (its name, its name with its parent, its extensions, each of its
// directories) and four anchored regular expressions on its name: a patch of 10,000 files costs 10,000 of those
// (3 ms), not 10,000 times the number of rules.

/** The reasons a flag gives, grouped by class, in the order the review lists them. */
export const WHY = {
  agentInstructions: 'agent instructions',
  agentSettings: 'agent settings',
  gitHook: 'git hook',
  gitAttributes: 'git attributes (filters, diff drivers)',
  submodules: 'submodules',
  gitConfig: 'git LFS config',
  editor: 'editor tasks/settings',
  ideRun: 'IDE run configuration',
  devContainer: 'dev container commands',
  direnv: 'direnv script',
  envManager: 'environment manager (runs on cd)',
  envFile: 'environment file (tools load it)',
  toolchain: 'toolchain or wrapper (downloads and runs it)',
  packageManager: 'package manager config (can run code on install)',
  manifestScripts: 'package.json scripts',
  manifestHooks: 'package.json hooks/tool config',
  composerScripts: 'composer.json scripts/plugins',
  pyproject: 'pyproject.toml build/tool config',
  cargo: 'Cargo.toml build settings',
  build: 'build script',
  interpreter: 'interpreter startup file',
  testRunner: 'test runner config/hook',
  toolConfig: 'tool config (loads plugins/code)',
  makefile: 'Makefile',
  taskRunner: 'task runner',
  ciWorkflow: 'CI workflow',
  ci: 'CI definition',
  compose: 'compose file (host mounts, privileges)',
  webServer: 'web server config (runs on request)',
} as const
export type Why = (typeof WHY)[keyof typeof WHY]

/**
 * The version of these rules (and manifest-risk.ts's), stored with each patch's summary: a summary stored under
 * other rules is computed afresh, so a patch saved by an older realm gets today's flags. Bump it with any change
 * that can flag a path the rules did not flag before.
 */
export const RISK_RULES_VERSION = 2

/** The order the review lists the flags in: by class, as WHY lists them. */
export const WHY_ORDER: ReadonlyMap<string, number> = new Map(Object.values(WHY).map((why, i) => [why, i]))

const W = WHY

/** `names` each with every extension in `exts` (`lefthook` × `.yml`, `.yaml` → `lefthook.yml`, `lefthook.yaml`). */
const withExts = (names: string[], exts: string[]) => names.flatMap((n) => exts.map((e) => n + e))
const JS = ['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts']
const YAML = ['.yml', '.yaml']

/** File names that are risky in any directory (tools look for them in every package of a monorepo). */
const NAMES: Array<[Why, string[]]> = [
  [
    W.agentInstructions,
    [
      'claude.md',
      'claude.local.md',
      'agents.md',
      'agent.md',
      'agents.override.md',
      'gemini.md',
      'qwen.md',
      'crush.md',
      '.cursorrules',
      '.windsurfrules',
      '.clinerules',
      '.roorules',
      '.roomodes',
      '.goosehints',
      '.rules',
      'copilot-instructions.md',
    ],
  ],
  [
    W.agentSettings,
    [
      '.mcp.json',
      '.lsp.json',
      ...withExts(['.aider.conf', '.aider.model.settings'], YAML),
      '.aider.model.metadata.json',
      'opencode.json',
      'opencode.jsonc',
      'crush.json',
      '.crush.json',
      '.kilocodemodes',
    ],
  ],
  [
    W.gitHook,
    [
      '.pre-commit-config.yaml',
      '.pre-commit-config.yml',
      ...withExts(['lefthook', '.lefthook', 'lefthook-local', '.lefthook-local'], [...YAML, '.json', '.toml']),
      ...withExts(['.simple-git-hooks', 'simple-git-hooks'], ['.json', '.js', '.cjs', '.mjs']),
      ...withExts(['.lintstagedrc'], ['', '.json', ...YAML, ...JS]),
      ...withExts(['lint-staged.config', 'commitlint.config', '.commitlintrc'], JS),
      ...withExts(['.commitlintrc'], ['', '.json', ...YAML]),
      '.huskyrc',
      '.huskyrc.json',
      '.huskyrc.js',
      '.czrc',
    ],
  ],
  [W.gitAttributes, ['.gitattributes']],
  [W.gitConfig, ['.lfsconfig']],
  [W.editor, ['.dir-locals.el', '.dir-locals-2.el', '.exrc', '.vimrc', '.nvimrc', '.nvim.lua', '.lazy.lua', '.lvimrc']],
  [W.ideRun, ['launchsettings.json']],
  [W.devContainer, ['.devcontainer.json', '.gitpod.yml']],
  [W.direnv, ['.envrc']],
  [
    W.envManager,
    [
      ...withExts(['mise', '.mise', 'mise.local', '.mise.local', '.rtx', '.rtx.local'], ['.toml']),
      '.tool-versions',
      'flake.nix',
      'shell.nix',
      'devenv.nix',
      'devenv.yaml',
      'devbox.json',
      'pixi.toml',
      '.prototools',
    ],
  ],
  [
    W.toolchain,
    [
      'rust-toolchain',
      'rust-toolchain.toml',
      'gradlew',
      'gradlew.bat',
      'gradle-wrapper.properties',
      'gradle-wrapper.jar',
      'mvnw',
      'mvnw.cmd',
      'maven-wrapper.properties',
      '.bazelversion',
      '.bazeliskrc',
      'global.json',
    ],
  ],
  [
    W.packageManager,
    [
      '.npmrc',
      '.yarnrc',
      '.yarnrc.yml',
      '.pnpmfile.cjs',
      '.pnpmfile.mjs',
      'pnpmfile.js',
      'pnpm-workspace.yaml',
      '.pnp.cjs',
      '.pnp.js',
      '.pnp.loader.mjs',
      'bunfig.toml',
      'nuget.config',
      'uv.toml',
      'dotnet-tools.json',
    ],
  ],
  [
    W.build,
    [
      'setup.py',
      'hatch_build.py',
      'pdm_build.py',
      'build.rs',
      'build.gradle',
      'build.gradle.kts',
      'settings.gradle',
      'settings.gradle.kts',
      'gradle.properties',
      'pom.xml',
      'build.xml',
      'build.sbt',
      '.sbtopts',
      '.jvmopts',
      'build.sc',
      'build.mill',
      'project.clj',
      'directory.build.props',
      'directory.build.targets',
      'directory.build.rsp',
      'directory.packages.props',
      'directory.solution.props',
      'directory.solution.targets',
      'cmakelists.txt',
      'cmakepresets.json',
      'cmakeuserpresets.json',
      'meson.build',
      'meson.options',
      'meson_options.txt',
      'configure',
      'configure.ac',
      'configure.in',
      'makefile.am',
      'makefile.in',
      'sconstruct',
      'sconscript',
      'build.zig',
      '.bazelrc',
      'workspace',
      'workspace.bazel',
      'module.bazel',
      'gemfile',
      'gems.rb',
      'rust-analyzer.toml',
      'hatch.toml',
      'setup.cfg',
      'binding.gyp',
      'makefile.pl',
      'build.pl',
      'mix.exs',
      'rebar.config',
      'rebar.config.script',
      'setup.hs',
      'package.swift',
      'config.nims',
      'conanfile.py',
      'xmake.lua',
    ],
  ],
  [
    W.interpreter,
    [
      'sitecustomize.py',
      'usercustomize.py',
      '.pdbrc',
      '.pdbrc.py',
      '.irbrc',
      'irb.rc',
      '_irbrc',
      '.pryrc',
      '.rprofile',
      '.renviron',
      '.iex.exs',
      '.ghci',
    ],
  ],
  [
    W.testRunner,
    [
      'conftest.py',
      'pytest.ini',
      '.pytest.ini',
      'pytest.toml',
      '.pytest.toml',
      'tox.ini',
      'noxfile.py',
      '.rspec',
      '.rspec-local',
      'phpunit.xml',
      'phpunit.xml.dist',
      'karma.conf.js',
      'karma.conf.cjs',
      'karma.conf.ts',
      '.taprc',
    ],
  ],
  [
    W.toolConfig,
    [
      '.pylintrc',
      'pylintrc',
      'mypy.ini',
      '.mypy.ini',
      '.flake8',
      '.coveragerc',
      '.rubocop.yml',
      '.solargraph.yml',
      'phpstan.neon',
      'phpstan.neon.dist',
      'phpstan.dist.neon',
      'psalm.xml',
      'psalm.xml.dist',
      '.php-cs-fixer.php',
      '.php-cs-fixer.dist.php',
      'rector.php',
      'ecs.php',
      'nx.json',
      '.swcrc',
      '.golangci.yml',
      '.golangci.yaml',
      '.custom-gcl.yml',
      'ansible.cfg',
    ],
  ],
  [W.makefile, ['makefile', 'gnumakefile']],
  [
    W.taskRunner,
    [
      'justfile',
      '.justfile',
      ...withExts(['taskfile', 'taskfile.dist'], YAML),
      'rakefile',
      'rakefile.rb',
      'guardfile',
      ...withExts(['gulpfile', 'gruntfile', 'jakefile'], [...JS, '.coffee']),
      'earthfile',
      'tiltfile',
      'procfile',
      'procfile.dev',
      'moon.yml',
    ],
  ],
  [
    W.ci,
    [
      '.gitlab-ci.yml',
      '.gitlab-ci.yaml',
      'jenkinsfile',
      '.travis.yml',
      'azure-pipelines.yml',
      'azure-pipelines.yaml',
      'bitbucket-pipelines.yml',
      '.drone.yml',
      '.cirrus.yml',
      '.cirrus.star',
      'appveyor.yml',
      '.appveyor.yml',
      '.woodpecker.yml',
      '.woodpecker.yaml',
      'codemagic.yaml',
      'cloudbuild.yaml',
      'cloudbuild.yml',
      'buildspec.yml',
    ],
  ],
  [W.compose, [...withExts(['docker-compose', 'compose', 'docker-compose.override', 'compose.override'], YAML)]],
  [W.webServer, ['.htaccess', '.user.ini']],
]

/** A file name in a given directory, keyed `dir/name` (`.vscode/tasks.json`): risky there, plain elsewhere. */
const IN_DIR: Array<[Why, string[]]> = [
  [W.editor, ['.vscode/tasks.json', '.vscode/settings.json', '.vscode/launch.json']],
  [W.agentSettings, ['.vscode/mcp.json']],
  [W.envManager, ['.config/mise.toml', 'mise/config.toml', '.mise/config.toml', '.config/mise.local.toml', 'conf.d/mise.toml']],
  [W.packageManager, ['.cargo/config', '.cargo/config.toml', '.config/nuget.config']],
  [W.ciWorkflow, ['.github/dependabot.yml', '.github/dependabot.yaml']],
  [W.build, ['project/build.properties']],
]

/** Directories every file under which is risky, at any depth (tools read them in each package). */
const DIRS: Array<[Why, string[]]> = [
  [
    W.agentSettings,
    [
      '.claude',
      '.cursor',
      '.windsurf',
      '.clinerules',
      '.roo',
      '.continue',
      '.gemini',
      '.codex',
      '.amazonq',
      '.junie',
      '.kiro',
      '.opencode',
      '.augment',
      '.kilocode',
      '.trae',
      '.qwen',
      '.agents',
      '.agent',
      '.goose',
      '.crush',
    ],
  ],
  [W.gitHook, ['.husky', '.githooks', '.git-hooks', 'githooks', 'git-hooks', '.lefthook', '.lefthook-local']],
  [W.editor, ['.zed', '.helix', '.fleet', '.theia', '.nova']],
  [W.ideRun, ['.idea', '.run']],
  [W.devContainer, ['.devcontainer']],
  [W.envManager, ['.flox', '.devenv']],
  [W.taskRunner, ['.moon']],
  [W.build, ['buildsrc', '.mvn']],
]

/** Two directories in a row, at any depth (`.yarn/releases/`: Yarn runs the release `yarnPath` names). */
const DIR_PAIRS: Array<[Why, string[]]> = [
  [W.packageManager, ['.yarn/releases', '.yarn/plugins', '.yarn/sdks', '.yarn/patches', '.yarn/hooks']],
  [W.agentInstructions, ['.github/instructions', '.github/prompts', '.github/chatmodes', '.github/agents']],
  [W.agentSettings, ['.github/hooks']],
  [W.toolchain, ['gradle/wrapper', '.mvn/wrapper']],
  [W.build, ['project/project']],
]

/** Directories read only at the root of the repository (GitHub reads only the top `.github/workflows/`). */
const ROOT_DIRS: Array<[Why, string[]]> = [
  [W.ciWorkflow, ['.github/workflows', '.github/actions', '.gitea/workflows', '.gitea/actions', '.forgejo/workflows']],
  [W.ci, ['.gitlab', '.circleci', '.buildkite', '.woodpecker', '.semaphore', '.tekton', '.azure-pipelines', '.harness', '.zuul.d']],
]

/** File names read only at the root (git reads only the top `.gitmodules`). */
const ROOT_NAMES: Array<[Why, string[]]> = [
  [W.submodules, ['.gitmodules']],
  [W.ci, ['.zuul.yaml', 'action.yml', 'action.yaml']],
  [W.envManager, ['default.nix']],
]

/** File extensions (the last one or two of a name): `x.gradle.kts` is looked up as `gradle.kts` and `kts`. */
const EXTENSIONS: Array<[Why, string[]]> = [
  [W.agentInstructions, ['instructions.md', 'prompt.md', 'chatmode.md', 'agent.md']],
  [W.editor, ['code-workspace', 'sublime-project']],
  [W.ideRun, ['run.xml']],
  [W.interpreter, ['pth']],
  [W.makefile, ['mk', 'mak']],
  [W.taskRunner, ['rake', 'just']],
  [
    W.build,
    [
      'gradle',
      'gradle.kts',
      'sbt',
      'csproj',
      'fsproj',
      'vbproj',
      'vcxproj',
      'proj',
      'props',
      'targets',
      'cmake',
      'gemspec',
      'bzl',
      'podspec',
      'nimble',
      'nims',
    ],
  ],
]

/**
 * JavaScript tool configs that are code, or name plugins the tool loads: test runners, linters, formatters,
 * compilers and the editor extensions that load them on open (`eslint.config.mjs`, `.babelrc`, `vite.config.ts`).
 */
const JS_TOOL_CONFIG =
  /^(?:(?:eslint|prettier|babel|stylelint|postcss|tailwind|svelte|astro|nuxt|next|vite|webpack|rollup|rspack|rsbuild|esbuild|tsup|vue|remix|metro|nodemon|c8|docusaurus|histoire|storybook|electron-builder|release|semantic-release)\.config|\.(?:eslintrc|prettierrc|babelrc|stylelintrc|postcssrc|swcrc|releaserc|nodemonrc)|nodemon)(?:\.[a-z0-9]+)*$/
const JS_TEST_CONFIG =
  /^(?:(?:jest|vitest|playwright|cypress|ava|wdio|nightwatch|jasmine|uvu|web-test-runner|wtr)\.config|\.(?:mocharc|nycrc|c8rc|jestrc)|vitest\.workspace|jest\.setup|vitest\.setup|setuptests|setup-tests)(?:\.[a-z0-9]+)*$/
/** `.env`, `.env.local`, `.env.production`…, but not the templates people commit next to them. */
const ENV_FILE = /^\.env(?:\..*)?$/
const ENV_TEMPLATE = /\.(?:example|sample|template|dist|defaults|schema)$/

function table(entries: Array<[Why, string[]]>): Map<string, Why> {
  const map = new Map<string, Why>()
  for (const [why, keys] of entries) for (const key of keys) map.set(key, why)
  return map
}

const BY_NAME = table(NAMES)
const BY_DIR_AND_NAME = table(IN_DIR)
const BY_DIR = table(DIRS)
const BY_DIR_PAIR = table(DIR_PAIRS)
const BY_ROOT_DIR = table(ROOT_DIRS)
const BY_ROOT_NAME = table(ROOT_NAMES)
const BY_EXTENSION = table(EXTENSIONS)

/** The first parts of a table's two-part keys: a two-part key is built only after one of these. */
const firstParts = (...maps: Map<string, Why>[]) =>
  new Set(maps.flatMap((m) => [...m.keys()].filter((k) => k.includes('/')).map((k) => k.slice(0, k.indexOf('/')))))
const PARENTS = firstParts(BY_DIR_AND_NAME)
const PAIR_FIRSTS = firstParts(BY_DIR_PAIR, BY_ROOT_DIR)

/** Why `path` (as git names it, relative to the repository) may run code by itself; undefined when it does not. */
export function pathWhy(path: string): Why | undefined {
  const lower = path.toLowerCase()
  const slash = lower.lastIndexOf('/')
  const name = slash < 0 ? lower : lower.slice(slash + 1)

  let why = BY_NAME.get(name)
  if (why) return why
  if (slash < 0) why = BY_ROOT_NAME.get(name)
  else {
    const parent = lower.slice(lower.lastIndexOf('/', slash - 1) + 1, slash)
    if (PARENTS.has(parent)) why = BY_DIR_AND_NAME.get(`${parent}/${name}`)
  }
  if (why) return why

  const lastDot = name.lastIndexOf('.')
  if (lastDot > 0) {
    const prevDot = name.lastIndexOf('.', lastDot - 1)
    why = (prevDot > 0 ? BY_EXTENSION.get(name.slice(prevDot + 1)) : undefined) ?? BY_EXTENSION.get(name.slice(lastDot + 1))
    if (why) return why
  }
  if (ENV_FILE.test(name) && !ENV_TEMPLATE.test(name)) return W.envFile
  if (JS_TEST_CONFIG.test(name)) return W.testRunner
  if (JS_TOOL_CONFIG.test(name)) return W.toolConfig

  // The directories, from the root down; a pair (`.mvn/wrapper`) before its first part alone (`.mvn`).
  for (let start = 0, root = true; start < slash; root = false) {
    const end = lower.indexOf('/', start)
    const dir = lower.slice(start, end)
    why = root ? BY_ROOT_DIR.get(dir) : undefined
    if (!why && end < slash && PAIR_FIRSTS.has(dir)) {
      const pair = lower.slice(start, lower.indexOf('/', end + 1))
      why = (root ? BY_ROOT_DIR.get(pair) : undefined) ?? BY_DIR_PAIR.get(pair)
    }
    why ??= BY_DIR.get(dir)
    // An agent's directory holds its settings and its prompts (`.claude/commands/review.md`).
    if (why) return why === W.agentSettings && name.endsWith('.md') ? W.agentInstructions : why
    start = end + 1
  }
  return undefined
}
