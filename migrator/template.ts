/**
 * What `migrate new` writes: comments only, until its SQL is written. The reader refuses a file
 * that is still exactly this text (files.ts), although other comment-only files are recorded as
 * no-ops as Prisma records them: a forgotten template must not be applied and then be an
 * "edited applied file" once its SQL is written.
 */
export function migrationTemplate(name: string, noTransaction: boolean): string {
  if (noTransaction) {
    return [
      "-- migrate:no-transaction",
      `-- ${name}: runs outside a transaction, so it holds one statement that cannot run in one.`,
      "-- Build an index without blocking writes (IF NOT EXISTS: a rerun after an interrupted build is safe;",
      "-- the migrator drops an INVALID index it left and builds it again):",
      '-- CREATE INDEX CONCURRENTLY IF NOT EXISTS "Table_column_idx" ON "Table" ("column");',
      "",
    ].join("\n");
  }
  return [`-- ${name}: the whole file runs in one transaction; a failure rolls all of it back.`, "", ""].join("\n");
}

/** Whether a file (normalised text) is still the template `new` wrote for this name. */
export function isUntouchedTemplate(normalisedText: string, name: string): boolean {
  return normalisedText === migrationTemplate(name, false) || normalisedText === migrationTemplate(name, true);
}
