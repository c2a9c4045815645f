#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow checker) into .tools/actionlint/bin (git-ignored),
# from the Go module proxy at a pinned version, so `.ci/run` checks .github/workflows with the
# same linter everywhere. Idempotent: a binary already at this version is kept (prints nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="v1.7.12"
BIN_DIR="$PWD/.tools/actionlint/bin"
BIN="$BIN_DIR/actionlint"

if [[ -x "$BIN" ]] && [[ "$("$BIN" -version 2>/dev/null | head -n 1)" == "$VERSION" ]]; then
  exit 0
fi
# Go's own install location, for a shell whose PATH does not name it.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then export PATH="$PATH:/usr/local/go/bin"; fi
if ! command -v go >/dev/null; then
  echo "build-actionlint: no go on PATH (Go 1.25+ is needed to build actionlint $VERSION)" >&2
  exit 1
fi
mkdir -p "$BIN_DIR"
# -ldflags stamps the version the check above reads, rather than relying on the build info that
# `go install` records.
GOBIN="$BIN_DIR" go install -ldflags "-s -w -X github.com/rhysd/actionlint.version=$VERSION" "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
echo "build-actionlint: built actionlint $VERSION into .tools/actionlint/bin"
