/**
 * The engine contract. An app is a set of stores; a store (`{ id, engine, source, target }`) is moved by
 * an engine through the same phases. Steps are generated per store from these phases (`export:<id>`,
 * `import:<id>`, `verify:<id>` …), so adding an engine never touches the runner, the playbooks or another
 * engine. An engine implements the phases it can; `phases` lists them, and the plan says which a store
 * lacks ("follow: not available for files yet").
 *
 * Everything here is types and node builtins only: lib/core sits at the bottom of the layers.
 */
import type { Logger } from './logger.ts';
import type { Progress } from './progress.ts';

/** What an engine needs of the redactor: register a secret it learns (a generated password, a hash). */
export interface SecretSink {
  add(...values: Array<string | undefined | null>): unknown;
  redact(text: string): string;
}

/** The kinds of store ferry knows. */
export type EngineKind = 'mysql' | 'redis' | 'postgres' | 'files';

/** Every phase a store can go through, in the order a migration meets them. */
export const ENGINE_PHASES = [
  'facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote',
] as const;
export type EnginePhase = (typeof ENGINE_PHASES)[number];

/**
 * Where a store lands in the operator's compose project. `service` is the compose service that holds it
 * (a database server, or for files the service that mounts the directory). Files name either a bind
 * mount (`hostPath`, a host directory the stack mounts) or a named `volume`; `containerPath` is where the
 * app sees it.
 */
export interface StoreTarget {
  readonly service: string;
  /** 127.0.0.1 port the service is published on during the migration (database engines). */
  readonly migrationPort?: number;
  /** Files: a named volume of the compose project. */
  readonly volume?: string;
  /** Files: a host directory bind-mounted into the service. */
  readonly hostPath?: string;
  /** Files: the path inside the container (e.g. `/app/storage`). */
  readonly containerPath?: string;
}

/** One store of the app, as the config declares it (secrets already resolved, never logged). */
export interface Store<Options = Readonly<Record<string, unknown>>> {
  /** Stable id (kebab-case): names steps (`export:<id>`), the artifact directory and report entries. */
  readonly id: string;
  readonly engine: EngineKind;
  /** A URL (`mysql://…`, `postgres://…`, `redis://…`) or, for files, an absolute host path. */
  readonly source: string;
  readonly target: StoreTarget;
  /** Engine-specific options, validated by the engine's schema at the config boundary. */
  readonly options: Options;
}

