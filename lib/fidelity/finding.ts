/* What the preflight reports, shared by its checks. */

/** How serious a finding is: `blocking` findings make the preflight fail. */
export type Severity = 'blocking' | 'warning' | 'info';

/** The DMS task's migration type. */
export type MigrationType = 'full-load' | 'cdc' | 'full-load-and-cdc';

/** The task's `FullLoadSettings.TargetTablePrepMode`. */
export type TargetTablePrepMode = 'DO_NOTHING' | 'DROP_AND_CREATE' | 'TRUNCATE_BEFORE_LOAD';

/** One thing the preflight found. */
export interface Finding {
  readonly severity: Severity;
  /** Stable identifier, e.g. `NO_PRIMARY_KEY`, `LOB_TRUNCATED`, `WAL_LEVEL`. */
  readonly code: string;
  /** `schema.table` on the source. */
  readonly table?: string;
  readonly column?: string;
  readonly message: string;
  /** Rows concerned, when the finding counts stored values. */
  readonly rows?: number;
  /** Keys of the first rows concerned (primary-key column → value as text); never other values. */
  readonly exampleKeys?: ReadonlyArray<Readonly<Record<string, string>>>;
}
