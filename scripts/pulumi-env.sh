# Source this (`. scripts/pulumi-env.sh`) to use the Pulumi tools built by scripts/build-pulumi.sh.
# It changes nothing outside this checkout: the CLI's home (plugins, credentials, workspaces)
# is .tools/pulumi/home, not ~/.pulumi.
_pulumi_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"

# The CLI finds pulumi-language-nodejs and pulumi-resource-<name> on PATH, no plugin install needed.
export PATH="$_pulumi_root/.tools/pulumi/bin:$PATH"
export PULUMI_HOME="$_pulumi_root/.tools/pulumi/home"
export PULUMI_SKIP_UPDATE_CHECK=1
# No plugin downloads: nothing here can reach the plugin servers, and the language host lists
# every @pulumi/* package in package.json as a required plugin, @pulumi/aws included, although
# the local stack registers no AWS resource. A provider is loaded only when a resource needs it.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# The language host built here (sdk/v3@v3.68.0, see build-pulumi.sh) reads Pulumi.yaml's runtime
# options only as command-line flags, which the 3.248 CLI no longer passes: `nodeargs: --import tsx`
# would be lost and node could not load infra/index.ts ("Unknown file extension .ts"). Node reads
# the same flag from NODE_OPTIONS.
case " ${NODE_OPTIONS-} " in *" --import tsx "*) ;; *) export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--import tsx" ;; esac
# Providers on PATH are the ones this script's PATH puts there; a stray one elsewhere is not used.
unset PULUMI_IGNORE_AMBIENT_PLUGINS
# A passphrase for throwaway stacks (the engine test's file backend). Set your own for anything else.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local-test-passphrase}"

# Lists the tools that are missing, one per line (empty when all are there).
pulumi_tools_missing() {
  local name
  for name in pulumi pulumi-language-nodejs pulumi-resource-command pulumi-resource-postgresql; do
    if [[ ! -x "$_pulumi_root/.tools/pulumi/bin/$name" ]]; then
      if [[ -f "$_pulumi_root/.tools/pulumi/unavailable/$name" ]]; then
        echo "$name (go could not download $(head -n 1 "$_pulumi_root/.tools/pulumi/unavailable/$name"))"
      else
        echo "$name (not built: run bash scripts/build-pulumi.sh)"
      fi
    fi
  done
}
