/**
 * Writes the report folder: evidence.json first, then its sha256 in sha256sum's format (so
 * `sha256sum -c evidence.json.sha256` checks it), then the page, which names the same hash.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Evidence } from "./evidence.js";
import { renderPage } from "./page.js";

export interface WrittenReport {
  page: string;
  evidence: string;
  sha256: string;
}

export async function writeReport(dir: string, evidence: Evidence): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const json = JSON.stringify(evidence, null, 2) + "\n";
  const sha256 = createHash("sha256").update(json).digest("hex");
  const files = { page: path.join(dir, "index.html"), evidence: path.join(dir, "evidence.json") };
  await writeFile(files.evidence, json);
  // Two spaces: sha256sum's text-mode line, which `sha256sum -c` reads.
  await writeFile(`${files.evidence}.sha256`, `${sha256}  evidence.json\n`);
  await writeFile(files.page, renderPage(evidence, sha256));
  return { ...files, sha256 };
}
