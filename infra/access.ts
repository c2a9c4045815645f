import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "../stacks/index.js";
import { APP_TABLE_PRIVILEGES, APPEND_ONLY_PRIVILEGES } from "./privilege-intent.js";
import { roleVerifier, saslprepMayChange } from "./scram.js";
import type { DatabaseTarget } from "./target.js";

export interface DatabaseAccessArgs {
  settings: StackSettings;
  target: DatabaseTarget;
}

/** A resource-name part from a table name ("PointTransaction" -> "pointtransaction"). */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Roles and privileges, through the postgresql provider connected as the administrator:
 * - the migrator role logs in with the configured secret password and owns everything the
 *   migrations create (so privileges on future tables can be granted "FOR ROLE migrator"); the
 *   provider is given the password's SCRAM-SHA-256 verifier, never the password (scram.ts says why);
 * - the application role reads and writes every table the migrations create, except the
 *   append-only ones (the `PointTransaction` ledger), where it may only INSERT and SELECT;
 * - the auditor role reads every table and the migration ledger, and writes nothing.
 * Default privileges are in place before the first migration runs, so tables created by
 * later migrations are covered without a new grant. They cannot leave a table out, so they give
 * the application UPDATE and DELETE on the append-only tables too: the migrator takes those away
 * after every apply, from the stack's privilege intent (privilege-intent.ts, which
 * sql/verify/15_table_privileges.sql checks in the database).
 */
export class DatabaseAccess extends pulumi.ComponentResource {
  readonly provider: postgresql.Provider;
  readonly migratorRole: pulumi.Output<string>;
  /** Everything the migrations must wait for. */
  readonly ready: pulumi.Resource[];
  private readonly settings: StackSettings;
  private readonly name: string;
  private readonly appRoleName: pulumi.Output<string>;
  private readonly auditorRoleName: pulumi.Output<string>;

