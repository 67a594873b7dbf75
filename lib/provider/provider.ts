import * as path from 'path';
import { Aws, Duration, ITaggable, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeRules, RuleAcknowledgement } from '../core/nag';

/** Where the provider's handler bundle is built (and shipped in the package). */
export const PROVIDER_HANDLERS_ASSET = path.join(__dirname, '..', '..', 'assets', 'lib', 'resource-handlers');

/**
 * The one custom-resource provider of a stack, shared by every connection test, task lifecycle,
 * Neon credentials, Neon IP Allow and account-roles resource the constructs create.
 *
 * One Provider framework (its onEvent/isComplete functions, the waiter state machine) per stack
 * keeps the resource count per added migration small. Constructs add the permissions they need to
 * `role`, scoped to their own resources.
 *
 * @internal
 */
export class MigrationProvider extends Construct {
  /** Construct id under the stack; part of the public contract (changing it replaces the provider). */
  public static readonly ID = 'NeonDmsMigrationProvider';

  /**
   * Tag key of the DMS resources the handlers act on (tasks, endpoints); its value is the id of
   * the stack (`AWS::StackId`). Statements scoped by it cover every such resource of the stack at
   * once, so the handler role needs no policy per migration.
   */
  public static readonly TAG_KEY = 'cdk-neon-migration:lifecycle';

  /** The provider of `scope`'s stack, created on first use. */
  public static of(scope: IConstruct): MigrationProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(MigrationProvider.ID);
    return (existing as MigrationProvider | undefined) ?? new MigrationProvider(stack, MigrationProvider.ID);
  }

  /** Role of both handler functions. */
  public readonly role: iam.Role;
  public readonly serviceToken: string;
  public readonly onEventFunction: lambda.IFunction;
  public readonly isCompleteFunction: lambda.IFunction;
  /** Log group of the handler functions: every step and deploy-time progress is logged here. */
  public readonly logGroup: logs.ILogGroup;
  /** The tag value marking this stack's resources: the stack id. */
  public readonly tagValue: string = Aws.STACK_ID;

  private readonly granted = new Set<string>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'HandlerLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
    });
    this.role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'cdk-neon-migration custom-resource handlers',
    });
    this.logGroup.grantWrite(this.role);
    // the dispatcher reads the stack's status for every update and delete: the rollback rule
    this.grantStackStatus();

    const common: lambda.FunctionOptions = {
      role: this.role,
      logGroup: this.logGroup,
      memorySize: 256,
      architecture: lambda.Architecture.ARM_64,
    };
    // the provider's handler bundle: an entry and one chunk per kind (lib/resource-handlers.ts, built by `npx projen bundle`)
    const code = lambda.Code.fromAsset(PROVIDER_HANDLERS_ASSET);
    const runtime = new lambda.Runtime('nodejs24.x', lambda.RuntimeFamily.NODEJS);
    this.onEventFunction = new lambda.Function(this, 'OnEvent', {
      ...common,
      code,
      runtime,
      handler: 'resource-handlers.onEvent',
      timeout: Duration.minutes(5),
      description: 'cdk-neon-migration: starts, stops and tests DMS resources (onEvent)',
    });
    this.isCompleteFunction = new lambda.Function(this, 'IsComplete', {
      ...common,
      code,
      runtime,
      handler: 'resource-handlers.isComplete',
      timeout: Duration.minutes(2),
      description: 'cdk-neon-migration: polls DMS until a step completes (isComplete)',
    });

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventFunction,
      isCompleteHandler: this.isCompleteFunction,
      queryInterval: Duration.seconds(30),
      // CloudFormation fails a custom resource without a response after 3600 s (ServiceTimeout); the
      // lifecycles stop their own waits earlier (CUSTOM_RESOURCE_WAIT_LIMIT)
      totalTimeout: Duration.hours(1),
      logGroup: this.logGroup,
    });
    this.serviceToken = provider.serviceToken;

    acknowledgeRules(provider, [
      { id: 'AwsSolutions-L1', reason: 'The Provider framework pins the runtime of its own functions; the handlers it calls use the latest Node.js.' },
    ]);

    // cdk-nag names wildcard findings by resource: acknowledge exactly the framework's own ones
    const stack = Stack.of(this);
    const functionVersionFindings = this.node.findAll()
      .filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction)
      .map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn)}.Arn>:*]`,
        reason: 'The Provider framework invokes any version of its own handler functions (`<function arn>:*`).',
      }));
    acknowledgeRules(this, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The Provider framework functions use AWSLambdaBasicExecutionRole (log writing only), as aws-cdk-lib builds them.',
      },
      ...functionVersionFindings,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'The actions on * support no resource-level permissions: cloudwatch:PutMetricData (limited to the CdkNeonMigration namespace by condition) and the read-only DMS calls dms:DescribeConnections and dms:DescribeReplicationTasks.',
      },
      { id: 'AwsSolutions-SF1', reason: 'The Provider framework waiter state machine only polls isComplete; its failures surface as CloudFormation events.' },
      { id: 'AwsSolutions-SF2', reason: 'X-Ray tracing adds cost and no insight to the Provider framework waiter.' },
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'Deploy-time handlers run once per resource change; reserved concurrency would only make deploys fail.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'Synchronous custom-resource handlers: CloudFormation receives every failure, nothing is retried asynchronously.' },
      { id: 'NIST.800.53.R5-LambdaInsideVPC', reason: 'The handlers only call AWS control-plane APIs (DMS, Secrets Manager, IAM) and the Neon API; they reach no VPC resource.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'Permissions are scoped to this stack\'s resources, which only exist in this stack: an inline policy keeps them together.' },
      { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'The handler logs hold resource ids and statuses, never secret values; the AWS-managed encryption of CloudWatch Logs applies.' },
    ]);
  }

  /**
   * Tag `resource` as one of this stack's resources the handlers act on (`TAG_KEY` = the stack id).
   * Write-through to the resource's tag manager: no aspect runs at synth.
   */
  /**
   * Lets the handlers read the stack's status and its resources' (`cloudformation:DescribeStacks`
   * and `DescribeStackResource` on this stack only): an update that CloudFormation sends while it
   * rolls a failed update back looks like any other.
   */
  public grantStackStatus(): void {
    this.grantOnce('cloudformation:DescribeStacks', () => [new iam.PolicyStatement({
      actions: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResource'],
      resources: [Aws.STACK_ID],
    })]);
  }

  public tag(resource: ITaggable): void {
    resource.tags.setTag(MigrationProvider.TAG_KEY, this.tagValue);
  }

  /**
   * Add `statements` to the handler role's default policy, once per stack for `key`; later calls
   * with the same key add nothing. For statements that name no resource of the constructs using
   * the provider (only pseudo parameters, literal ARNs, wildcards scoped by `TAG_KEY`): the handler
   * functions depend on that policy, so a reference to such a resource could close a cycle.
   */
  public grantOnce(key: string, statements: () => iam.PolicyStatement[], acknowledgements: RuleAcknowledgement[] = []): void {
    if (this.granted.has(key)) {
      return;
    }
    this.granted.add(key);
    for (const statement of statements()) {
      this.role.addToPrincipalPolicy(statement);
    }
    if (acknowledgements.length > 0) {
      acknowledgeRules(this.role, acknowledgements);
    }
  }
}
