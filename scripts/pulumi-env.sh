# Source this (`. scripts/pulumi-env.sh`) to use the Pulumi tools built by scripts/build-pulumi.sh.
# It changes nothing outside this checkout: the CLI's home (plugins, credentials, workspaces)
# is .tools/pulumi/home, not ~/.pulumi.
_pulumi_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"

# The CLI finds pulumi-language-nodejs and pulumi-resource-<name> on PATH, no plugin install needed.
export PATH="$_pulumi_root/.tools/pulumi/bin:$PATH"
export PULUMI_HOME="$_pulumi_root/.tools/pulumi/home"
export PULUMI_SKIP_UPDATE_CHECK=1
# No plugin downloads: nothing here can reach the plugin servers. The providers the stacks use are
# the ones on PATH above; a provider a stack needs that is not built is named at the resource.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Providers on PATH are the ones this script's PATH puts there; a stray one elsewhere is not used.
unset PULUMI_IGNORE_AMBIENT_PLUGINS
# A passphrase for throwaway stacks (the engine test's file backend). Set your own for anything else.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local-test-passphrase}"

# Lists the tools that are missing, one per line (empty when all are there).
pulumi_tools_missing() {
  local name
  for name in pulumi pulumi-language-nodejs pulumi-resource-command pulumi-resource-postgresql; do
    [[ -x "$_pulumi_root/.tools/pulumi/bin/$name" ]] || echo "$name (not built: run bash scripts/build-pulumi.sh)"
  done
}
