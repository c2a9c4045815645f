import pg from "pg";

/** A session that holds a table lock in an open transaction until released. */
export async function holdLock(url: string, sql: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: "holder-app" });
  await client.connect();
  await client.query("BEGIN");
  await client.query(sql);
  const pid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  let released = false;
  return {
    pid,
    release: async () => {
      if (released) return;
      released = true;
      await client.query("COMMIT");
      await client.end();
    },
  };
}
