import * as crypto from 'crypto';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { OnEventResult, ProviderRequest } from '../../provider/handler-types';

/*
 * `Custom::NeonDistributedVerification`: starts the verification's state machine when the resource
 * is created or its run changes. The state machine's report signals the wait condition (when the
 * deployment waits) or the alarms. A rollback starts nothing (the verification of the previous
 * properties ran when they were deployed), and Delete does nothing and never fails: a running
 * verification ends by itself, at the latest at its state machine's timeout.
 */

/** The resource's properties. */
export interface DistributedVerificationProperties {
  readonly StateMachineArn: string;
  /** The run's settings (`RunConfig` without `Prefix`). */
  readonly Run: Record<string, string | undefined>;
}

let sfn: SFNClient | undefined;

/**
 * The execution's name: the same for the same stack, resource and run, so a repeated request starts
 * nothing new (Step Functions answers a start with the same name and input with the running execution).
 */
export function executionName(event: ProviderRequest): string {
  const digest = crypto.createHash('sha256').update(JSON.stringify([event.StackId, event.LogicalResourceId, event.ResourceProperties.Run])).digest('hex');
  return `verify-${digest.slice(0, 40)}`;
}

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const physicalId = event.PhysicalResourceId ?? `verification:${event.LogicalResourceId}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };
  const props = event.ResourceProperties as unknown as DistributedVerificationProperties;
  const name = executionName(event);
  const input = JSON.stringify({ Run: { ...props.Run, Prefix: `runs/${name}/` } });
  sfn ??= new SFNClient({});
  let executionArn: string | undefined;
  try {
    executionArn = (await sfn.send(new StartExecutionCommand({ stateMachineArn: props.StateMachineArn, name, input }))).executionArn;
  } catch (e) {
    if ((e as { name?: string }).name !== 'ExecutionAlreadyExists') throw e;
    console.log(`The verification ${name} runs already`);
  }
  console.log(`Started the verification ${name}${executionArn ? ` (${executionArn})` : ''}`);
  return { PhysicalResourceId: physicalId, Data: { ExecutionName: name } };
}
