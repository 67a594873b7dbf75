import { DeployEnvironment, DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { AuthorizedRequest, IamModel } from '../helpers/iam-simulation';

/*
 * The AWS requests a distributed verification makes, derived from a synthesized template as
 * CloudFormation deploys it: what Step Functions does with the state machine's role (the Task
 * states' functions, also by version and alias; a Distributed Map's child executions, its item
 * reader and result writer; logging and tracing), what Lambda does with the worker's role (its log
 * stream, its network interfaces), what the starter asks of Step Functions with the shared
 * provider's role. The worker's own requests are recorded from the real handler by
 * distributed-iam.test.ts; `workerRequestsFromRun` gives the same requests from the run's
 * properties alone, for checks that synthesize without running anything (the compatibility task).
 *
 * Used by test/checks/distributed-iam.test.ts and by projenrc/cdk-compat.ts (through
 * test/deploy/compat-checks.ts) against the peer minimum of aws-cdk-lib.
 */

export interface RoleRequest {
  /** Logical id of the role making the request. */
  readonly role: string;
  readonly request: AuthorizedRequest;
}

/** The distributed verification's resources in a template. */
export interface DistributedParts {
  readonly machine: string;
  readonly machineRole: string;
  readonly worker: string;
  readonly workerRole: string;
  readonly starter: string;
  readonly definition: { States: Record<string, any> };
}

/** Every state of a definition, those of Map item processors (and Parallel branches) included. */
export function allStates(definition: { States: Record<string, any> }): Array<[string, any]> {
  const out: Array<[string, any]> = [];
  for (const [name, state] of Object.entries<any>(definition.States)) {
    out.push([name, state]);
    if (state.ItemProcessor) out.push(...allStates(state.ItemProcessor));
    if (state.Iterator) out.push(...allStates(state.Iterator));
    for (const branch of state.Branches ?? []) out.push(...allStates(branch));
  }
  return out;
}

/** Finds the distributed verification (the state machine whose Task states plan) in a deployed template. */
export function distributedParts(d: DeployedTemplate, iam: IamModel): DistributedParts {
  const machines = d.logicalIds('AWS::StepFunctions::StateMachine')
    .map((id) => [id, JSON.parse(d.property(id, 'DefinitionString'))] as const)
    .filter(([, definition]) => allStates(definition).some(([, s]) => s.Parameters?.Action === 'plan'));
  if (machines.length !== 1) throw new Error(`expected one distributed verification state machine, found ${machines.length}`);
  const [machine, definition] = machines[0];
  const plan = allStates(definition).find(([, s]) => s.Parameters?.Action === 'plan')![1];
  const worker = iam.functionWithArn(functionOf(plan));
  const [starter] = d.logicalIds('Custom::NeonDistributedVerification');
  if (!starter) throw new Error('no Custom::NeonDistributedVerification in the template');
  return { machine, machineRole: iam.roleWithArn(d.property(machine, 'RoleArn')), worker, workerRole: iam.roleOfFunction(worker), starter, definition };
}

/** The function a Task state invokes: its Resource (a function ARN), or the lambda:invoke integration's FunctionName. */
function functionOf(state: any): string {
  const resource = String(state.Resource);
  return resource.includes(':lambda:') && !resource.includes(':states:::') ? resource : state.Parameters.FunctionName;
}

/** What an execution of the state machine works on: its name and the unit list's key the plan wrote. */
export interface ExecutionFacts {
  readonly executionName: string;
  readonly itemsKey: string;
  /** A Map Run's id, as Step Functions names it at run time. */
  readonly mapRunId?: string;
}

/**
 * What Step Functions does with the state machine's role while it runs the definition: invoke each
 * Task state's function (and the same function by version or alias), and for a Distributed Map
 * start the state machine itself for each child execution, describe and stop executions, redrive a
 * Map Run's children, read the unit list (ItemReader) and write the children's results
 * (ResultWriter); deliver logs to CloudWatch Logs and traces to X-Ray.
 */
export function stateMachineRequests(d: DeployedTemplate, parts: DistributedParts, facts: ExecutionFacts): RoleRequest[] {
  const role = parts.machineRole;
  const requests: RoleRequest[] = [];
  const add = (action: string, resource: string, origin: string, context?: Record<string, string>) =>
    requests.push({ role, request: { action, resource, origin, ...(context ? { context } : {}) } });
  const machineArn = d.ref(parts.machine);
  const machineName = machineArn.split(':').pop()!;
  const execution = (name: string) => `arn:${d.env.partition}:states:${d.env.region}:${d.env.account}:execution:${machineName}:${name}`;
  for (const [name, state] of allStates(parts.definition)) {
    if (state.Type === 'Task') {
      const fn = functionOf(state);
      for (const qualified of [fn, `${fn}:$LATEST`, `${fn}:1`, `${fn}:live`]) add('lambda:InvokeFunction', qualified, `${name} invokes ${qualified}`);
    }
    if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
      const label = state.Label ?? name;
      add('states:StartExecution', machineArn, `${name} starts a child execution`);
      for (const action of ['states:DescribeExecution', 'states:StopExecution']) add(action, execution(facts.executionName), `${name} watches the execution`);
      add('states:RedriveExecution', `arn:${d.env.partition}:states:${d.env.region}:${d.env.account}:execution:${machineName}/${label}:${facts.mapRunId ?? 'a1b2c3d4'}`,
        `a redriven execution redrives ${name}'s Map Run`);
      const reader = state.ItemReader;
      if (reader) {
        const bucket = reader.Parameters.Bucket;
        const key = reader.Parameters.Key ?? facts.itemsKey;
        add('s3:GetObject', `arn:${d.env.partition}:s3:::${bucket}/${key}`, `${name} reads its items (ItemReader)`);
        if (String(reader.Resource).endsWith(':listObjectsV2')) add('s3:ListBucket', `arn:${d.env.partition}:s3:::${bucket}`, `${name} lists its items`);
      }
      const writer = state.ResultWriter;
      if (writer) {
        const bucket = writer.Parameters.Bucket;
        const prefix = String(writer.Parameters.Prefix ?? '').replace(/\/$/, '');
        for (const object of ['SUCCEEDED_0.json', 'FAILED_0.json', 'manifest.json']) {
          const arn = `arn:${d.env.partition}:s3:::${bucket}/${prefix}/${facts.mapRunId ?? 'a1b2c3d4'}/${object}`;
          for (const action of ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload']) {
            add(action, arn, `${name} writes its children's results (ResultWriter)`);
          }
        }
      }
    }
  }
  const props = d.properties(parts.machine);
  if (props.LoggingConfiguration?.Destinations?.length) {
    for (const action of ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
      'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups']) {
      add(action, '*', 'Step Functions delivers the execution logs to CloudWatch Logs');
    }
  }
  if (props.TracingConfiguration?.Enabled) {
    for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets']) {
      add(action, '*', 'Step Functions sends traces to X-Ray');
    }
  }
  return requests;
}

