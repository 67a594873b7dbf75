import { DmsSchemaConversion } from './schema-conversion';
import { SchemaConversionOptions } from './schema-conversion-props';
import { MigrationContext } from '../lifecycle/migration-context';
import type { NeonTargetEndpoint } from '../neon/target-endpoint';
import { MigrationType } from '../task/migration-type';

/**
 * The DMS Schema Conversion of a migration task: the converted schema is in Neon before the task
 * starts.
 *
 * @internal
 */
export function schemaConversionOfTask(task: MigrationContext, options: SchemaConversionOptions): DmsSchemaConversion {
  const owner = 'DmsMigrationTask: schemaConversion';
  const target = task.target as unknown as { clientCredentialsSecret?: unknown };
  if (!target.clientCredentialsSecret) {
    throw new Error(`${owner} needs a NeonTargetEndpoint as target: its credentials secret is the Neon data provider's.`);
  }
  if (task.migrationType === MigrationType.CDC) {
    throw new Error(`${owner} applies the converted schema before a full load; with MigrationType.CDC the tables are in Neon already, `
      + 'and applying the schema again would overwrite them. Use FULL_LOAD or FULL_LOAD_AND_CDC, or leave schemaConversion out.');
  }
  const network = options.network ?? task.network;
  if (!network) {
    throw new Error(`${owner} runs DMS Schema Conversion in the replication network, and the task's replication instance was imported `
      + 'without its network: set schemaConversion.network (the network the instance runs in), or import the instance with its network.');
  }
  const conversion = new DmsSchemaConversion(task.scope, 'SchemaConversion', {
    ...options,
    network,
    source: task.source,
    target: task.target as unknown as NeonTargetEndpoint,
    tableMappings: task.tableMappings,
    taskSettings: task.settings,
  });
  task.lifecycle.addStartDependency(conversion.completion);
  return conversion;
}
