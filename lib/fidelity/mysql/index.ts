import { preflightMySql } from './preflight';
import { setMySqlSequences } from './sequences';
import { verifyMySql } from './verify';
import { registerMySqlPreflight } from '../preflight';
import { registerMySqlSequences } from '../source-engine';
import { registerMySqlVerify } from '../verify';

/**
 * The checks of MySQL-compatible sources (MySQL, MariaDB, Aurora MySQL): loading this module makes
 * `preflight`, `verify` and the cutover accept a MySQL source.
 */
registerMySqlPreflight(preflightMySql);
registerMySqlVerify(verifyMySql);
registerMySqlSequences(setMySqlSequences);

export { preflightMySql, verifyMySql, setMySqlSequences };
