/**
 * The DATABASE_URL the migration and verification commands connect with: a libpq-style URL,
 * kept a Pulumi secret. (migrator/connection.ts is the migrator's side: it reads such a URL.)
 */
import * as pulumi from "@pulumi/pulumi";
import type { SslMode } from "../stacks/index.js";

/** Where and how a client reaches the database; the password is a Pulumi secret. */
export interface ConnectionParts {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  database: pulumi.Input<string>;
  user: pulumi.Input<string>;
  password: pulumi.Input<string>;
  sslMode: SslMode;
  /** CA bundle path, relative to the project root (the commands' working directory) or absolute. */
  sslRootCert?: string | undefined;
}

/**
 * A libpq-style URL for node-postgres (which the migrator uses). `uselibpqcompat=true` gives
 * sslmode its libpq meaning (require = encrypted, verify-ca = CA checked, verify-full = CA and
 * host name checked); without it node-postgres treats require like verify-full.
 */
export function formatConnectionUrl(parts: {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslMode: SslMode;
  sslRootCert?: string | undefined;
}): string {
  const host = parts.host.includes(":") && !parts.host.startsWith("[") ? `[${parts.host}]` : parts.host;
  const params = new URLSearchParams();
  params.set("sslmode", parts.sslMode);
  if (parts.sslMode !== "disable") params.set("uselibpqcompat", "true");
  if (parts.sslRootCert && parts.sslMode !== "disable") params.set("sslrootcert", parts.sslRootCert);
  return (
    `postgresql://${encodeURIComponent(parts.user)}:${encodeURIComponent(parts.password)}@${host}:${parts.port}` +
    `/${encodeURIComponent(parts.database)}?${params.toString()}`
  );
}

/** The same URL as a Pulumi secret: it holds a password, so it must never reach a log, a diff or an output. */
export function connectionUrl(parts: ConnectionParts): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([parts.host, parts.port, parts.database, parts.user, parts.password])
      .apply(([host, port, database, user, password]) =>
        formatConnectionUrl({ host, port, database, user, password, sslMode: parts.sslMode, sslRootCert: parts.sslRootCert }),
      ),
  );
}
