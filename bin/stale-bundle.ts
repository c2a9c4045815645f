import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * When this code runs from a bundle in dist/ (scripts/bundle.mjs), the sources it was built from
 * that changed since, per dist/inputs.json; empty when running from the sources or up to date.
 * A few stat calls: cheap enough for every start.
 */
export function staleBundleSources(moduleUrl: string): string[] {
  const distDir = path.dirname(fileURLToPath(moduleUrl));
  if (path.basename(distDir) !== "dist") return [];
  try {
    const recorded = JSON.parse(readFileSync(path.join(distDir, "inputs.json"), "utf8")) as { inputs?: Record<string, { size: number; mtimeMs: number }> };
    const root = path.dirname(distDir);
    return Object.entries(recorded.inputs ?? {})
      .filter(([file, was]) => {
        try {
          const now = statSync(path.join(root, file));
          return now.size !== was.size || now.mtimeMs !== was.mtimeMs;
        } catch {
          return true;
        }
      })
      .map(([file]) => file);
  } catch {
    return [];
  }
}

/** One line on stderr naming what changed since the bundle was built, and the command that rebuilds it. */
export function warnIfStale(moduleUrl: string): void {
  const stale = staleBundleSources(moduleUrl);
  if (stale.length === 0) return;
  const shown = stale.slice(0, 3).join(", ") + (stale.length > 3 ? ` and ${stale.length - 3} more` : "");
  process.stderr.write(`warning: ${path.basename(fileURLToPath(moduleUrl))} was built before ${shown} changed; run \`npm run build\` to run the current code\n`);
}
