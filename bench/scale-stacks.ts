/**
 * Stacks with N complete migrations, built with the library and with raw L1 resources, for the
 * synth benchmark and the scale tests.
 */
import { App, Aws, CfnResource, Environment, Fn, Lazy, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TASK_LIFECYCLE_TYPE, TASK_STOPPER_TYPE } from '../lib/lifecycle/kinds';
import { DmsMigrationTask } from '../lib/migration/migration-task';
import { NeonTargetEndpoint } from '../lib/neon/target-endpoint';
import { MigrationProvider } from '../lib/provider/provider';
import { IReplicationInstance, ReplicationInstance } from '../lib/replication/replication-instance';
import { PostgresSourceEndpoint } from '../lib/sources/postgres';
import { TableMappings } from '../lib/task/table-mappings';
import { TaskSettings } from '../lib/task/task-settings';

/** Name of the benchmark stacks. */
export const SCALE_STACK_NAME = 'Scale';

/** The replication instance every migration shares: imported, so both variants reference the same ARN. */
const INSTANCE_ARN = 'arn:aws:dms:us-east-1:123456789012:rep:BENCHSHAREDINSTANCE';
const INSTANCE_ID = 'bench-shared-instance';

function sharedInstance(stack: Stack): IReplicationInstance {
  return ReplicationInstance.fromReplicationInstanceAttributes(stack, 'SharedInstance', {
    replicationInstanceArn: INSTANCE_ARN,
    replicationInstanceIdentifier: INSTANCE_ID,
  });
}

function neonConnectionString(i: number): string {
  return `postgresql://app_owner@ep-bench-${i}-a1b2c3d4.us-east-2.aws.neon.tech/neondb?sslmode=require`;
}

/**
 * One stack with `n` complete library migrations: each a `PostgresSourceEndpoint` (from a plain
 * secret), a `NeonTargetEndpoint` (connection string + `SecretValue.secretsManager`) and a
 * `DmsMigrationTask` (connection tests and lifecycle on), all on one imported replication instance.
 */
export function buildLibraryStack(app: App, n: number, env?: Environment): Stack {
  const stack = new Stack(app, SCALE_STACK_NAME, { env });
  const instance = sharedInstance(stack);
  for (let i = 1; i <= n; i++) {
    const scope = new Construct(stack, `Migration${i}`);
    const source = new PostgresSourceEndpoint(scope, 'Source', {
      secret: secretsmanager.Secret.fromSecretNameV2(scope, 'SourceSecret', `bench/source-${i}`),
      databaseName: 'app',
    });
    const target = new NeonTargetEndpoint(scope, 'Target', {
      connectionString: neonConnectionString(i),
      password: SecretValue.secretsManager(`bench/neon-password-${i}`),
    });
    new DmsMigrationTask(scope, 'Task', {
      source,
      target,
      replicationInstance: instance,
      schemaName: 'public',
    });
  }
  return stack;
}

/** Documents the L1 variant uses, rendered once (the library renders the same ones). */
let l1Documents: { mappings: string; settings: string } | undefined;

/**
 * The same DMS resources declared directly: per migration two `CfnEndpoint`s reading their
 * credentials from Secrets Manager and one `CfnReplicationTask`, on the same imported instance.
 * No access roles, connection tests or lifecycle: what a hand-written L1 stack minimally declares.
 */
