#!/usr/bin/env bash
# Builds the four Pulumi tools this repository tests its stacks with, into .tools/pulumi/bin
# (git-ignored), at the versions of the @pulumi/* packages in package.json:
#   pulumi                       the CLI, from the Go module proxy
#   pulumi-language-nodejs       the Node.js language host  } from the public source tarballs in
#   pulumi-resource-command      the command provider       } ../shared/vendor (PULUMI_VENDOR_DIR),
#   pulumi-resource-postgresql   the postgresql provider    } which the module proxy here refuses
# This is how the repository tests itself on a machine with Go and no plugin server. A user with
# network access installs the same tools the ordinary way (docs/pulumi-engine.md).
#
# Idempotent: a binary whose stamp (module/tarball, version, flags) matches is kept, and a run with
# everything present prints nothing. Go's module and build caches are the default ones, so a
# rebuild after `rm -rf .tools` is warm. A tool that cannot be built is named with the reason and
# the script exits 1 after trying the others: nothing is skipped silently.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools/pulumi"
bin="$tools/bin"
src="$tools/src"
vendor="${PULUMI_VENDOR_DIR:-$root/../shared/vendor}"
mkdir -p "$bin" "$src"
rm -rf "$tools/unavailable" # written by older versions of this script
failed=()

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
  local started=$SECONDS
  echo "build-pulumi: $name from $module@$version ..."
  local info
  if ! info="$(go mod download -json "$module@$version" 2>&1)" || grep -q '"Error"' <<<"$info"; then
    echo "build-pulumi: $name NOT built: go could not download $module@$version:" >&2
    { grep -o '"Error": *"[^"]*"' <<<"$info" || echo "$info"; } | cut -c1-300 >&2
    failed+=("$name")
    return 0
  fi

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
    go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$package"
  ) || { echo "build-pulumi: $name NOT built: go build failed (output above)" >&2; failed+=("$name"); return 0; }
  mv "$out.tmp" "$out"
  echo "$want" >"$stamp"
  echo "build-pulumi: $name built in $((SECONDS - started))s"
}

# The CLI.
build pulumi "github.com/pulumi/pulumi/pkg/v3" "v$pulumi_version" \
  "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version"

# build_vendored NAME TARBALL MODULE_DIR PACKAGE LDFLAGS PREPARE
# Unpacks TARBALL from the vendor folder into .tools/pulumi/src/NAME, runs the function PREPARE in
# it, then builds PACKAGE inside MODULE_DIR (relative to the unpacked root). GOFLAGS=-mod=mod lets
# go record the go.sum lines a prepared go.mod needs.
build_vendored() {
  local name="$1" tarball="$2" moddir="$3" package="$4" ldflags="$5" prepare="$6"
  local out="$bin/$name" stamp="$bin/.$name.stamp" archive="$vendor/$tarball"
  if [[ ! -f "$archive" ]]; then
    echo "build-pulumi: $name NOT built: $archive is missing (set PULUMI_VENDOR_DIR to the folder holding $tarball)" >&2
    failed+=("$name")
    return 0
  fi
  local sum want
  sum="$(sha256sum "$archive" | cut -c1-64)"
  want="$tarball sha256:$sum $package $ldflags"
  if [[ -x "$out" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi

  local started=$SECONDS dir="$src/$name"
  echo "build-pulumi: $name from $tarball ..."
  rm -rf "$dir" && mkdir -p "$dir"
  # (errexit does not apply inside a command tested by ||, so each step is chained with &&)
  (
    tar -xzf "$archive" -C "$dir" --strip-components=1 && cd "$dir" &&
      { ("$prepare") >"$dir/prepare.log" 2>&1 || { tail -n 40 "$dir/prepare.log" >&2; exit 1; }; } &&
      cd "$moddir" &&
      GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$package"
  ) || { echo "build-pulumi: $name NOT built from $archive (output above)" >&2; failed+=("$name"); return 0; }
  mv "$out.tmp" "$out"
  echo "$want" >"$stamp"
  echo "build-pulumi: $name built in $((SECONDS - started))s"
}

# The language host lives in the pulumi monorepo, and its go.mod replaces pkg/v3 and sdk/v3 with
# paths of that monorepo; here it requires them from the module proxy at the CLI's version.
prepare_language_host() {
  cd sdk/nodejs/cmd/pulumi-language-nodejs &&
    go mod edit -dropreplace=github.com/pulumi/pulumi/pkg/v3 -dropreplace=github.com/pulumi/pulumi/sdk/v3 \
      -require="github.com/pulumi/pulumi/pkg/v3@v$pulumi_version" -require="github.com/pulumi/pulumi/sdk/v3@v$pulumi_version" &&
    GOFLAGS=-mod=mod go mod tidy
}

prepare_command() { :; }

# The postgresql provider bridges the Terraform provider in upstream/ (patched as pulumi's own build
# does), embeds a schema stamped with its version, and pins an aws-sdk-go-v2/feature/rds/auth
# release (v1.6.x) the module proxy refuses; v1.7.12 is served and API-compatible for its one use.
prepare_postgresql() {
  local p
  for p in patches/*.patch; do (cd upstream && patch -p1 --forward <"../$p") || return 1; done
  (cd provider/cmd/pulumi-resource-postgresql && VERSION="$postgresql_version" GOFLAGS=-mod=mod go run ./generate.go) &&
    (cd provider && GOFLAGS=-mod=mod go get github.com/aws/aws-sdk-go-v2/feature/rds/auth@v1.7.12)
}

build_vendored pulumi-language-nodejs "pulumi-language-nodejs-$pulumi_version.tar.gz" \
  sdk/nodejs/cmd/pulumi-language-nodejs . \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version" prepare_language_host

build_vendored pulumi-resource-command "pulumi-command-$command_version.tar.gz" \
  provider ./cmd/pulumi-resource-command \
  "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$command_version" prepare_command

build_vendored pulumi-resource-postgresql "pulumi-postgresql-$postgresql_version.tar.gz" \
  provider ./cmd/pulumi-resource-postgresql \
  "-X github.com/pulumi/pulumi-postgresql/provider/v3/pkg/version.Version=$postgresql_version" prepare_postgresql

if ((${#failed[@]})); then
  echo "build-pulumi: not built: ${failed[*]}" >&2
  exit 1
fi
