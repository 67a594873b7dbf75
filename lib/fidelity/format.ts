import type { TypeChange } from './verify';

/* Small formatters shared by the command line's report and the custom resource's messages. */

/** `name` as written when it is a plain identifier, else JSON-quoted. */
export function quoteName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/**
 * A row's key for people to read, without ambiguity: `id="42"`, `order_id="7", line="a, b"`. Values
 * are JSON-quoted (a value holding `, ` or `=` or quotes cannot be mistaken for another key), and so
 * are column names that are not plain identifiers.
 */
export function formatKey(key: Readonly<Record<string, string>>): string {
  return Object.entries(key).map(([k, v]) => `${quoteName(k)}=${JSON.stringify(v)}`).join(', ');
}

/** `qty: integer -> bigint` (`Qty -> qty: …` when the mapping renames the column). */
export function formatTypeChange(c: TypeChange): string {
  const name = c.column === c.targetColumn ? quoteName(c.column) : `${quoteName(c.column)} -> ${quoteName(c.targetColumn)}`;
  return `${name}: ${c.sourceType} -> ${c.targetType}`;
}