export function buildL1Stack(app: App, n: number): Stack {
  l1Documents ??= { mappings: TableMappings.includeSchema('public').toJson(), settings: new TaskSettings().toJson() };
  const stack = new Stack(app, SCALE_STACK_NAME);
  const instance = sharedInstance(stack);
  const accessRoleArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/bench-dms-secrets-access`;
  for (let i = 1; i <= n; i++) {
    const scope = new Construct(stack, `Migration${i}`);
    const sourceSecret = secretsmanager.Secret.fromSecretNameV2(scope, 'SourceSecret', `bench/source-${i}`);
    const targetSecret = secretsmanager.Secret.fromSecretNameV2(scope, 'TargetSecret', `bench/neon-${i}`);
    const source = new dms.CfnEndpoint(scope, 'Source', {
      endpointType: 'source',
      engineName: 'postgres',
      databaseName: 'app',
      sslMode: 'require',
      postgreSqlSettings: { secretsManagerSecretId: sourceSecret.secretArn, secretsManagerAccessRoleArn: accessRoleArn },
    });
    const target = new dms.CfnEndpoint(scope, 'Target', {
      endpointType: 'target',
      engineName: 'postgres',
      databaseName: 'neondb',
      sslMode: 'require',
      postgreSqlSettings: { secretsManagerSecretId: targetSecret.secretArn, secretsManagerAccessRoleArn: accessRoleArn },
    });
    new dms.CfnReplicationTask(scope, 'Task', {
      migrationType: 'full-load',
      replicationInstanceArn: instance.replicationInstanceArn,
      sourceEndpointArn: source.ref,
      targetEndpointArn: target.ref,
      tableMappings: l1Documents.mappings,
      replicationTaskSettings: l1Documents.settings,
    });
  }
  return stack;
}

/** An access role DMS assumes, with one inline statement reading `secretArn`. */
function l1AccessRole(scope: Construct, id: string, secretArn: string | string[]): iam.CfnRole {
  return new iam.CfnRole(scope, id, {
    assumeRolePolicyDocument: {
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: `dms.${Aws.REGION}.amazonaws.com` } }],
      Version: '2012-10-17',
    },
    description: 'Lets DMS read the endpoint credentials',
    policies: [{
      policyName: 'ReadCredentials',
      policyDocument: {
        Statement: [{ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: secretArn }],
        Version: '2012-10-17',
      },
    }],
  });
}

/**
 * What the raw-L1 variants of the library's template declare once per stack (the shared provider,
 * the task stopper), and the resources they declare alike for each migration.
 */
class L1Template {
  public readonly stack: Stack;
  private readonly instance: IReplicationInstance;
  private readonly serviceToken: string;
  private readonly lifecycleTag = { key: MigrationProvider.TAG_KEY, value: Aws.STACK_ID };
  private readonly stopperTasks: Record<string, string> = {};
  private readonly stopper: CfnResource;
  private readonly documents = l1Documents ??= { mappings: TableMappings.includeSchema('public').toJson(), settings: new TaskSettings().toJson() };

  constructor(app: App) {
    this.stack = new Stack(app, SCALE_STACK_NAME);
    this.instance = sharedInstance(this.stack);
    this.serviceToken = MigrationProvider.of(this.stack).serviceToken;
    const tasks = this.stopperTasks;
    this.stopper = this.customResource(this.stack, 'NeonDmsTaskStopper', TASK_STOPPER_TYPE, { Tasks: Lazy.any({ produce: () => tasks }) });
  }

  /** The Neon credentials secret of migration `i`, in DMS's format, the password as a dynamic reference. */
  public neonCredentials(scope: Construct, i: number): secretsmanager.CfnSecret {
    const password = SecretValue.secretsManager(`bench/neon-password-${i}`).unsafeUnwrap();
    const credentials = new secretsmanager.CfnSecret(scope, 'TargetCredentials', {
      description: `DMS credentials for Neon endpoint ep-bench-${i}-a1b2c3d4`,
      secretString: Fn.join('', [
        `{"engine":"postgres","username":"app_owner","password":"endpoint=ep-bench-${i}-a1b2c3d4$`, password,
        `","host":"ep-bench-${i}-a1b2c3d4.us-east-2.aws.neon.tech","port":5432,"dbname":"neondb"}`,
      ]),
    });
    credentials.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return credentials;
  }

  /** The source or target endpoint of migration `i`, its PostgreSQL settings as an override (as the library writes them). */
  public endpoint(scope: Construct, kind: 'source' | 'target', i: number, settings: Record<string, unknown>): dms.CfnEndpoint {
    const endpoint = new dms.CfnEndpoint(scope, kind === 'source' ? 'Source' : 'Target', {
      endpointType: kind,
      engineName: 'postgres',
      endpointIdentifier: `scale-migration${i}-${kind}`,
      databaseName: kind === 'source' ? 'app' : 'neondb',
      sslMode: 'require',
      tags: [this.lifecycleTag],
    });
    endpoint.addPropertyOverride('PostgreSqlSettings', settings);
    return endpoint;
  }

  /** The task of migration `i`, registered with the stack's stopper, and its lifecycle, which tests both connections. */
  public task(scope: Construct, i: number, source: dms.CfnEndpoint, target: dms.CfnEndpoint): void {
    const taskIdentifier = `scale-migration${i}-task`;
    const propertiesHash = '0'.repeat(64);
    this.stopperTasks[taskIdentifier] = propertiesHash;
    const task = new dms.CfnReplicationTask(scope, 'Task', {
      replicationTaskIdentifier: taskIdentifier,
      migrationType: 'full-load',
      replicationInstanceArn: this.instance.replicationInstanceArn,
      sourceEndpointArn: source.ref,
      targetEndpointArn: target.ref,
      tableMappings: this.documents.mappings,
      replicationTaskSettings: this.documents.settings,
      tags: [
        this.lifecycleTag,
        { key: 'cdk-neon-migration:source', value: `scale-migration${i}-source` },
        { key: 'cdk-neon-migration:target', value: `scale-migration${i}-target` },
      ],
    });
    task.addDependency(this.stopper);
    const lifecycle = this.customResource(scope, 'Lifecycle', TASK_LIFECYCLE_TYPE, {
      TaskArn: task.ref,
      TaskIdentifier: taskIdentifier,
      PropertiesHash: propertiesHash,
      MigrationType: 'full-load',
      StartOnDeploy: 'true',
      WaitForCompletion: 'false',
      MaxWaitSeconds: '3000',
      OnUpdate: 'resume-processing',
      TestEndpointArns: [source.ref, target.ref],
      TestReplicationInstanceArn: this.instance.replicationInstanceArn,
      TestSources: [{ EndpointArn: source.ref, Port: '5432', SecurityGroupIds: [] }],
    });
    lifecycle.addDependency(task);
  }

  private customResource(scope: Construct, id: string, type: string, properties: Record<string, unknown>): CfnResource {
    const resource = new CfnResource(scope, id, { type, properties: { ServiceToken: this.serviceToken, ...properties } });
    resource.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return resource;
  }
}

