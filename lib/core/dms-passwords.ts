/**
 * Characters DMS does not accept in endpoint passwords, including passwords it reads from Secrets
 * Manager ("Creating source and target endpoints", CHAP_Endpoints.Creating): braces for every engine,
 * and more per engine. A password holding one fails the connection with a misleading error.
 *
 * Imports nothing: the handler bundles use it too.
 */
const REJECTED_BY_ENGINE: Record<string, string> = {
  'postgres': ';+%',
  'aurora-postgresql': ';+%',
  'mysql': ';',
  'mariadb': ';',
  'aurora': ';',
  'sqlserver': ',;',
  'oracle': ',',
};

/** Rejected by every engine. */
const REJECTED_EVERYWHERE = '{}';

/** The characters DMS rejects in passwords of endpoints of `engineName`. */
export function rejectedPasswordCharacters(engineName: string): string[] {
  return [...`${REJECTED_EVERYWHERE}${REJECTED_BY_ENGINE[engineName] ?? ''}`];
}

/** The characters of `password` DMS rejects for `engineName`, each once. */
export function rejectedCharactersIn(password: string, engineName: string): string[] {
  return rejectedPasswordCharacters(engineName).filter(c => password.includes(c));
}
