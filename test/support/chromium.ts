/**
 * A real headless Chromium from npm: `@sparticuz/chromium` ships the browser itself, brotli-packed
 * inside the package (no install script, no download), so `npm ci` is all a bare machine needs.
 * The binary is statically linked but for libc, libgcc and expat, and comes with its own fonts.
 *
 * The package unpacks to `os.tmpdir()` and reuses whatever `/tmp/chromium` it finds there, of any
 * version and even half-written by a killed run. So this unpacks into a folder of our own, named by
 * the package version, through a staging folder renamed into place only once complete; a browser
 * of another version or an interrupted unpacking is never used. There is no fallback to a browser
 * installed on the machine: the executable is always the one from the package.
 */
import Chromium from "@sparticuz/chromium";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

/** The package's folder (its exports hide package.json, so found from its entry, build/index.js). */
const PACKAGE_ROOT = path.resolve(path.dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium")), "..");

/** The version of `@sparticuz/chromium` installed; its major is the Chromium major it ships. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;

export interface NpmChromium {
  /** The unpacked browser binary. */
  executable: string;
  /** A fontconfig file naming only the fonts that came with the package. */
  fontconfigFile: string;
}

/** Unpacks the package's browser (once per version and machine) and returns where it is. */
export async function unpackChromium(): Promise<NpmChromium> {
  const folder = path.join(os.tmpdir(), `pg-migrations-chromium-${PACKAGE_VERSION}`);
  const located = (): NpmChromium => ({ executable: path.join(folder, "chromium"), fontconfigFile: path.join(folder, "fonts.conf") });
  if (existsSync(located().fontconfigFile)) return located();

  const staging = await mkdtemp(path.join(os.tmpdir(), `pg-migrations-chromium-${PACKAGE_VERSION}-staging-`));
  // The package unpacks to os.tmpdir(), which reads TMPDIR at each call: point it at the staging folder.
  const tmpdir = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    const unpacked = await Chromium.executablePath();
    if (unpacked !== path.join(staging, "chromium")) throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, not into ${staging}`);
  } finally {
    if (tmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdir;
  }
  // The package's own fonts.conf names /tmp/fonts; this one names the fonts beside the binary. Written
  // last, so its presence means the folder is complete.
  const fonts = path.join(folder, "fonts", "fonts");
  await writeFile(
    path.join(staging, "fonts.conf"),
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${fonts}</dir>\n  <cachedir>${path.join(folder, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
  );
  try {
    await rename(staging, folder);
  } catch (error) {
    // Another process renamed its complete copy into place first: use that one.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(located().fontconfigFile)) throw new Error(`could not move the unpacked Chromium into ${folder}`, { cause: error });
  }
  return located();
}

/** Launches the package's Chromium headless, with the flags the package gives for it. */
export async function launchNpmChromium(): Promise<Browser> {
  const { executable, fontconfigFile } = await unpackChromium();
  // No WebGL is needed for a static page.
  Chromium.setGraphicsMode = false;
  return chromium.launch({
    executablePath: executable,
    args: Chromium.args,
    env: { ...process.env, FONTCONFIG_FILE: fontconfigFile },
  });
}
