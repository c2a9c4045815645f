/**
 * The application's load during a migration: a fixed rate of operations from a pool of separate
 * connections, scheduled open-loop. Each operation's latency runs from the moment it was due,
 * not from when a connection became free, so time spent queued behind a blocked table counts
 * (the coordinated-omission trap of closed-loop load generators).
 */
import pg from "pg";
import { memberId } from "./data.js";

export type OpKind = "member-update" | "member-insert" | "session-insert" | "points-insert" | "benchmark-insert" | "leaderboard-read";

export interface OpRecord {
  kind: OpKind;
  write: boolean;
  /** When the operation was due, ms on the bench's clock (performance.now()). */
  dueAt: number;
  latencyMs: number;
  /** SQLSTATE and message of a failed operation. */
  error?: string;
}

export interface LoadOptions {
  url: string;
  opsPerSecond: number;
  connections: number;
  /** Members 1..members exist; updates and new rows pick among them. */
  members: number;
  seed: number;
}

/** What the migration has created so far, as the application would discover it. */
interface SchemaSeen {
  v2Tables: boolean;
  pointsTrigger: boolean;
}

const WEIGHTS: [OpKind, number][] = [
  ["member-update", 38],
  ["session-insert", 25],
  ["member-insert", 15],
  ["points-insert", 15],
  ["benchmark-insert", 5],
  ["leaderboard-read", 2],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((s, [, w]) => s + w, 0);

/** A small seeded generator, so safe and naive see the same sequence of operations. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pending {
  kind: OpKind;
  dueAt: number;
  n: number;
  member: string;
}

export class Load {
  private readonly records: OpRecord[] = [];
  private readonly idle: pg.Client[] = [];
  private readonly clients: pg.Client[] = [];
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private issued = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private watcher: pg.Client | undefined;
  private readonly schema: SchemaSeen = { v2Tables: false, pointsTrigger: false };
  /** When the load first saw each part of the new schema (bench clock). */
  readonly seen: { v2TablesAt?: number; pointsTriggerAt?: number } = {};
  private readonly random: () => number;
  private drained: (() => void) | undefined;

  constructor(private readonly options: LoadOptions) {
    this.random = mulberry32(options.seed);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.options.connections; i++) {
      const client = new pg.Client({ connectionString: this.options.url, application_name: "bench-load" });
      await client.connect();
      client.on("error", () => {});
      this.clients.push(client);
      this.idle.push(client);
    }
    this.watcher = new pg.Client({ connectionString: this.options.url, application_name: "bench-load-watch" });
    await this.watcher.connect();
    await this.watchSchema();
    this.poller = setInterval(() => void this.watchSchema(), 100);
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), 2);
  }

  /** Stops issuing, waits for every issued operation to finish, and returns them all. */
  async stop(): Promise<OpRecord[]> {
    clearInterval(this.timer);
    clearInterval(this.poller);
    if (this.inFlight > 0 || this.queue.length > 0) await new Promise<void>((r) => (this.drained = r));
    await Promise.all([...this.clients, this.watcher!].map((c) => c.end().catch(() => {})));
    return this.records;
  }

  private async watchSchema(): Promise<void> {
    if (this.schema.pointsTrigger) return;
    try {
      const { rows } = await this.watcher!.query(
        `SELECT to_regclass('public."PointTransaction"') IS NOT NULL AS v2,
                EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'trg_update_member_points') AS trigger`,
      );
      const now = performance.now();
      if (rows[0].v2 && !this.schema.v2Tables) {
        this.schema.v2Tables = true;
        this.seen.v2TablesAt = now;
      }
      if (rows[0].trigger && !this.schema.pointsTrigger) {
        this.schema.pointsTrigger = true;
        this.seen.pointsTriggerAt = now;
      }
    } catch {
      // The next poll tries again; a missed poll only delays when the load starts using the new tables.
    }
  }

  private pick(): OpKind {
    let r = this.random() * TOTAL_WEIGHT;
    let kind: OpKind = "member-update";
    for (const [k, w] of WEIGHTS) {
      if ((r -= w) < 0) {
        kind = k;
        break;
      }
    }
    // Until the v2 tables exist the application only knows v1.
    if (!this.schema.v2Tables && (kind === "points-insert" || kind === "benchmark-insert" || kind === "leaderboard-read")) return "member-update";
    return kind;
  }

  private tick(): void {
    const period = 1000 / this.options.opsPerSecond;
    const due = Math.floor((performance.now() - this.startedAt) / period) + 1;
    while (this.issued < due) {
      const n = this.issued++;
      const op: Pending = { kind: this.pick(), dueAt: this.startedAt + n * period, n, member: memberId(1 + Math.floor(this.random() * this.options.members)) };
      const client = this.idle.pop();
      if (client) void this.execute(client, op);
      else this.queue.push(op);
    }
  }

  private async execute(client: pg.Client, op: Pending): Promise<void> {
    this.inFlight++;
    const { text, values } = this.sqlFor(op);
    let error: string | undefined;
    try {
      await client.query(text, values);
    } catch (e) {
      const pgError = e as Error & { code?: string };
      error = `${pgError.code ?? "client"}: ${pgError.message}`;
    }
    const finished = performance.now();
    this.records.push({ kind: op.kind, write: op.kind !== "leaderboard-read", dueAt: op.dueAt, latencyMs: finished - op.dueAt, ...(error ? { error } : {}) });
    this.inFlight--;
    const next = this.queue.shift();
    if (next) {
      void this.execute(client, next);
    } else {
      this.idle.push(client);
      if (this.inFlight === 0 && this.drained) this.drained();
    }
  }

  private sqlFor(op: Pending): { text: string; values: unknown[] } {
    const id = `load-${this.options.seed}-${op.n}`;
    switch (op.kind) {
      case "member-update":
        return { text: `UPDATE "Member" SET "displayName" = $2, "updatedAt" = now() WHERE id = $1`, values: [op.member, `Renamed ${op.n}`] };
      case "member-insert":
        return {
          text: `INSERT INTO "Member" (id, email, username, "displayName", "updatedAt") VALUES ($1, $1 || '@example.org', $1, 'New member', now())`,
          values: [id],
        };
      case "session-insert":
        return {
          text: `INSERT INTO "Session" (id, "memberId", "tokenHash", "expiresAt") VALUES ($1, $2, md5($1), now() + interval '30 days')`,
          values: [id, op.member],
        };
      case "points-insert":
        return { text: `INSERT INTO "PointTransaction" (id, "memberId", action, points) VALUES ($1, $2, 'daily-login', 10)`, values: [id, op.member] };
      case "benchmark-insert":
        return {
          text: `INSERT INTO "BenchmarkSubmission" (id, "memberId", category, title, score, data, "updatedAt")
                 VALUES ($1, $2, 'GPU', 'Timespy run', $3, '{"gpu": "RTX 4090", "driver": "555.42"}', now())`,
          values: [id, op.member, 10_000 + (op.n % 5_000)],
        };
      case "leaderboard-read":
        return { text: `SELECT id, "totalPoints" FROM "Member" ORDER BY "totalPoints" DESC LIMIT 10`, values: [] };
    }
  }
}
