import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Report } from "../bench/compare.js";
import type { ItemOutcome } from "../bench/quality/target-quality.js";
import type { RequestRecord } from "../bench/request-record.js";
import type { TargetReport } from "../bench/run-benchmark.js";
import { InvalidRequestError } from "../core/errors.js";

/** Where a run was started. */
export type RunSource = "cli" | "ui";

/** What a list of runs shows of each. */
export interface RunSummary {
  id: string;
  kind: "compare" | "bench";
  source: RunSource;
  createdAt: string;
  /** The targets, in the report's order. */
  targets: string[];
  /** The workloads they ran, each once. */
  workloads: string[];
}

/** What one target did on one workload, as measured: every request's timings and every item's outcome. */
export interface TargetRun {
  target: string;
  workload: string;
  records: RequestRecord[];
  items: ItemOutcome[];
}

/** One stored run: its report, and per target (in the report's order) its records and outcomes. */
export interface StoredRun extends RunSummary {
  report: Report;
  runs: TargetRun[];
}

export interface Retention {
  /** The newest this many runs are kept. */
  maxRuns: number;
  /** Runs older than this are removed. */
  maxAgeDays: number;
}

const RUN_ID = /^run-[0-9a-z]{8,32}$/;

/**
 * Every comparison and benchmark, kept in one SQLite file (better-sqlite3) for the dashboard's history and diffs:
 * the report as written to report.json, each target's request records and its per-item outcomes. A save applies
 * the retention (by count and by age); the file is readable by its owner only (item texts are workload data).
 */
export class RunStore {
  readonly #db: Database.Database;
  readonly #insertRun: Database.Statement<[string, string, string, number, string, string, string]>;
  readonly #insertTarget: Database.Statement<[string, number, string, string, string, string]>;
  readonly #list: Database.Statement<[number], RunRow>;
  readonly #get: Database.Statement<[string], RunRow & { report: string }>;
  readonly #targets: Database.Statement<[string], TargetRow>;
  readonly #delete: Database.Statement<[string]>;
  readonly #expire: Database.Statement<[number, number]>;

  constructor(
    readonly path: string,
    private readonly retention: Retention = { maxRuns: 200, maxAgeDays: 90 },
  ) {
    this.#db = new Database(path);
    chmodSync(path, 0o600);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("foreign_keys = ON");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        targets TEXT NOT NULL,
        workloads TEXT NOT NULL,
        report TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
      CREATE TABLE IF NOT EXISTS run_targets (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        target TEXT NOT NULL,
        workload TEXT NOT NULL,
        records TEXT NOT NULL,
        items TEXT NOT NULL,
        PRIMARY KEY (run_id, position)
      );
    `);
    this.#insertRun = this.#db.prepare(
      "INSERT INTO runs (id, kind, source, created_at, targets, workloads, report) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#insertTarget = this.#db.prepare(
      "INSERT INTO run_targets (run_id, position, target, workload, records, items) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#list = this.#db.prepare(
      "SELECT id, kind, source, created_at, targets, workloads FROM runs ORDER BY created_at DESC, id DESC LIMIT ?",
    );
    this.#get = this.#db.prepare(
      "SELECT id, kind, source, created_at, targets, workloads, report FROM runs WHERE id = ?",
    );
    this.#targets = this.#db.prepare(
      "SELECT target, workload, records, items FROM run_targets WHERE run_id = ? ORDER BY position",
    );
    this.#delete = this.#db.prepare("DELETE FROM runs WHERE id = ?");
    // Older than the age limit, or past the newest `maxRuns`.
    this.#expire = this.#db.prepare(`
      DELETE FROM runs WHERE created_at < ? OR id NOT IN (
        SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT ?
      )`);
  }

  /** The store in `dir` (created, owner only, if missing): `runs.sqlite`. */
  static open(dir: string, retention?: Retention): RunStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new RunStore(join(dir, "runs.sqlite"), retention);
  }

  /** Saves a run (the report, and the full target reports its records and items come from); returns its id. */
  save(
    kind: RunSummary["kind"],
    source: RunSource,
    report: Report,
    targets: readonly TargetReport[],
  ): string {
    const id = `run-${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
    const names = targets.map((target) => target.target);
    const workloads = [...new Set(targets.map((target) => target.workload))];
    const createdAt = Date.parse(report.created_at) || Date.now();
    this.#db.transaction(() => {
      this.#insertRun.run(
        id,
        kind,
        source,
        createdAt,
        JSON.stringify(names),
        JSON.stringify(workloads),
        JSON.stringify(report),
      );
      targets.forEach((target, position) => {
        this.#insertTarget.run(
          id,
          position,
          target.target,
          target.workload,
          JSON.stringify(target.records ?? []),
          JSON.stringify(target.items ?? []),
        );
      });
      this.#expire.run(Date.now() - this.retention.maxAgeDays * 86_400_000, this.retention.maxRuns);
    })();
    return id;
  }

  /** The newest runs first. */
  list(limit = 100): RunSummary[] {
    return this.#list.all(limit).map(summaryOf);
  }

  /** A run by id; a malformed or unknown id is an `InvalidRequestError` naming it. */
  get(id: string): StoredRun {
    if (!RUN_ID.test(id)) throw new InvalidRequestError(`not a run id: ${JSON.stringify(id)}`, "id");
    const row = this.#get.get(id);
    if (!row) throw new InvalidRequestError(`no run ${id} in ${this.path}`, "id");
    const runs = this.#targets.all(id).map((target) => ({
      target: target.target,
      workload: target.workload,
      records: JSON.parse(target.records) as RequestRecord[],
      items: JSON.parse(target.items) as ItemOutcome[],
    }));
    return { ...summaryOf(row), report: JSON.parse(row.report) as Report, runs };
  }

  /** Removes a run; false when there was none. */
  delete(id: string): boolean {
    return this.#delete.run(id).changes > 0;
  }

  close(): void {
    this.#db.close();
  }
}

interface RunRow {
  id: string;
  kind: RunSummary["kind"];
  source: RunSource;
  created_at: number;
  targets: string;
  workloads: string;
}

interface TargetRow {
  target: string;
  workload: string;
  records: string;
  items: string;
}

function summaryOf(row: RunRow): RunSummary {
  return {
    id: row.id,
    kind: row.kind,
    source: row.source,
    createdAt: new Date(row.created_at).toISOString(),
    targets: JSON.parse(row.targets) as string[],
    workloads: JSON.parse(row.workloads) as string[],
  };
}
