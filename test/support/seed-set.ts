import path from "node:path";
import { ROOT } from "./cli.js";

/** The v2.0 migration set and its checks, as shipped (sql/migrations, sql/verify). */
export const MIGRATIONS = path.join(ROOT, "sql", "migrations");
export const VERIFY = path.join(ROOT, "sql", "verify");

/** Every check the set promises, in the order sql/verify runs them. */
export const CHECKS = [
  "baseline_recorded",
  "migrations_applied",
  "no_unknown_migrations",
  "v2_tables",
  "v2_enums",
  "member_columns",
  "member_foreign_keys",
  "no_not_valid_constraints",
  "v2_indexes",
  "no_invalid_indexes",
  "gin_jsonb_path_ops",
  "points_trigger",
  "ledger_immutable",
  "member_points_consistent",
  "table_privileges",
];
