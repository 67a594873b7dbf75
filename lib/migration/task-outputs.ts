import * as crypto from 'crypto';
import { CfnOutput, Stack, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { IDmsEndpoint } from '../core/interfaces';
import { completeSecretArn } from '../secrets/complete-arn';
import { MigrationType } from '../task/migration-type';

/* The stack outputs of a migration task: what `cdk-neon-migration cutover` and `verify` need. */

/** CloudFormation's quota of outputs in one template. */
export const MAX_TEMPLATE_OUTPUTS = 200;

/** The id of the stack's one output of its Region (the logical ID, at the top of the stack). */
export const REGION_OUTPUT_ID = 'NeonMigrationRegion';

/** The last part of the logical ID of each output of a task (`MigrationTaskArn` for a task `Migration`). */
export const TASK_OUTPUT_NAMES = {
  taskArn: 'TaskArn',
  replicationConfigArn: 'ReplicationConfigArn',
  sourceSecretArn: 'SourceSecretArn',
  targetSecretArn: 'TargetSecretArn',
  cutoverCommand: 'CutoverCommand',
} as const;

/** What the outputs of a task are made of. */
export interface TaskOutputsInput {
  /** The `DmsMigrationTask`: the outputs are created under it. */
  readonly task: Construct;
  /** ARN of the replication task, or of the replication configuration on DMS Serverless. */
  readonly arn: string;
  readonly serverless: boolean;
  readonly migrationType: MigrationType;
  readonly source: IDmsEndpoint;
  readonly target: IDmsEndpoint;
}

/** Logical IDs of the outputs already declared in each stack, with the path of the task that declared each. */
const declared = new WeakMap<Stack, Map<string, string>>();

/**
 * The name the task's outputs start with: its id when it sits at the top of its stack (`Migration`),
 * else its path in the stack, letters and digits only, followed by a hash of that path (as aws-cdk-lib
 * names resources), so that two tasks never share one.
 */
function outputPrefix(task: IConstruct): string {
  const stack = Stack.of(task);
  const components = task.node.scopes.slice(task.node.scopes.indexOf(stack) + 1).map((c) => c.node.id);
  const readable = components.join('').replace(/[^A-Za-z0-9]/g, '');
  if (components.length === 1) return readable.slice(0, 230);
  const hash = crypto.createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  return `${readable.slice(0, 200)}${hash}`;
}

/**
 * Declares the stack outputs of a migration task: the task's ARN (on DMS Serverless the replication
 * configuration's), the complete ARNs of the secrets the command line's connection strings are made
 * from (the source endpoint's, and a `NeonTargetEndpoint`'s clients' credentials), the command that
 * cuts a task with ongoing replication over, and, once per stack, the stack's Region.
 *
 * Their logical IDs start with the task's name in its stack (see {@link outputPrefix}); a second task
 * whose outputs would get the same logical IDs is refused, naming both. A stack whose template would
 * hold more than CloudFormation's 200 outputs fails its synthesis, naming the tasks' `outputs: false`.
 *
 * @internal
 */
export function addTaskOutputs(input: TaskOutputsInput): CfnOutput[] {
  const { task } = input;
  const stack = Stack.of(task);
  const prefix = outputPrefix(task);
  const ids = declared.get(stack) ?? new Map<string, string>();
  declared.set(stack, ids);
  const outputs: CfnOutput[] = [];
  const output = (name: string, value: string, description: string) => {
    const logicalId = `${prefix}${name}`;
    const other = ids.get(logicalId);
    if (other !== undefined) {
      throw new Error(`DmsMigrationTask: the stack outputs of ${task.node.path} and ${other} would both be named ${logicalId} (the tasks' ids differ `
        + 'only in characters other than letters and digits): rename one of the tasks, or set outputs: false on one.');
    }
    ids.set(logicalId, task.node.path);
    const out = new CfnOutput(task, name, { value, description: describe(`${task.node.path}: ${description}`) });
    out.overrideLogicalId(logicalId);
    outputs.push(out);
  };

  if (input.serverless) {
    output(TASK_OUTPUT_NAMES.replicationConfigArn, input.arn, 'ARN of the DMS Serverless replication configuration.');
  } else {
    output(TASK_OUTPUT_NAMES.taskArn, input.arn, 'ARN of the DMS replication task: npx cdk-neon-migration verify|cutover --task-arn <it>.');
  }
  const sourceSecret = (input.source as unknown as { secret?: secretsmanager.ISecret }).secret;
  if (sourceSecret) {
    // the endpoint's own lookup of the complete ARN (and its warning, given once)
    output(TASK_OUTPUT_NAMES.sourceSecretArn, completeSecretArn(input.source, sourceSecret, 'secret'),
      'the source database\'s secret (username, password, host, port): SOURCE_DATABASE_URL of the command line is made from it.');
  }
  const clientSecret = (input.target as unknown as { clientCredentialsSecret?: secretsmanager.ISecret }).clientCredentialsSecret;
  if (clientSecret) {
    output(TASK_OUTPUT_NAMES.targetSecretArn, completeSecretArn(input.target, clientSecret, 'clientCredentialsSecret'),
      'Neon\'s credentials for clients (username, password, host, port, dbname): TARGET_DATABASE_URL of the command line is made from it.');
  }
  if (!input.serverless && input.migrationType !== MigrationType.FULL_LOAD) {
    output(TASK_OUTPUT_NAMES.cutoverCommand, `npx cdk-neon-migration cutover --task-arn ${input.arn}`,
      'run it with SOURCE_DATABASE_URL and TARGET_DATABASE_URL set, as a principal given grantCutover: it waits for the task\'s latency, '
      + 'verifies the data, sets the sequences and says go or no-go.');
  }
  if (!stack.node.tryFindChild(REGION_OUTPUT_ID)) {
    new CfnOutput(stack, REGION_OUTPUT_ID, {
      value: stack.region,
      description: 'Region of the stack\'s migrations, where their secrets are read: aws secretsmanager get-secret-value --region <it> --secret-id <secret ARN>.',
    });
    stack.node.addValidation({ validate: () => outputQuota(stack) });
  }
  return outputs;
}

/** CloudFormation allows an output 1024 bytes of description. */
function describe(text: string): string {
  if (Token.isUnresolved(text) || Buffer.byteLength(text) <= 1024) return text;
  let cut = text.slice(0, 1021);
  while (Buffer.byteLength(cut) > 1021) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** The error of a stack whose template would hold more outputs than CloudFormation allows. */
function outputQuota(stack: Stack): string[] {
  const outputs = stack.node.findAll().filter((c): c is CfnOutput => c instanceof CfnOutput && Stack.of(c) === stack);
  if (outputs.length <= MAX_TEMPLATE_OUTPUTS) return [];
  const ours = declared.get(stack) ?? new Map<string, string>();
  const tasks = [...new Set(ours.values())];
  return [`${stack.node.path}: the template would hold ${outputs.length} outputs, and CloudFormation allows ${MAX_TEMPLATE_OUTPUTS} per template. `
    + `The ${tasks.length} DmsMigrationTask(s) of the stack declare ${ours.size + 1} of them (each task its ARN, its databases' secrets and `
    + 'the cutover command; the stack its Region): set outputs: false on some of them (their ARNs stay available as migration.taskArn), '
    + 'or split the migrations between stacks.'];
}
