/**
 * The v1.0 database the zero-downtime run starts from: sql/migrations/0_init as production
 * runs it, filled with generated rows in proportion to the members (one session per two
 * members, one team per hundred, ...). Built once, then copied per run with CREATE DATABASE
 * ... TEMPLATE, so safe and naive start from the same bytes.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BenchServer } from "./server.js";

export interface DataShape {
  members: number;
  admins: number;
  sessions: number;
  teams: number;
  teamMembers: number;
  events: number;
  eventAttendees: number;
}

export function shapeFor(members: number): DataShape {
  return {
    members,
    admins: 20,
    sessions: Math.round(members / 2),
    teams: Math.max(1, Math.round(members / 100)),
    teamMembers: Math.round(members / 4),
    events: Math.max(1, Math.round(members / 200)),
    eventAttendees: Math.round(members / 2),
  };
}

/** Member ids are m0000001...; the load picks existing members by number. */
export const memberId = (i: number) => `m${String(i).padStart(8, "0")}`;

/** Creates the v1.0 schema in `database` and fills it; returns how long that took. */
export async function loadV1Database(server: BenchServer, database: string, migrationsDir: string, shape: DataShape): Promise<number> {
  const started = performance.now();
  const initSql = await readFile(path.join(migrationsDir, "0_init", "migration.sql"), "utf8");
  await server.createDatabase(database);
  await server.query(async (c) => {
    await c.query(initSql);
    // The rows are consistent by construction; skipping the foreign-key triggers makes loading minutes faster.
    await c.query(`SET session_replication_role = replica`);
    const { members, admins, sessions, teams, teamMembers, events, eventAttendees } = shape;
    await c.query(`INSERT INTO "Admin" (id, email, name, role, "passwordHash", "updatedAt")
      SELECT 'a' || i, 'admin' || i || '@example.org', 'Admin ' || i, 'MODERATOR', md5(i::text), now() FROM generate_series(1, ${admins}) AS i`);
    await c.query(`INSERT INTO "Member" (id, email, username, "displayName", "avatarUrl", bio, "discordId", "createdAt", "updatedAt")
      SELECT 'm' || lpad(i::text, 8, '0'), 'member' || i || '@example.org', 'user' || i, 'Member number ' || i,
             'https://cdn.example.org/avatars/' || md5(i::text) || '.png',
             CASE WHEN i % 3 = 0 THEN NULL ELSE repeat('Builds things, benchmarks GPUs, shares resources. ', 1 + i % 4) END,
             CASE WHEN i % 2 = 0 THEN (100000000000000000 + i)::text END,
             now() - (i % 1000) * interval '1 day', now() - (i % 100) * interval '1 hour'
        FROM generate_series(1, ${members}) AS i`);
    await c.query(`INSERT INTO "Session" (id, "memberId", "tokenHash", "userAgent", "expiresAt", "createdAt")
      SELECT 's' || i, 'm' || lpad((1 + (i::bigint * 7919) % ${members})::text, 8, '0'), md5('token' || i), 'Mozilla/5.0 (X11; Linux x86_64)',
             now() + interval '30 days', now() - (i % 30) * interval '1 day'
        FROM generate_series(1, ${sessions}) AS i`);
    await c.query(`INSERT INTO "Team" (id, slug, name, description, "updatedAt")
      SELECT 't' || i, 'team-' || i, 'Team ' || i, 'A team of builders', now() FROM generate_series(1, ${teams}) AS i`);
    // (team, member) pairs must be unique: member i joins team i mod teams.
    await c.query(`INSERT INTO "TeamMember" (id, "teamId", "memberId", role)
      SELECT 'tm' || i, 't' || (1 + i % ${teams}), 'm' || lpad(i::text, 8, '0'), 'MEMBER' FROM generate_series(1, ${teamMembers}) AS i`);
    await c.query(`INSERT INTO "Event" (id, "teamId", "createdById", title, location, "startsAt", "updatedAt")
      SELECT 'e' || i, 't' || (1 + i % ${teams}), 'a' || (1 + i % ${admins}), 'Meetup ' || i, 'Online',
             now() + (i % 60 - 30) * interval '1 day', now() FROM generate_series(1, ${events}) AS i`);
    // (event, member) pairs must be unique: each event's attendees step through the members by a prime stride.
    await c.query(`INSERT INTO "EventAttendee" (id, "eventId", "memberId", status)
      SELECT 'ea' || i, 'e' || (1 + i % ${events}), 'm' || lpad((1 + ((i / ${events})::bigint * (7919 + ${events}) + i % ${events}) % ${members})::text, 8, '0'), 'GOING'
        FROM generate_series(1, ${eventAttendees}) AS i`);
    await c.query(`RESET session_replication_role`);
    // As a long-running production database would be: statistics known, visibility map set.
    await c.query(`VACUUM ANALYZE`);
    await c.query(`CHECKPOINT`);
  }, database);
  return performance.now() - started;
}
