#!/bin/sh
# Stand-in for Claude Code in e2e tests: every argument that is not a flag is a line of shell script,
# run in the workspace. Its exit code is the "agent's" exit code.
script=""
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) script="$script
$arg" ;;
  esac
done
exec sh -ec "$script"