/** A preflight finding as data: what breaks (`blocker`), what is rewritten, what to know. */
export interface EngineFinding {
  readonly severity: 'blocker' | 'warning' | 'rewrite' | 'info';
  /** Stable id of the check (`postgres-major-downgrade`). */
  readonly check: string;
  /** The thing concerned (`table public.orders`, `file storage/a.jpg`). */
  readonly subject: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

/** One verdict of a verify: a table, a key prefix, a directory. */
export interface ReportEntry {
  /** `table shop.orders`, `db 0`, `dir images/`. */
  readonly subject: string;
  readonly ok: boolean;
  /** Counts that matter for the subject (`rows`, `bytes`, `files`, `keys`…). */
  readonly counts?: Readonly<Record<string, number>>;
  /** What differs, one line each, already redacted (key ranges, keys, paths). */
  readonly findings?: readonly string[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly entries: readonly ReportEntry[];
  readonly seconds: number;
}

/** Control of the stack service that holds a store (stopped around physical restores, files helpers). */
export interface ServiceHandle {
  /** Host path of the service's data directory, when it is a bind mount. */
  readonly dataDir?: string;
  stop(): Promise<void>;
  /** Start and wait until healthy. */
  start(): Promise<void>;
  /** The compose project's name and its `compose config` output (files: real volume names, the service's user). */
  composeView?(): Promise<{ readonly project: string; readonly yaml: string }>;
}

/**
 * A service whose data directory ferry may write while it is stopped (placing a Redis RDB): the
 * physical restore paths need the directory, so it is not optional here.
 */
export interface ServiceControl extends ServiceHandle {
  readonly dataDir: string;
}

/** The one params object every engine phase receives. */
export interface EngineParams<Options = Readonly<Record<string, unknown>>> {
  readonly store: Store<Options>;
  /**
   * How ferry reaches the target during the migration (e.g. `mysql://root:…@127.0.0.1:33306`), or for
   * files the host path / volume; undefined before the stack exists (dry runs plan without it).
   */
  readonly targetUrl: string | undefined;
  /** This store's artifact directory (`<stateDir>/artifacts/<id>`): the export, also the rollback backup. */
  readonly artifactDir: string;
  /** This store's private state (progress files, freeze records): `<stateDir>/stores/<id>`. */
  readonly stateDir: string;
  /** The compose service that holds the store (may be absent in tests and dry runs). */
  readonly service?: ServiceHandle;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly progress: Progress;
  readonly redactor: SecretSink;
  /**
   * Names what follow creates on the source (replication account, ACL user, slot, publication, role);
   * default the store's id. A rehearsal passes its own (`<id>@<its project>`) so that it never collides
   * with a real run's, which may be following the same source.
   */
  readonly followName?: string;
}

/** What an export left: a summary for the journal and report, and the files it wrote. */
export interface ExportSummary {
  /** Small JSON for the report: rows/keys/files, bytes, snapshot coordinates… */
  readonly data: Readonly<Record<string, unknown>>;
  /** The manifest (or equivalent) path whose sha256 the journal records. */
  readonly manifest: string;
  /**
   * What the export holds, where the manifest file's bytes alone do not say it: the files engine's
   * export may leave `manifest` as it was and record a change beside it (its delta), so a new export
   * of a changed tree has the same manifest sha256 and another `contentId` (the tree's fingerprint).
   * The import step runs again when either changes.
   */
  readonly contentId?: string;
}

export interface ImportSummary {
  readonly data: Readonly<Record<string, unknown>>;
}

/** What a freeze did, recorded before the change so a kill still leaves something to thaw. */
export type FreezeRecord = Readonly<Record<string, unknown>>;

/** A follower's position against its source: lag in the engine's own unit (bytes, offsets, files). */
export interface FollowStatus {
  readonly following: boolean;
  /** 0 when the target holds everything the source has written. */
  readonly lag: number;
  readonly unit: string;
  /** Human form ("binlog 2 events behind"). */
  readonly detail: string;
}

/**
 * The contract. Phases are optional except the core four; a missing phase is reported by the plan
 * (`phases` says what is there). Every phase must be idempotent: run twice, it changes nothing more.
 */
export interface Engine<Options = Readonly<Record<string, unknown>>, Facts = unknown> {
  readonly kind: EngineKind;
  /** The phases this engine implements. */
  readonly phases: readonly EnginePhase[];
  /** Validate and default this engine's store options at the config boundary; throws FerryError. */
  parseOptions(raw: unknown, storeId: string): Options;
  /** Read-only facts about source and target (versions, sizes, settings). */
  facts(p: EngineParams<Options>): Promise<Facts>;
  /** Judge the facts: blockers, rewrites, warnings. Pure. */
  assess(facts: Facts, store: Store<Options>): readonly EngineFinding[];
  /** A fingerprint of the source's data: resume is refused when it changed since the export. */
  sourceState(p: EngineParams<Options>): Promise<string>;
  /**
   * True when `artifactDir` already holds a complete export of the source as it is now. `sourceState`:
   * this engine's `sourceState(p)` as the caller read it a moment ago, so it is not read twice.
   */
  exported?(p: EngineParams<Options>, sourceState?: string): Promise<boolean>;
  /** The consistent export (also the rollback backup). Resumable; never changes the source. */
  export(p: EngineParams<Options>): Promise<ExportSummary>;
  /** Load the export into the target. Resumable; a finished import run again changes nothing. */
  import(p: EngineParams<Options>): Promise<ImportSummary>;
  /** Undo an import: remove what ferry loaded into the target (never touches the source). */
  clearTarget?(p: EngineParams<Options>): Promise<void>;
  /** Compare source (or the export) with the target. */
  verify(p: EngineParams<Options>): Promise<VerifyReport>;
  /** Stop writes to this store on the source (read-only, pause, quiet window); record first. */
  freeze?(p: EngineParams<Options>): Promise<FreezeRecord>;
  /** Lift exactly what `freeze` recorded; safe twice and when nothing was frozen. */
  thaw?(p: EngineParams<Options>, record: FreezeRecord | undefined): Promise<void>;
  /** rollback --with-data: copy what the stack wrote after the cutover back to the source. */
  reverse?(p: EngineParams<Options>): Promise<ImportSummary>;
  /**
   * One sample of the source's write activity (binlog position and write counters, Redis's dirty
   * counter…): two equal samples mean nothing was written in between. The freeze's quiet proof
   * compares them across stores; not a phase of its own (no step), so it is not in `phases`.
   */
  quietSample?(p: EngineParams<Options>): Promise<string>;
  /** Start the target following the source from the export's coordinates. */
  follow?(p: EngineParams<Options>): Promise<FollowStatus>;
  /** Wait (bounded by `budgetMs`) until the target has everything the frozen source wrote. */
  catchUp?(p: EngineParams<Options>, budgetMs: number): Promise<FollowStatus>;
  /** Stop following and remove what follow created (on both sides); the target stands alone. */
  promote?(p: EngineParams<Options>): Promise<void>;
  /**
   * Abort during the follow phase (the undo of `follow:<id>`): replication stopped and reset, everything
   * follow created on the source removed, the target's settings put back. Safe twice and when nothing ran.
   * Not a phase of its own (no step): an engine with `follow` should have it.
   */
  abortFollow?(p: EngineParams<Options>): Promise<void>;
  /**
   * Verify while following: pin a consistent point on the source for a moment, let the follower stop
   * exactly there, compare both at that point, let it continue. The app keeps running on the host.
   */
  verifyPinned?(p: EngineParams<Options>): Promise<VerifyReport>;
  /** The follower's lag now (plan, report, the follow step's check); read-only. Not a phase of its own. */
  followStatus?(p: EngineParams<Options>): Promise<FollowStatus>;
}

/** Identity helper that checks the engine's shape and freezes it. */
export function defineEngine<O, F>(engine: Engine<O, F>): Readonly<Engine<O, F>> {
  for (const phase of engine.phases) {
    const has = phase === 'facts' || phase === 'assess' ? true : typeof (engine as unknown as Record<string, unknown>)[phase] === 'function';
    if (!has) throw new TypeError(`Engine \`${engine.kind}\` lists the phase \`${phase}\` but does not implement it`);
  }
  return Object.freeze({ ...engine });
}
