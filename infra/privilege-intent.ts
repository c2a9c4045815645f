import type { AccessSettings, MigrationSettings } from "../stacks/types.js";
import { snapshotTableOf } from "../migrator/catalog/index.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import type { PrivilegeIntent, PrivilegeRule, TablePrivilege } from "../migrator/privileges/intent.js";

/** What the application may do on every table the migrations create, except the immutable ones. */
export const APP_TABLE_PRIVILEGES: TablePrivilege[] = ["SELECT", "INSERT", "UPDATE", "DELETE"];
/** What it may do on the immutable (append-only) tables: add rows and read them, nothing else. */
export const APPEND_ONLY_PRIVILEGES: TablePrivilege[] = ["INSERT", "SELECT"];

/**
 * The table privileges this stack intends, as the migrator enforces them after every apply and
 * 15_table_privileges.sql checks them: the migrator owns every table of the application and
 * ledger schemas; the application reads and writes the application's tables, only INSERT and
 * SELECT on the immutable ones, and nothing in the ledger; the auditor reads everything there.
 * Default privileges cannot say "except this table", and the provider's Grant revokes only what
 * it lists, so this, not a Grant, is what takes UPDATE and DELETE on the ledger away.
 */
export function privilegeIntent(settings: {
  access: Pick<AccessSettings, "schema" | "migratorRole" | "appRole" | "auditorRole" | "immutableTables">;
  migrations: Pick<MigrationSettings, "ledgerSchema">;
}): PrivilegeIntent {
  const { access, migrations } = settings;
  const app = access.appRole;
  const auditor = access.auditorRole;
  const grants: PrivilegeRule[] = [
    { role: app, schema: access.schema, privileges: APP_TABLE_PRIVILEGES },
    ...access.immutableTables.map((table) => ({ role: app, schema: access.schema, table, privileges: APPEND_ONLY_PRIVILEGES })),
    { role: auditor, schema: access.schema, privileges: ["SELECT"] },
  ];
  if (migrations.ledgerSchema === access.schema) {
    // The history shares the application's schema: the application still must not read or rewrite it.
    const ledger = { schema: migrations.ledgerSchema, table: DEFAULT_LEDGER.table };
    for (const table of [ledger.table, snapshotTableOf(ledger)]) grants.push({ role: app, schema: access.schema, table, privileges: [] });
  } else {
    grants.push({ role: auditor, schema: migrations.ledgerSchema, privileges: ["SELECT"] });
  }
  return { owner: access.migratorRole, schemas: [...new Set([access.schema, migrations.ledgerSchema])], grants };
}
