import * as pulumi from "@pulumi/pulumi";
import type { LocalStackSettings } from "../stacks/index.js";
import type { ControlEvidence } from "./controls.js";

/**
 * The database the migrations go into, whoever made it: an RDS instance of this stack
 * (database.ts) or an existing server named in the local stack's configuration.
 */
export interface DatabaseTarget {
  /** The database's own endpoint. */
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  database: string;
  /** A role that may create roles and grant on the database (the RDS master user, or localUser). */
  adminUser: pulumi.Output<string>;
  /** A Pulumi secret. */
  adminPassword: pulumi.Output<string>;
  /**
   * Changes exactly when the database is replaced by another one. The migration commands list
   * it in `triggers`, so a new database gets the whole set again.
   */
  identity: pulumi.Output<string>;
  /** What anything connecting must wait for. */
  resources: pulumi.Resource[];
  /** The security posture as the resources report it (reported-posture.ts), for the `database` output: no secrets. */
  posture: pulumi.Input<Record<string, unknown>>;
  /** Tags, subnet group and event subscriptions for the Security Hub controls; none for a server the stack did not create. */
  controlEvidence: pulumi.Output<ControlEvidence> | undefined;
}

/** The local stack's target: an existing PostgreSQL; nothing is created for it. */
export function localTarget(settings: LocalStackSettings): DatabaseTarget {
  const { host, port, database, user, password } = settings.local;
  return {
    host: pulumi.output(host),
    port: pulumi.output(port),
    database,
    adminUser: pulumi.output(user),
    adminPassword: pulumi.secret(password.reveal()),
    identity: pulumi.output(`${host}:${port}/${database}`),
    resources: [],
    controlEvidence: undefined,
    posture: {
      kind: "existing PostgreSQL (not managed by this stack)",
      endpoint: { address: host, port },
      database,
      tls: { sslMode: settings.connection.sslMode, caBundle: settings.connection.sslRootCert ?? null },
    },
  };
}
