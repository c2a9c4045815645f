# Source this (`. scripts/pulumi-env.sh`) to use the Pulumi tools built by scripts/build-pulumi.sh.
# It changes nothing outside this checkout: the CLI's home (plugins, credentials, workspaces)
# is .tools/pulumi/home, not ~/.pulumi. Tools installed the ordinary way (plugins in ~/.pulumi)
# need none of this.
_pulumi_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"

# The CLI finds pulumi-language-nodejs and pulumi-resource-<name> on PATH, no plugin install needed.
export PATH="$_pulumi_root/.tools/pulumi/bin:$PATH"
export PULUMI_HOME="$_pulumi_root/.tools/pulumi/home"
export PULUMI_SKIP_UPDATE_CHECK=1
# No plugin downloads: the providers are the ones built into .tools/pulumi/bin. A provider a stack
# needs that is not built fails the run with the engine's "no resource plugin ... found" error.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# The CLI looks for a plugin on PATH before its plugin folder unless this is set; with
# .tools/pulumi/bin first on PATH, the built tools are the ones it takes.
unset PULUMI_IGNORE_AMBIENT_PLUGINS
# A passphrase for throwaway local stacks (the engine tests set their own). Set yours for anything else.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local-test-passphrase}"
