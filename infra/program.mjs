/**
 * What the engine runs (package.json `main`): the program, infra/index.ts, bundled into plain
 * JavaScript as dist/program.js by scripts/bundle.mjs, so node starts it without a TypeScript
 * loader. tsx on the way cost every `pulumi up` about 0.5 s more: its hooks see every module
 * node loads, @pulumi/pulumi's hundreds included, and it transpiled the program's sixty files
 * (bench/README.md, "Against the engine's floor").
 *
 * The bundles are rebuilt first when a source changed since `npm ci` (or the last `up`) built
 * them, so neither the program nor the migrator its commands run is ever older than the code
 * beside it. Under Pulumi's mocks the tests import infra/index.ts itself.
 */
import { ensureBundles, ROOT } from "../scripts/bundle.mjs";

await ensureBundles(ROOT);
// The stack's outputs are the program's exports; a RunError thrown while it loads reaches the
// engine's run harness unchanged (message only, no stack trace), as it did from infra/index.ts.
const program = await import("../dist/program.js");
export default { ...program };
