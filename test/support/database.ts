import pg from "pg";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";

/** URL of the shared test server (or the server `serverUrl` names) with another database name in it. */
export function urlFor(database: string, serverUrl: string = inject("serverUrl")): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates an empty database with a unique name on the shared server (or the one `serverUrl` names) and returns its URL. */
export async function freshDatabase(prefix = "t", serverUrl: string = inject("serverUrl")): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return urlFor(name, serverUrl);
}

/** Runs `fn` with a connected client to `url` and always closes it. */
export async function withTestClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
