import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { MigrationPreflight } from '../../lib/checks/migration-preflight';
import { parseArgs } from '../../lib/command-line/args';
import { parseTaskArn } from '../../lib/cutover/task-arn';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { ExistingEgressForReplication } from '../../lib/network/existing-egress';
import { SecretsManagerAccess } from '../../lib/network/secrets-manager-access';
import { ReplicationCompute } from '../../lib/replication/serverless';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task/migration-type';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';

/*
 * A DmsMigrationTask declares the stack outputs the command line needs (its ARN, the secrets its
 * connection strings are made from, the cutover command, the Region), named after the task so that
 * two tasks in one stack never collide, within CloudFormation's 200 outputs per template.
 */

interface World {
  readonly stack: Stack;
  readonly network: ExistingEgressForReplication;
  readonly database: rds.DatabaseInstance;
}

function world(options: { secretsManagerEndpoint?: boolean } = {}): World {
  const stack = new Stack(new App(), 'Live');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    vpc,
  });
  const secretsManagerAccess = options.secretsManagerEndpoint ? SecretsManagerAccess.newEndpoint() : undefined;
  return { stack, network: new ExistingEgressForReplication(stack, 'Network', { vpc, secretsManagerAccess }), database };
}

/** A complete migration (an RDS source, Neon from a secret known by name) under `scope`, with id `id`. */
function migration(w: World, scope: Construct, id: string, props: Partial<DmsMigrationTaskProps> = {}) {
  const parent = new Construct(scope, `${id}Parts`);
  const source = PostgresSourceEndpoint.fromRdsInstance(parent, 'Source', { instance: w.database, databaseName: 'app' });
  const neon = new NeonTargetEndpoint(parent, 'Neon', {
    connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(parent, 'NeonConnection', `neon/${id}`),
  });
  const task = new DmsMigrationTask(scope, id, {
    source, target: neon, network: w.network, schemaName: 'app', migrationType: MigrationType.FULL_LOAD_AND_CDC, ...props,
  });
  return { task, source, neon };
}

const outputsOf = (stack: Stack) => (Template.fromStack(stack).toJSON().Outputs ?? {}) as Record<string, { Value: unknown; Description?: string }>;
const ofTask = (outputs: Record<string, unknown>, prefix: string) => Object.keys(outputs).filter((id) => id.startsWith(prefix)).sort();

