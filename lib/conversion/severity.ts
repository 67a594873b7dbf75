/**
 * How serious an action item of a DMS Schema Conversion assessment report is: the levels DMS Schema
 * Conversion grades its action items with (the `ShowSeverityLevelInSql` conversion setting), from
 * informational notes to critical errors that keep an object from working.
 *
 * Imports nothing: the deploy-time handler reads it too.
 */
export enum ActionItemSeverity {
  /** Informational notes: nothing to change. */
  INFO = 'INFO',
  /** Low: the report's "Simple" estimated complexity. */
  LOW = 'LOW',
  /** Medium: the report's "Medium" estimated complexity. */
  MEDIUM = 'MEDIUM',
  /** High: the report's "Complex" estimated complexity. */
  HIGH = 'HIGH',
  /** Critical errors that prevent the object from working. */
  CRITICAL = 'CRITICAL',
}

/** The levels from the least to the most serious. */
export const SEVERITY_ORDER: readonly ActionItemSeverity[] = [
  ActionItemSeverity.INFO,
  ActionItemSeverity.LOW,
  ActionItemSeverity.MEDIUM,
  ActionItemSeverity.HIGH,
  ActionItemSeverity.CRITICAL,
];

/** Whether `severity` is `threshold` or more serious. */
export function atLeast(severity: ActionItemSeverity, threshold: ActionItemSeverity): boolean {
  return SEVERITY_ORDER.indexOf(severity) >= SEVERITY_ORDER.indexOf(threshold);
}

/** The severity named `value` (any case), or undefined. */
export function parseSeverity(value: string): ActionItemSeverity | undefined {
  const upper = value.trim().toUpperCase();
  return SEVERITY_ORDER.find(s => s === upper);
}
