/**
 * The fidelity handler with the MySQL support: the custom resources of `MigrationPreflight` and
 * `MigrationVerification` whose source is MySQL-compatible. A bundle of its own, so that the
 * PostgreSQL handler's bundle stays without the MySQL driver.
 */
import './mysql';
export { handler } from './fidelity.lambda';