  constructor(name: string, args: DatabaseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:DatabaseAccess", name, {}, opts);
    const { settings, target } = args;
    const { access, connection, migrations } = settings;
    this.settings = settings;
    this.name = name;
    const database = target.database;

    this.provider = new postgresql.Provider(
      `${name}-provider`,
      {
        host: connection.hostOverride ?? target.host,
        port: connection.portOverride ?? target.port,
        database,
        username: target.adminUser,
        password: target.adminPassword,
        sslmode: connection.sslMode,
        ...(connection.sslRootCert && connection.sslMode !== "disable" ? { sslrootcert: connection.sslRootCert } : {}),
        // The RDS master user is not a superuser; the provider then avoids what needs one.
        superuser: false,
        connectTimeout: 15,
        // The provider chooses its SQL by this version instead of asking the server for it: the
        // stack's major for RDS and Aurora; an existing server's is not known here, and 17 is what
        // the tests run.
        expectedVersion: settings.environment === "local" ? "17" : String(settings.rds.engineMajor),
      },
      { parent: this, dependsOn: target.resources, replacementTrigger: target.identity },
    );
    // A new database (a replaced instance, another server) must get every role and grant again,
    // even when its endpoint reads the same, and the engine changes a provider without replacing
    // what it manages: so the provider and each resource are replaced when the identity changes.
    // The old ones go through the old provider, on the old database.
    const child = { parent: this, provider: this.provider, replacementTrigger: target.identity };
    // Roles own the tables, schemas hold them: `pulumi destroy` (or a replacement) releases these
    // from the state instead of dropping them, so no data, schema or ledger is ever dropped by
    // Pulumi. Grants are not retained: a replaced grant must revoke what it gave.
    const holdsData = { ...child, retainOnDelete: true };

    // IAM database authentication (prod) lets the application and the auditor log in with IAM
    // tokens; without it they are group roles that real login roles are made members of.
    const iamLogin = settings.environment !== "local" && settings.rds.iamAuthentication;

    if (saslprepMayChange(access.migratorPassword.reveal())) {
      pulumi.log.warn(
        "pg-migrations:migratorPassword is not ASCII and SASLprep would change it: the migrator (node-postgres) logs in with it, " +
          "but a libpq client such as psql normalizes it first and is refused. Choose an ASCII password, or an NFKC-normalized one without spaces or invisible characters, if people log in with psql.",
        this,
      );
    }
    const migrator = new postgresql.Role(
      `${name}-migrator`,
      {
        name: access.migratorRole,
        login: true,
        // A verifier, not the password: the provider's quoting would change a backslash, and the
        // clear password would reach its state and the server's statement log (scram.ts).
        password: pulumi.secret(roleVerifier(access.migratorPassword.reveal(), access.migratorRole)),
        connectionLimit: 5,
        // Unqualified names in migrations land in the application schema, never in a schema named like the role.
        searchPaths: [access.schema],
      },
      holdsData,
    );
    const app = new postgresql.Role(
      `${name}-app`,
      { name: access.appRole, login: iamLogin, ...(iamLogin ? { roles: ["rds_iam"] } : {}), searchPaths: [access.schema] },
      holdsData,
    );
    const auditor = new postgresql.Role(
      `${name}-auditor`,
      { name: access.auditorRole, login: iamLogin, ...(iamLogin ? { roles: ["rds_iam"] } : {}), searchPaths: [access.schema] },
      holdsData,
    );
    this.migratorRole = migrator.name;
    this.appRoleName = app.name;
    this.auditorRoleName = auditor.name;

    const ready: pulumi.Resource[] = [migrator, app, auditor];
    // GRANT/REVOKE and ALTER DEFAULT PRIVILEGES rewrite one catalog row per object; two at once
    // on the same database or schema fail with "tuple concurrently updated" (a known provider
    // issue, cyrilgdn/terraform-provider-postgresql#178). So they run one after the other.
    let previous: pulumi.Resource | undefined;
    const inSeries = <T extends pulumi.Resource>(make: (dependsOn: pulumi.Resource[]) => T, dependsOn: pulumi.Resource[]): T => {
      const r = make([...dependsOn, ...(previous ? [previous] : [])]);
      previous = r;
      ready.push(r);
      return r;
    };
    const grant = (suffix: string, args: postgresql.GrantArgs, dependsOn: pulumi.Resource[] = []) =>
      inSeries((deps) => new postgresql.Grant(`${name}-${suffix}`, args, { ...child, dependsOn: deps }), dependsOn);
    const defaults = (suffix: string, args: postgresql.DefaultPrivilegesArgs, dependsOn: pulumi.Resource[] = []) =>
      inSeries((deps) => new postgresql.DefaultPrivileges(`${name}-${suffix}`, args, { ...child, dependsOn: deps }), dependsOn);

    grant("migrator-database", { role: migrator.name, database, objectType: "database", privileges: ["CONNECT", "CREATE", "TEMPORARY"] });
    grant("app-database", { role: app.name, database, objectType: "database", privileges: ["CONNECT"] });
    grant("auditor-database", { role: auditor.name, database, objectType: "database", privileges: ["CONNECT"] });

    // The application schema: `public` exists already; any other is created, owned by the migrator.
    const schemaDeps: pulumi.Resource[] = [];
    if (access.schema !== "public") {
      const schema = new postgresql.Schema(`${name}-schema`, { name: access.schema, database, owner: migrator.name, ifNotExists: true }, holdsData);
      schemaDeps.push(schema);
      ready.push(schema);
    }
    grant("migrator-schema", { role: migrator.name, database, schema: access.schema, objectType: "schema", privileges: ["USAGE", "CREATE"] }, schemaDeps);
    grant("app-schema", { role: app.name, database, schema: access.schema, objectType: "schema", privileges: ["USAGE"] }, schemaDeps);
    grant("auditor-schema", { role: auditor.name, database, schema: access.schema, objectType: "schema", privileges: ["USAGE"] }, schemaDeps);

    // The ledger's schema exists before the first migration, owned by the migrator (which
    // creates the ledger table in it), so the auditor can be granted reading it.
    const ledgerSchema = new postgresql.Schema(`${name}-ledger-schema`, { name: migrations.ledgerSchema, database, owner: migrator.name, ifNotExists: true }, holdsData);
    ready.push(ledgerSchema);
    grant("auditor-ledger-schema", { role: auditor.name, database, schema: migrations.ledgerSchema, objectType: "schema", privileges: ["USAGE"] }, [ledgerSchema]);

    const forMigrator = { database, owner: migrator.name };
    defaults("app-tables", { ...forMigrator, role: app.name, schema: access.schema, objectType: "table", privileges: APP_TABLE_PRIVILEGES }, schemaDeps);
    defaults("app-sequences", { ...forMigrator, role: app.name, schema: access.schema, objectType: "sequence", privileges: ["USAGE", "SELECT"] }, schemaDeps);
    defaults("auditor-tables", { ...forMigrator, role: auditor.name, schema: access.schema, objectType: "table", privileges: ["SELECT"] }, schemaDeps);
    defaults("auditor-ledger", { ...forMigrator, role: auditor.name, schema: migrations.ledgerSchema, objectType: "table", privileges: ["SELECT"] }, [ledgerSchema]);

    if (access.pgStatStatements) {
      ready.push(new postgresql.Extension(`${name}-pg-stat-statements`, { name: "pg_stat_statements", database }, holdsData));
    }

    this.ready = ready;
    this.registerOutputs({ migratorRole: this.migratorRole });
  }

  /**
   * Grants that need the migrated tables, created after the last migration:
   * - the append-only tables: INSERT and SELECT for the application. This Grant takes nothing
   *   away: the provider revokes only the privileges a Grant lists (REVOKE INSERT, SELECT, then
   *   GRANT them), so UPDATE and DELETE from the default privileges would stay; the migrator's
   *   privilege step, which ran just before, is what removes them. The Grant stays because
   *   deleting it from a deployed stack would REVOKE INSERT and SELECT, and the application could
   *   not write the ledger until the next apply;
   * - the auditor reads every table that exists now, including any that predate its default privileges.
   */
  afterMigrations(lastMigration: pulumi.Resource | undefined): pulumi.Resource[] {
    const { access } = this.settings;
    const database = this.settings.environment === "local" ? this.settings.local.database : this.settings.rds.databaseName;
    // One after the other, for the reason given in the constructor.
    const grants: pulumi.Resource[] = [];
    const after = () => ({ parent: this, provider: this.provider, dependsOn: [...(lastMigration ? [lastMigration] : []), ...grants.slice(-1)] });
    for (const table of access.immutableTables) {
      grants.push(
        new postgresql.Grant(
          `${this.name}-app-${slug(table)}-append-only`,
          { role: this.appRoleName, database, schema: access.schema, objectType: "table", objects: [table], privileges: APPEND_ONLY_PRIVILEGES },
          after(),
        ),
      );
    }
    grants.push(
      new postgresql.Grant(
        `${this.name}-auditor-tables`,
        { role: this.auditorRoleName, database, schema: access.schema, objectType: "table", objects: [], privileges: ["SELECT"] },
        after(),
      ),
    );
    return grants;
  }
}
