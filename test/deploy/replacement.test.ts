import { App, CfnResource, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonSslMode, NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationCompute, ReplicationInstance } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType, TableMappings } from '../../lib/task';
import { causesReplacement, replacementProperties } from '../helpers/replacement-spec';

/*
 * CloudFormation replaces a resource when a property the resource specification marks as causing
 * replacement changes: it creates the new physical resource, then deletes the old one. DMS names are
 * unique per account and Region, so a replacement that keeps its name fails with "already exists".
 * For every such property of every DMS resource type the constructs create, a changed value must
 * change the resource's identifier, or the identifier must be left to CloudFormation.
 */

/** The property that names each DMS resource type (absent: CloudFormation generates a unique name). */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::DMS::Endpoint': 'EndpointIdentifier',
  'AWS::DMS::ReplicationInstance': 'ReplicationInstanceIdentifier',
  'AWS::DMS::ReplicationTask': 'ReplicationTaskIdentifier',
  'AWS::DMS::ReplicationConfig': 'ReplicationConfigIdentifier',
  'AWS::DMS::ReplicationSubnetGroup': 'ReplicationSubnetGroupIdentifier',
  'AWS::DMS::Certificate': 'CertificateIdentifier',
};

/** Both kinds of migration, with every DMS resource type the constructs create; `mutate` runs on each L1 before synth. */
type Mutate = (path: string, resource: CfnResource) => void;

function build(mutate: Mutate = () => undefined, options: { taskMigrationType?: MigrationType } = {}): Template {
  const app = new App({ context: { 'aws:cdk:enable-path-metadata': true } });
  const stack = new Stack(app, 'S');
  const network = new NatEgressForReplication(stack, 'Network');
  const source = new PostgresSourceEndpoint(stack, 'Source', {
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf'),
    databaseName: 'app',
    databaseConnections: new ec2.SecurityGroup(stack, 'Db', { vpc: network.vpc }),
  });
  const neon = new NeonTargetEndpoint(stack, 'Neon', {
    connectionString: 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require',
    password: SecretValue.secretsManager('neon/password'),
    sslMode: NeonSslMode.VERIFY_FULL, // an AWS::DMS::Certificate too
  });
  const instance = new ReplicationInstance(stack, 'Instance', { network });
  new DmsMigrationTask(stack, 'Task', {
    source, target: neon, replicationInstance: instance, schemaName: 'app', migrationType: options.taskMigrationType,
  });
  new DmsMigrationTask(stack, 'Serverless', {
    source,
    target: neon,
    network,
    schemaName: 'app',
    compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }),
  });
  for (const construct of stack.node.findAll()) {
    if (CfnResource.isCfnResource(construct) && NAME_PROPERTY[construct.cfnResourceType]) {
      mutate(construct.node.path, construct);
    }
  }
  return Template.fromStack(stack);
}

/** The DMS resources of a template by construct path, with their type and name. */
function dmsResources(template: Template): Map<string, { type: string; name: unknown }> {
  const result = new Map<string, { type: string; name: unknown }>();
  for (const [, resource] of Object.entries<any>(template.toJSON().Resources)) {
    const property = NAME_PROPERTY[resource.Type];
    if (property) {
      result.set(resource.Metadata['aws:cdk:path'], { type: resource.Type, name: resource.Properties?.[property] });
    }
  }
  return result;
}

/** A value of the property's spec type that differs from what the constructs write. */
function differentValue(type: string, current: unknown): unknown {
  switch (type) {
    case 'boolean':
      return !current;
    case 'string':
      return `changed-${JSON.stringify(current ?? null).length}`;
    default:
      throw new Error(`no different value for spec type ${type}: extend the test`);
  }
}

const before = dmsResources(build());
const cases: Array<[string, string, string]> = [];
for (const [path, { type }] of before) {
  for (const property of replacementProperties(type)) {
    cases.push([type, property.name, path]);
  }
}

test('the stacks hold every DMS resource type the constructs create, each with replacement-forcing properties in the specification', () => {
  expect(new Set([...before.values()].map(r => r.type))).toEqual(new Set(Object.keys(NAME_PROPERTY)));
  expect(cases.length).toBeGreaterThanOrEqual(15);
});

test.each(cases)('%s: a changed %s (%s) gives a new name, or CloudFormation names it', (type, propertyName, path) => {
  const specType = replacementProperties(type).find(p => p.name === propertyName)!.type;
  const l1Name = propertyName.charAt(0).toLowerCase() + propertyName.slice(1);
  const after = dmsResources(build((p, resource) => {
    if (p === path) {
      const current = (resource as unknown as Record<string, unknown>)[l1Name];
      (resource as unknown as Record<string, unknown>)[l1Name] = differentValue(specType, current);
    }
  }));
  const old = before.get(path)!.name;
  const renamed = after.get(path)!.name;
  if (propertyName === NAME_PROPERTY[type]) {
    // the name itself: a new name by definition
    expect(renamed).not.toEqual(old);
  } else if (old === undefined) {
    expect(renamed).toBeUndefined();
  } else {
    expect(typeof old).toBe('string');
    expect(renamed).not.toEqual(old);
  }
});

describe('a resource replaced because of another one', () => {
  const nameOf = (template: Template, path: string) => dmsResources(template).get(path)!.name;
  const mutateAt = (target: string, l1Name: string, value: unknown): Parameters<typeof build>[0] => (path, resource) => {
    if (path === target) (resource as unknown as Record<string, unknown>)[l1Name] = value;
  };

  test('a replaced source endpoint replaces the task (its SourceEndpointArn changes at deploy time, its Ref does not)', () => {
    const after = build(mutateAt('S/Source/Resource', 'kmsKeyId', 'arn:aws:kms:us-east-1:123456789012:key/new'));
    expect(nameOf(after, 'S/Source/Resource')).not.toEqual(before.get('S/Source/Resource')!.name);
    expect(nameOf(after, 'S/Task/Resource')).not.toEqual(before.get('S/Task/Resource')!.name);
  });

  test('a replaced instance replaces its tasks', () => {
    const after = build(mutateAt('S/Instance/Resource', 'kmsKeyId', 'arn:aws:kms:us-east-1:123456789012:key/new'));
    expect(nameOf(after, 'S/Task/Resource')).not.toEqual(before.get('S/Task/Resource')!.name);
  });

  test('changes CloudFormation makes in place keep every name: table mappings, an endpoint rename, the instance class', () => {
    const after = build((path, resource) => {
      if (path === 'S/Task/Resource') (resource as any).tableMappings = TableMappings.includeSchema('other').toJson();
      if (path === 'S/Neon/Resource') (resource as any).databaseName = 'otherdb';
      if (path === 'S/Instance/Resource') (resource as any).replicationInstanceClass = 'dms.r5.large';
    });
    for (const [path, { name }] of before) {
      expect([path, nameOf(after, path)]).toEqual([path, name]);
    }
  });

  test('a migration type set through the construct renames the task', () => {
    const after = build(undefined, { taskMigrationType: MigrationType.FULL_LOAD_AND_CDC });
    expect(nameOf(after, 'S/Task/Resource')).not.toEqual(before.get('S/Task/Resource')!.name);
  });
});

test('the names the constructs generate are changed in place by CloudFormation (upgrading renames, it does not replace)', () => {
  for (const type of ['AWS::DMS::Endpoint', 'AWS::DMS::ReplicationInstance', 'AWS::DMS::ReplicationTask', 'AWS::DMS::ReplicationConfig']) {
    expect([type, causesReplacement(type, NAME_PROPERTY[type])]).toEqual([type, false]);
  }
});
