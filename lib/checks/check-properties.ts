import { Lazy, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { FidelityCheckProps, FidelitySourceEngine } from './fidelity-check';
import { completeSecretArn } from '../secrets/complete-arn';

/** Custom-resource properties shared by both checks (no secret value: secret ARNs only). */
export function commonProperties(scope: IConstruct, construct: string, props: FidelityCheckProps): Record<string, unknown> {
  if (!Token.isUnresolved(props.sourceDatabaseName) && props.sourceDatabaseName.trim() === '') {
    throw new Error(`${construct}: sourceDatabaseName is empty; set it to the source database the DMS source endpoint reads.`);
  }
  const mappings = props.tableMappings;
  return {
    SourceSecretArn: completeSecretArn(scope, props.sourceSecret, 'sourceSecret'),
    SourceDatabaseName: props.sourceDatabaseName,
    SourceEngine: props.sourceEngine === FidelitySourceEngine.MYSQL ? 'mysql' : undefined,
    SourceCaBundle: props.sourceCaBundle,
    TableMappings: Lazy.string({ produce: () => mappings.toJson() }),
  };
}

/** Throws when `value` (if literal) is not an integer in [min, max]. */
export function checkInteger(construct: string, name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${construct}: ${name} is ${value}; use an integer from ${min} to ${max}.`);
  }
}

/** DMS engine names of MySQL-compatible source endpoints. */
const MYSQL_ENGINE_NAMES = ['mysql', 'mariadb', 'aurora'];

/** The engine of a task's source endpoint (`MySqlSourceEndpoint`, `PostgresSourceEndpoint`, imported ones too). */
export function taskSourceEngine(task: { readonly source?: { readonly engineName: string } }): FidelitySourceEngine | undefined {
  const engine = task.source?.engineName;
  if (engine === undefined || Token.isUnresolved(engine)) return undefined;
  return MYSQL_ENGINE_NAMES.includes(engine) ? FidelitySourceEngine.MYSQL : FidelitySourceEngine.POSTGRESQL;
}