/** What Lambda does with the worker's role: write its log stream, attach it to the VPC. */
export function workerServiceRequests(d: DeployedTemplate, parts: DistributedParts): RoleRequest[] {
  const props = d.properties(parts.worker);
  const group = props.LoggingConfig?.LogGroup ?? `/aws/lambda/${d.ref(parts.worker)}`;
  const stream = `arn:${d.env.partition}:logs:${d.env.region}:${d.env.account}:log-group:${group}:log-stream:2026/11/29/[$LATEST]abcdef`;
  const requests: RoleRequest[] = ['logs:CreateLogStream', 'logs:PutLogEvents']
    .map((action) => ({ role: parts.workerRole, request: { action, resource: stream, origin: 'Lambda writes the worker\'s log' } }));
  if (props.VpcConfig) {
    for (const action of ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses']) {
      requests.push({ role: parts.workerRole, request: { action, resource: '*', origin: 'Lambda attaches the worker to the VPC' } });
    }
  }
  return requests;
}

/** The secret a worker reads, and the KMS request Secrets Manager makes for it when a customer managed key protects it. */
export function secretRequests(d: DeployedTemplate, iam: IamModel, role: string, secretArn: string, origin: string): RoleRequest[] {
  const requests: RoleRequest[] = [{ role, request: { action: 'secretsmanager:GetSecretValue', resource: secretArn, origin } }];
  const key = iam.secretKey(secretArn);
  if (key) {
    requests.push({
      role,
      request: {
        action: 'kms:Decrypt',
        resource: key,
        context: { 'kms:ViaService': `secretsmanager.${d.env.region}.amazonaws.com`, 'kms:CallerAccount': d.env.account },
        origin,
      },
    });
  }
  return requests;
}

/** The S3 object a worker request names. */
export function objectArn(d: DeployedTemplate, bucket: string, key: string): string {
  return `arn:${d.env.partition}:s3:::${bucket}/${key}`;
}

/**
 * The worker's requests as the run's properties determine them, without running it: both secrets,
 * the unit list and one unit's result in the run's prefix, the metrics in the library's namespace.
 */
export function workerRequestsFromRun(d: DeployedTemplate, iam: IamModel, parts: DistributedParts, prefix: string): RoleRequest[] {
  const run = d.properties(parts.starter).Run;
  const role = parts.workerRole;
  return [
    ...secretRequests(d, iam, role, run.SourceSecretArn, 'the worker reads the source\'s secret'),
    ...secretRequests(d, iam, role, run.TargetSecretArn, 'the worker reads Neon\'s secret'),
    ...['s3:PutObject', 's3:GetObject'].flatMap((action) => [`${prefix}units.json`, `${prefix}results/0.json`]
      .map((key) => ({ role, request: { action, resource: objectArn(d, run.Bucket, key), origin: 'the worker writes and reads the run\'s objects' } }))),
    { role, request: { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'CdkNeonMigration' }, origin: 'the worker publishes its metrics' } },
  ];
}

/** The requests the IAM simulation denies, as readable lines. */
export async function denials(iam: IamModel, requests: readonly RoleRequest[]): Promise<string[]> {
  const out: string[] = [];
  for (const { role, request } of requests) {
    const decision = await iam.decide(role, request);
    if (!decision.allowed) out.push(`${role}: ${request.action} on ${request.resource} (${decision.result}) by ${request.origin}`);
  }
  return out;
}

/**
 * Every request the distributed verification of `template` makes that its roles do not allow, from
 * the template alone: Step Functions with the state machine's role, Lambda and the worker with the
 * worker's role, the starter with the shared provider's role. Empty when everything is allowed.
 */
export async function distributedVerificationDenials(template: TemplateJson, env: Partial<DeployEnvironment> = {}): Promise<string[]> {
  const d = new DeployedTemplate(template, env);
  const iam = IamModel.of(d);
  const parts = distributedParts(d, iam);
  const executionName = 'verify-0123456789abcdef0123456789abcdef01234567';
  const prefix = `runs/${executionName}/`;
  const [starterRole] = iam.handlerRolesOf(parts.starter);
  return denials(iam, [
    ...stateMachineRequests(d, parts, { executionName, itemsKey: `${prefix}units.json` }),
    ...workerServiceRequests(d, parts),
    ...workerRequestsFromRun(d, iam, parts, prefix),
    { role: starterRole, request: { action: 'states:StartExecution', resource: d.ref(parts.machine), origin: 'the starter starts the verification' } },
  ]);
}
