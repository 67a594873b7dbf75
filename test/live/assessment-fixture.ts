import { App, Environment, Stack } from 'aws-cdk-lib';
import { PremigrationAssessment, PremigrationAssessmentOptions } from '../../lib/live/assessment';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { ReplicationInstance } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';

const INSTANCE_ARN = 'arn:aws:dms:us-east-1:123456789012:rep:INSTANCE1';

/** A migration on an existing instance between existing endpoints, with a premigration assessment its start waits for. */
export function assessedMigration(app = new App(), env?: Environment, options: PremigrationAssessmentOptions = {},
  taskProps: Partial<DmsMigrationTaskProps> = {}) {
  const stack = new Stack(app, 'S', { env });
  const source = PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1');
  const target = NeonTargetEndpoint.fromEndpointArn(stack, 'Neon', 'arn:aws:dms:us-east-1:123456789012:endpoint:NEON1');
  const replicationInstance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
    replicationInstanceArn: INSTANCE_ARN, replicationInstanceIdentifier: 'dms-instance',
  });
  const migration = new DmsMigrationTask(stack, 'Migration', { source, target, replicationInstance, schemaName: 'app', testConnections: false, ...taskProps });
  const assessment = new PremigrationAssessment(migration, 'Assessment', { replicationTask: migration.replicationTask!, ...options });
  migration.lifecycle.addStartDependency(assessment.resource);
  return { stack, migration, assessment };
}
