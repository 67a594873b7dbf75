import { App, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { NeonMigrationExampleStack } from '../../lib/example/example-stack';
import { ApplicationStack, LiveMigrationStack, liveExampleSettingsFromContext } from '../../lib/example/live-example-stack';
import { MySqlMigrationExampleStack } from '../../lib/example/mysql-example-stack';
import { PREFLIGHT_TYPE, VERIFICATION_TYPE } from '../../lib/fidelity/kinds';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationInstance } from '../../lib/replication/replication-instance';
import { RESOURCE_KINDS } from '../../lib/resource-kinds';
import { distributedStack } from '../checks/distributed-stack';
import { serverlessVariant } from '../deploy/variants';
import { TemplateJson } from '../helpers/deployed';

/*
 * Deployments that hold every custom-resource kind the library has: the bundled examples (the IP
 * Allow entry of the PostgreSQL one on), the live-migration example, a migration on DMS Serverless,
 * a Neon endpoint with its own connection test, and a distributed verification. The cross-cutting tests take each kind's
 * resources from here; a kind registered later and found in none of them fails `everyKindIsHere`.
 */

/** Every kind: the shared provider's registered kinds, and the checks' function's. */
export const ALL_KINDS: string[] = [...Object.keys(RESOURCE_KINDS), PREFLIGHT_TYPE, VERIFICATION_TYPE];

export interface KindDeployment {
  readonly name: string;
  readonly stack: Stack;
  readonly template: TemplateJson;
}

function connectionTestStack(app: App): Stack {
  const stack = new Stack(app, 'ConnectionTest');
  const network = new NatEgressForReplication(stack, 'Network');
  const instance = new ReplicationInstance(stack, 'Instance', { network });
  new NeonTargetEndpoint(stack, 'Neon', {
    connectionString: 'postgresql://neondb_owner@ep-quiet-sun-12345678.us-east-2.aws.neon.tech/neondb?sslmode=require',
    password: SecretValue.secretsManager('neon/password'),
    testConnection: true,
    replicationInstance: instance,
  });
  return stack;
}

let cached: KindDeployment[] | undefined;

/** The deployments, synthesized once per test file. */
export function kindDeployments(): KindDeployment[] {
  if (cached) return cached;
  const live = new App();
  const settings = liveExampleSettingsFromContext(live);
  const application = new ApplicationStack(live, 'Application', { sampleSize: settings.sampleSize });
  const stacks: [string, Stack][] = [
    ['example', new NeonMigrationExampleStack(new App({ context: { neonProjectId: 'crimson-sun-12345678', neonApiKeySecret: 'neon/api-key' } }), 'Example')],
    ['MySQL example', new MySqlMigrationExampleStack(new App(), 'MySqlExample')],
    ['live example', new LiveMigrationStack(live, 'LiveMigration', { vpc: application.vpc, database: application.database, settings })],
    ['DMS Serverless', serverlessVariant(new App()).stack],
    ['connection test', connectionTestStack(new App())],
    ['distributed verification', distributedStack().stack],
  ];
  cached = stacks.map(([name, stack]) => ({ name, stack, template: Template.fromStack(stack).toJSON() as TemplateJson }));
  return cached;
}

/** The first resource of `type` in the deployments, with the deployment it is in. */
export function firstOfKind(type: string): { deployment: KindDeployment; logicalId: string } | undefined {
  for (const deployment of kindDeployments()) {
    const logicalId = Object.keys(deployment.template.Resources).find(id => deployment.template.Resources[id].Type === type);
    if (logicalId) return { deployment, logicalId };
  }
  return undefined;
}
