import { preflightMySql } from './preflight';
import { setMySqlSequences } from './sequences';
import { verifyMySql } from './verify';
import { registerMySqlSupport } from '../source-engine';

/**
 * The checks of MySQL-compatible sources (MySQL, MariaDB, Aurora MySQL): loading this module makes
 * `preflight`, `verify` and the cutover accept a MySQL source.
 */
registerMySqlSupport({ preflight: preflightMySql, verify: verifyMySql, setSequences: setMySqlSequences });

export { preflightMySql, verifyMySql, setMySqlSequences };