/** The source endpoint settings the library writes, with the credentials secret and the role reading it. */
function sourceSettings(secretArn: string, roleArn: string): Record<string, unknown> {
  return { FailTasksOnLobTruncation: true, MapBooleanAsBoolean: true, SecretsManagerSecretId: secretArn, SecretsManagerAccessRoleArn: roleArn };
}

/**
 * The resources of a complete library migration declared directly as L1s, with the same properties,
 * tags and dependencies as the library's template and no construct code around them: per migration
 * two access roles with inline policies, the Neon credentials secret, two endpoints (settings as
 * overrides), the task and its lifecycle (which tests both connections); per stack the shared
 * provider and one task stopper mapping every task to its hash. What the library's resources cost
 * in aws-cdk-lib alone: the floor of the library's synth time.
 */
export function buildL1FullStack(app: App, n: number): Stack {
  const l1 = new L1Template(app);
  for (let i = 1; i <= n; i++) {
    const scope = new Construct(l1.stack, `Migration${i}`);
    const sourceSecret = secretsmanager.Secret.fromSecretNameV2(scope, 'SourceSecret', `bench/source-${i}`);
    const sourceRole = l1AccessRole(scope, 'SourceRole', `${sourceSecret.secretArn}-??????`);
    const source = l1.endpoint(scope, 'source', i, sourceSettings(sourceSecret.secretArn, sourceRole.attrArn));
    const credentials = l1.neonCredentials(scope, i);
    const targetRole = l1AccessRole(scope, 'TargetRole', credentials.ref);
    const target = l1.endpoint(scope, 'target', i, { SecretsManagerSecretId: credentials.ref, SecretsManagerAccessRoleArn: targetRole.attrArn });
    l1.task(scope, i, source, target);
  }
  return l1.stack;
}

/**
 * The fewest resources a complete migration can be made of while keeping what the library promises,
 * declared directly as L1s: per migration the source endpoint, the Neon credentials secret (DMS reads
 * `endpoint=<id>$<password>` from Secrets Manager), the Neon endpoint, the task, and one lifecycle
 * resource, which tests both connections; per stack one access role for every endpoint and one task
 * stopper. The same properties as `buildL1FullStack`, no construct code at all: a lower bound for
 * any implementation.
 */
export function buildL1MinimalStack(app: App, n: number): Stack {
  const l1 = new L1Template(app);
  const secretArns: string[] = [];
  const accessRole = l1AccessRole(l1.stack, 'SharedAccessRole', Lazy.list({ produce: () => secretArns }));
  for (let i = 1; i <= n; i++) {
    const scope = new Construct(l1.stack, `Migration${i}`);
    const sourceSecret = secretsmanager.Secret.fromSecretNameV2(scope, 'SourceSecret', `bench/source-${i}`);
    const source = l1.endpoint(scope, 'source', i, sourceSettings(sourceSecret.secretArn, accessRole.attrArn));
    const credentials = l1.neonCredentials(scope, i);
    secretArns.push(`${sourceSecret.secretArn}-??????`, credentials.ref);
    const target = l1.endpoint(scope, 'target', i, { SecretsManagerSecretId: credentials.ref, SecretsManagerAccessRoleArn: accessRole.attrArn });
    l1.task(scope, i, source, target);
  }
  return l1.stack;
}
