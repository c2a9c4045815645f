import { expect, test } from "vitest";
import { freshDatabase, withTestClient } from "./support/database.js";

test("the shared server is PostgreSQL 17 and gives each test its own database", async () => {
  const a = await freshDatabase();
  const b = await freshDatabase();
  expect(a).not.toEqual(b);
  const version = await withTestClient(a, async (c) => (await c.query("show server_version_num")).rows[0].server_version_num);
  expect(Number(version)).toBeGreaterThanOrEqual(170000);
  expect(Number(version)).toBeLessThan(180000);
});