describe('DmsMigrationTask: the outputs of the command line', () => {
  test('a task with ongoing replication: its ARN, both secrets, the cutover command; the Region once; named after the task', () => {
    const w = world();
    const { task, neon } = migration(w, w.stack, 'Migration');
    // a check of the task reads the target with the clients' secret
    const preflight = MigrationPreflight.forTask(w.stack, 'Preflight', { task });
    const template = Template.fromStack(w.stack).toJSON() as TemplateJson;
    const outputs = template.Outputs!;
    expect(ofTask(outputs, 'Migration')).toEqual(['MigrationCutoverCommand', 'MigrationSourceSecretArn', 'MigrationTargetSecretArn', 'MigrationTaskArn']);
    expect(outputs.NeonMigrationRegion.Value).toEqual({ Ref: 'AWS::Region' });

    // as deployed: the values the command line is given
    const taskId = w.stack.getLogicalId(task.replicationTask!);
    const credentials = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'Custom::NeonDmsCredentials')!;
    const clientSecret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:neon/client-AbCdEf';
    const deployed = new DeployedTemplate(template, { region: 'eu-west-1' }, { [credentials]: { ClientSecretArn: clientSecret } });
    const value = (id: string) => deployed.evaluate(outputs[id].Value) as string;
    expect(value('MigrationTaskArn')).toBe(deployed.ref(taskId));
    expect(value('NeonMigrationRegion')).toBe('eu-west-1');
    // the cutover command is a command line the CLI accepts, for this task, in the stack's Region
    const [npx, bin, ...argv] = value('MigrationCutoverCommand').split(' ');
    expect([npx, bin]).toEqual(['npx', 'cdk-neon-migration']);
    const args = parseArgs(argv);
    expect(args).toMatchObject({ command: 'cutover', taskArn: value('MigrationTaskArn') });
    expect(parseTaskArn(args.taskArn!).region).toBe(value('NeonMigrationRegion'));

    // the secrets: the source's as DMS reads it, and Neon's clients' form (what the checks read), never DMS's endpoint=<id>$ form
    const endpoint = Object.keys(template.Resources).find((id) => template.Resources[id].Properties?.EndpointType === 'source')!;
    expect(outputs.MigrationSourceSecretArn.Value).toEqual(template.Resources[endpoint].Properties!.PostgreSqlSettings.SecretsManagerSecretId);
    expect(value('MigrationTargetSecretArn')).toBe(clientSecret);
    expect(outputs.MigrationTargetSecretArn.Value).not.toEqual(w.stack.resolve(neon.credentialsSecret.secretArn));
    const checks = template.Resources[w.stack.getLogicalId(preflight.resource.node.defaultChild as CfnResource)];
    expect(checks.Properties!.TargetSecretArn).toEqual(outputs.MigrationTargetSecretArn.Value);
    // each says what it is for, naming the task
    for (const id of ofTask(outputs, 'Migration')) expect([id, (outputs[id] as { Description?: string }).Description]).toEqual([id, expect.stringMatching(/^Live\/Migration: /)]);
  });

  test('a source secret known by name: the output is the complete ARN the endpoint hands DMS (one lookup, one warning)', () => {
    const w = world();
    const source = new PostgresSourceEndpoint(w.stack, 'Source', { secret: secretsmanager.Secret.fromSecretNameV2(w.stack, 'Db', 'db/app-AbCdEf'), databaseName: 'app' });
    const neon = new NeonTargetEndpoint(w.stack, 'Neon', { connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(w.stack, 'Url', 'neon/url') });
    new DmsMigrationTask(w.stack, 'Migration', { source, target: neon, network: w.network, schemaName: 'app' });
    const template = Template.fromStack(w.stack).toJSON() as TemplateJson;
    const endpoint = w.stack.getLogicalId(source.resource);
    const handed = template.Resources[endpoint].Properties!.PostgreSqlSettings.SecretsManagerSecretId;
    expect(handed).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^NeonDmsSecretArns/), expect.stringMatching(/^Arn[0-9A-F]{12}$/)] });
    expect(template.Outputs!.MigrationSourceSecretArn.Value).toEqual(handed);
    const warnings = Annotations.fromStack(w.stack).findWarning('*', Match.stringLikeRegexp('db/app-AbCdEf'));
    expect(warnings.map((m) => m.id)).toEqual(['/Live/Source']);
  });

  test('two tasks in one stack: outputs of their own, each naming its own task; the Region once', () => {
    const w = world();
    const top = { Orders: migration(w, w.stack, 'Orders'), Billing: migration(w, w.stack, 'Billing') };
    // and two deeper in the tree, with the same id under different parents
    const deep = [migration(w, new Construct(w.stack, 'TeamA'), 'Task'), migration(w, new Construct(w.stack, 'TeamB'), 'Task')];
    const outputs = outputsOf(w.stack);
    const prefixes = Object.keys(outputs).filter((id) => id.endsWith('TaskArn')).map((id) => id.replace(/TaskArn$/, '')).sort();
    expect(prefixes).toEqual(['Billing', 'Orders', expect.stringMatching(/^TeamATask[0-9A-F]{8}$/), expect.stringMatching(/^TeamBTask[0-9A-F]{8}$/)]);
    const byPrefix: Record<string, ReturnType<typeof migration>> = { ...top, [prefixes[2]]: deep[0], [prefixes[3]]: deep[1] };
    for (const [prefix, m] of Object.entries(byPrefix)) {
      const taskRef = { Ref: w.stack.getLogicalId(m.task.replicationTask!) };
      expect([prefix, outputs[`${prefix}TaskArn`].Value]).toEqual([prefix, taskRef]);
      expect([prefix, (outputs[`${prefix}CutoverCommand`].Value as any)['Fn::Join'][1][1]]).toEqual([prefix, taskRef]);
      expect([prefix, outputs[`${prefix}TargetSecretArn`].Value]).toEqual([prefix, w.stack.resolve(m.neon.clientCredentialsSecret.secretArn)]);
      expect(outputs[`${prefix}TaskArn`].Description).toMatch(new RegExp(`^${m.task.node.path}: `));
    }
    expect(Object.keys(outputs).filter((id) => id.includes('Region'))).toEqual(['NeonMigrationRegion']);
  });

  test('two tasks whose ids differ only in other characters than letters and digits: refused, naming both', () => {
    const w = world();
    migration(w, w.stack, 'Migration-1');
    expect(() => migration(w, w.stack, 'Migration1')).toThrow('DmsMigrationTask: the stack outputs of Live/Migration1 and Live/Migration-1 would both be named '
      + 'Migration1TaskArn (the tasks\' ids differ only in characters other than letters and digits): rename one of the tasks, or set outputs: false on one.');
    // with outputs: false on one, both fit
    const v = world();
    migration(v, v.stack, 'Migration-1');
    migration(v, v.stack, 'Migration1', { outputs: false });
    expect(ofTask(outputsOf(v.stack), 'Migration1')).toEqual(['Migration1CutoverCommand', 'Migration1SourceSecretArn', 'Migration1TargetSecretArn', 'Migration1TaskArn']);
  });

  test('a task deep in a tree of long ids: names of letters and digits within 255 characters, descriptions within 1,024 bytes', () => {
    const w = world();
    let scope: Construct = w.stack;
    for (let i = 0; i < 12; i++) scope = new Construct(scope, `Équipe-${i}-${'x'.repeat(90)}`);
    migration(w, scope, 'Task');
    migration(w, w.stack, `Top-${'é'.repeat(300)}`);
    const outputs = outputsOf(w.stack);
    const ours = Object.keys(outputs).filter((id) => /(TaskArn|SecretArn|CutoverCommand)$/.test(id));
    expect(ours).toHaveLength(8);
    for (const id of ours) {
      expect([id, /^[A-Za-z0-9]{1,255}$/.test(id)]).toEqual([id, true]);
      expect([id, Buffer.byteLength(outputs[id].Description!) <= 1024]).toEqual([id, true]);
    }
  });

  test('a full load has no cutover command; DMS Serverless outputs its replication configuration, and no cutover command', () => {
    const w = world({ secretsManagerEndpoint: true });
    migration(w, w.stack, 'Load', { migrationType: MigrationType.FULL_LOAD });
    migration(w, w.stack, 'Serverless', { compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }) });
    const outputs = outputsOf(w.stack);
    expect(ofTask(outputs, 'Load')).toEqual(['LoadSourceSecretArn', 'LoadTargetSecretArn', 'LoadTaskArn']);
    expect(ofTask(outputs, 'Serverless')).toEqual(['ServerlessReplicationConfigArn', 'ServerlessSourceSecretArn', 'ServerlessTargetSecretArn']);
  });

  test('outputs: false declares none, and no Region for the stack', () => {
    const w = world();
    migration(w, w.stack, 'Migration', { outputs: false });
    expect(outputsOf(w.stack)).not.toHaveProperty('NeonMigrationRegion');
    expect(ofTask(outputsOf(w.stack), 'Migration')).toEqual([]);
  });

  test('more than CloudFormation\'s 200 outputs in the template: the synthesis fails, naming outputs: false', () => {
    // migrations of many schemas sharing one source and one Neon endpoint: 4 outputs each
    const build = (tasks: number, outputs?: (i: number) => boolean) => {
      const w = world();
      const source = PostgresSourceEndpoint.fromRdsInstance(w.stack, 'Source', { instance: w.database, databaseName: 'app' });
      const neon = new NeonTargetEndpoint(w.stack, 'Neon', { connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(w.stack, 'Url', 'neon/url') });
      for (let i = 0; i < tasks; i++) {
        new DmsMigrationTask(w.stack, `Schema${i}`, {
          source, target: neon, network: w.network, schemaName: `s${i}`, migrationType: MigrationType.FULL_LOAD_AND_CDC, outputs: outputs?.(i),
        });
      }
      return () => Template.fromStack(w.stack).toJSON();
    };
    // the network's two egress addresses, the Region, 4 per task
    expect(Object.keys(build(49)().Outputs)).toHaveLength(2 + 1 + 4 * 49);
    expect(build(50)).toThrow(/^Validation failed with the following errors:\n {2}\[Live\] Live: the template would hold 203 outputs, and CloudFormation allows 200 per template\. The 50 DmsMigrationTask\(s\) of the stack declare 201 of them .*: set outputs: false on some of them/);
    expect(Object.keys(build(50, (i) => i > 0)().Outputs)).toHaveLength(2 + 1 + 4 * 49);
  });
});
