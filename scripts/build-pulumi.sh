#!/usr/bin/env bash
# Builds the Pulumi CLI, its Node.js language host and the command and postgresql resource
# providers from their Go modules into .tools/pulumi/bin (git-ignored), at the versions of the
# @pulumi/* packages in package.json. Idempotent: a binary whose version stamp matches is kept,
# and a run with everything present prints nothing. Go's module and build caches are the
# default ones (~/go/pkg/mod, ~/.cache/go-build), so a rebuild after `rm -rf .tools` is warm.
#
# Each binary is built through a small generated wrapper module that requires the real one:
# `go install mod@version` refuses a module whose go.mod has replace directives, and pkg/v3's
# replaces sdk/v3 with ../sdk (the monorepo layout). Replaces that point at another module
# version are copied into the wrapper; they are ignored when the module is only a dependency.
#
# A module the module proxy refuses is recorded in .tools/pulumi/unavailable/<name> and not
# asked for again (delete that file to retry); scripts/pulumi-env.sh and the engine test name it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools/pulumi"
bin="$tools/bin"
src="$tools/src"
unavailable="$tools/unavailable"
mkdir -p "$bin" "$src" "$unavailable"

if ! command -v go >/dev/null; then
  echo "build-pulumi: go is not on PATH; install Go 1.25+ (the CLI's go.mod asks for 1.25)" >&2
  exit 2
fi

npm_version() {
  node -p "require('$root/node_modules/@pulumi/$1/package.json').version" 2>/dev/null ||
    node -p "require('$root/package.json').dependencies['@pulumi/$1']"
}
pulumi_version="$(npm_version pulumi)"
command_version="$(npm_version command)"
postgresql_version="$(npm_version postgresql)"

# build NAME MODULE VERSION PACKAGE LDFLAGS
build() {
  local name="$1" module="$2" version="$3" package="$4" ldflags="$5"
  local out="$bin/$name" stamp="$bin/.$name.stamp"
  local want="$module@$version $package $ldflags"
  if [[ -x "$out" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if [[ -f "$unavailable/$name" && "$(head -n 1 "$unavailable/$name")" == "$module@$version" ]]; then
    return 0
  fi

  local started=$SECONDS
  echo "build-pulumi: $name from $module@$version ..."
  local info
  if ! info="$(go mod download -json "$module@$version" 2>&1)" || grep -q '"Error"' <<<"$info"; then
    { echo "$module@$version"; grep -o '"Error": *"[^"]*"' <<<"$info" || echo "$info"; } >"$unavailable/$name"
    echo "build-pulumi: $name NOT built: go could not download $module@$version:" >&2
    sed -n '2p' "$unavailable/$name" | cut -c1-300 >&2
    return 0
  fi
  rm -f "$unavailable/$name"

  local gomod dir="$src/$name"
  gomod="$(node -e 'const j=JSON.parse(process.argv[1]); console.log(j.GoMod)' "$info")"
  rm -rf "$dir" && mkdir -p "$dir"
  (
    cd "$dir"
    go mod init "pgmigrations.local/build/$name" >/dev/null 2>&1
    go mod edit -require="$module@$version"
    # Copy the module's own replaces that name another module (not a local ../ path).
    go mod edit -json "$gomod" | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        for (const r of JSON.parse(s).Replace ?? []) {
          if (!r.New.Version) continue; // a directory inside the monorepo; the required version stands in for it
          const from = r.Old.Version ? `${r.Old.Path}@${r.Old.Version}` : r.Old.Path;
          console.log(`${from}=${r.New.Path}@${r.New.Version}`);
        }
      });' | while read -r rep; do go mod edit -replace="$rep"; done
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >tools.go
    go mod tidy >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }
    go build -p 2 -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$package"
  )
  mv "$out.tmp" "$out"
  echo "$want" >"$stamp"
  echo "build-pulumi: $name built in $((SECONDS - started))s"
}

# The CLI.
build pulumi "github.com/pulumi/pulumi/pkg/v3" "v$pulumi_version" \
  "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version"

# The Node.js language host. Since v3.69 it is its own module,
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which the module proxy here
# refuses (403 "This module version is not available", for every version). sdk/v3@v3.68.0 is the
# newest release that still carries the host as a package of sdk/v3, so it is built from there.
# It runs the program with node_modules/@pulumi/pulumi (3.248) as usual; see the README section.
language_host_sdk="v3.68.0"
build pulumi-language-nodejs "github.com/pulumi/pulumi/sdk/v3" "$language_host_sdk" \
  "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$language_host_sdk"

# The resource providers; the version variable must match the npm SDK's, or the engine rejects the schema.
build pulumi-resource-command "github.com/pulumi/pulumi-command/provider" "v$command_version" \
  "github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command" \
  "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$command_version"

build pulumi-resource-postgresql "github.com/pulumi/pulumi-postgresql/provider/v3" "v$postgresql_version" \
  "github.com/pulumi/pulumi-postgresql/provider/v3/cmd/pulumi-resource-postgresql" \
  "-X github.com/pulumi/pulumi-postgresql/provider/v3/pkg/version.Version=$postgresql_version"
