/**
 * Names the program gives the resources a review looks for in `pulumi preview --json`. Kept here,
 * with no import at all, so that review/ can read them without loading Pulumi or the stack readers
 * (test/engine-boundary.test.ts and the ESLint rule hold review/ to this file alone in infra/).
 */
export const MIGRATIONS_NAME = "migration";

/** The one command.local.Command that applies the set (Migrations names it `<name>-apply`). */
export const APPLY_COMMAND_NAME = `${MIGRATIONS_NAME}-apply`;

/** Resource types whose replacement or deletion loses the database: RDS instances and clusters, and the postgresql provider's roles, schemas and databases. */
export const DATABASE_RESOURCE_TYPES: readonly RegExp[] = [
  /^aws:rds\/[A-Za-z]+:(Instance|Cluster|ClusterInstance|GlobalCluster)$/,
  /^postgresql:index\/(role|schema|database):(Role|Schema|Database)$/,
];
