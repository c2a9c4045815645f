#!/usr/bin/env bash
# The SQL lint gate of the workflows: squawk over the migration folders a change adds, i.e. those
# that sort after the last folder at BASE (a commit or branch), as `migrate lint --since` does.
# Files that ran years ago are not judged again (an adopted Prisma history would fail on them);
# `npm run lint:sql -- --all` lints every file. With no BASE, or a BASE without sql/migrations,
# every file is new and every file is linted.
#   scripts/lint-added.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-}"
since=()
if [[ -n "$base" && ! "$base" =~ ^0+$ ]]; then
  if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
    echo "lint-added: $base is not a commit in this clone (check out with fetch-depth: 0)" >&2
    exit 2
  fi
  last="$(git ls-tree -d --name-only "$base" sql/migrations/ | sed 's|.*/||' | LC_ALL=C sort | tail -n 1)"
  if [[ -n "$last" ]]; then since=(--since "$last"); fi
fi
exec node dist/migrate.js lint "${since[@]}"
