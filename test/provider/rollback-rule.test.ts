import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { ALL_KINDS, firstOfKind, kindDeployments } from './all-kinds';
import { timing } from '../../lib/core/api-calls';
import { handler as checksHandler } from '../../lib/fidelity/fidelity.lambda';
import { PREFLIGHT_TYPE, VERIFICATION_TYPE } from '../../lib/fidelity/kinds';
import type { IsCompleteResult, OnEventResult, ProviderRequest, ResourceKindHandler } from '../../lib/provider/handler-types';
import { dispatcher } from '../../lib/resource-handlers';
import { DeployedTemplate } from '../helpers/deployed';
import { FakeAws } from '../helpers/fake-aws';

/*
 * The rule every kind inherits from the framework (lib/provider/dispatch.ts): while CloudFormation
 * rolls a failed update back, no kind makes a change it was not written to make, and none fails the
 * rollback. Run for every kind there is — the shared provider's registry and the checks' function —
 * with the properties its resource has in the test deployments (test/provider/all-kinds.ts), against
 * an AWS account that records every call (test/helpers/fake-aws.ts). A kind added later is covered by
 * its registration alone.
 *
 * The rollback's Update reaches a kind in either order: before CloudFormation has restored the
 * resources the failed update changed (they are still UPDATE_FAILED), or after (UPDATE_COMPLETE).
 */

/** Calls that change nothing: reading the stack's status, describing, listing, getting. */
const READ_ONLY = /^(Describe|Get|List)/;
const ORDERS = [['before the resources it depends on are restored', 'UPDATE_FAILED'], ['after they are restored', 'UPDATE_COMPLETE']] as const;

/** A template as deployed, with every custom resource attribute answered by a stand-in. */
class AnyAttributes extends DeployedTemplate {
  public customAttribute(logicalId: string, attribute: string): string {
    return this.optionalCustomAttribute(logicalId, attribute) ?? `arn:aws:secretsmanager:us-east-1:123456789012:secret:${logicalId}-${attribute}-AbCdEf`;
  }

  /** The application stack's exports (the live example's VPC, subnets and database): stand-ins. */
  public importValue(name: string): unknown {
    return `imported:${name}`;
  }

  public getAtt(logicalId: string, attribute: string): any {
    try {
      return super.getAtt(logicalId, attribute);
    } catch {
      return `arn:aws:dms:us-east-1:123456789012:${attribute.toLowerCase()}:${logicalId}`;
    }
  }
}

interface Kind {
  readonly type: string;
  readonly module: ResourceKindHandler | undefined;
  onEvent(event: ProviderRequest): Promise<OnEventResult>;
  isComplete(event: ProviderRequest): Promise<IsCompleteResult>;
}

async function kind(type: string): Promise<Kind> {
  if (type === PREFLIGHT_TYPE || type === VERIFICATION_TYPE) {
    // the checks' function: one Lambda handler behind its own dispatcher, no isComplete
    return {
      type,
      module: undefined,
      onEvent: (event) => checksHandler(event as any) as Promise<OnEventResult>,
      isComplete: async () => ({ IsComplete: true }),
    };
  }
  return {
    type,
    module: await dispatcher.handlerFor(type),
    onEvent: (event) => dispatcher.onEvent(event),
    isComplete: (event) => dispatcher.isComplete(event),
  };
}

/** The rollback's Update of the kind's resource: its properties of before the failed update, and the failed ones as old. */
function rollbackUpdate(type: string): { fake: FakeAws; event: ProviderRequest } {
  const found = firstOfKind(type);
  if (!found) throw new Error(`no resource of ${type} in the test deployments: add one to test/provider/all-kinds.ts`);
  const deployed = new AnyAttributes(found.deployment.template, { stackName: found.deployment.stack.stackName });
  const fake = new FakeAws(deployed);
  const { ServiceToken: _token, ...properties } = deployed.properties(found.logicalId);
  // the Neon API is never called from a test: a closed port on this machine stands in for it
  const previous = properties.ApiBaseUrl ? { ...properties, ApiBaseUrl: 'https://127.0.0.1:9/api/v2' } : properties;
  return {
    fake,
    event: {
      RequestType: 'Update',
      ResourceType: type,
      LogicalResourceId: found.logicalId,
      StackId: deployed.stackId,
      RequestId: 'rollback-1',
      PhysicalResourceId: `${found.logicalId}-physical-id`,
      ResourceProperties: previous,
      OldResourceProperties: { ...previous, ChangedByTheFailedUpdate: 'yes' },
    },
  };
}

/** onEvent, then isComplete until complete (at most 30 polls): what the Provider framework does. */
async function runThrough(k: Kind, event: ProviderRequest): Promise<{ result: OnEventResult; complete: boolean }> {
  const result = await k.onEvent(event);
  const polled = { ...event, PhysicalResourceId: result.PhysicalResourceId ?? event.PhysicalResourceId, Data: result.Data };
  for (let i = 0; i < 30; i++) {
    if ((await k.isComplete(polled)).IsComplete) return { result, complete: true };
  }
  return { result, complete: false };
}

let realNow: () => number;
let realSleep: (ms: number) => Promise<void>;
beforeAll(() => {
  kindDeployments();
  realNow = timing.now;
  realSleep = timing.sleep;
});
beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  let now = Date.parse('2026-12-07T12:00:00Z');
  timing.now = () => now;
  timing.sleep = async (ms: number) => { now += ms; };
});
afterEach(() => {
  timing.now = realNow;
  timing.sleep = realSleep;
  jest.restoreAllMocks();
});

test('every kind is in the test deployments, so the rule is checked for each', () => {
  expect(ALL_KINDS.length).toBeGreaterThanOrEqual(15);
  expect(ALL_KINDS.filter(type => !firstOfKind(type))).toEqual([]);
});

describe.each(ALL_KINDS.map(type => [type]))('%s', (type) => {
  describe.each(ORDERS)('the rollback reaches it %s', (_order, status) => {
    test('an update during the rollback changes nothing it was not written to change, and completes', async () => {
      const k = await kind(type);
      const { fake, event } = rollbackUpdate(type);
      try {
        fake.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
        fake.resourceStatus = () => status;
        const { result, complete } = await runThrough(k, event);
        const writes = fake.calls.map(c => c.command).filter(c => !READ_ONLY.test(c));
        if (k.module?.rollback === undefined) {
          // written for nothing: it only read the stack's status, kept its physical id and completed at once
          expect(writes).toEqual([]);
          expect(result.PhysicalResourceId).toBe(event.PhysicalResourceId);
          expect(complete).toBe(true);
        } else {
          // written for it: what it does is its own (its handler tests say what), and it answers
          expect(result.PhysicalResourceId).toEqual(expect.any(String));
        }
      } finally {
        fake.restore();
      }
    });

    test('nothing it throws during the rollback fails it', async () => {
      const k = await kind(type);
      const { fake, event } = rollbackUpdate(type);
      fake.restore();
      // an account where every call fails, but the one that tells the rollback from an update
      const cfn = mockClient(CloudFormationClient);
      try {
        cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'S', StackStatus: 'UPDATE_ROLLBACK_IN_PROGRESS', CreationTime: new Date(0) }] });
        cfn.on(DescribeStackResourceCommand).rejects(Object.assign(new Error('the service is unavailable'), { name: 'ServiceUnavailable' }));
        const failing = failEverything();
        try {
          const { result, complete } = await runThrough(k, event);
          expect(complete).toBe(true);
          expect(result.PhysicalResourceId).toEqual(expect.any(String));
        } finally {
          failing.forEach(m => m.restore());
        }
      } finally {
        cfn.restore();
      }
    });
  });
});

/** Every AWS client the handlers use answers with a failure. */
function failEverything() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const clients = [
    require('@aws-sdk/client-database-migration-service').DatabaseMigrationServiceClient,
    require('@aws-sdk/client-secrets-manager').SecretsManagerClient,
    require('@aws-sdk/client-iam').IAMClient,
    require('@aws-sdk/client-cloudwatch').CloudWatchClient,
    require('@aws-sdk/client-sfn').SFNClient,
    require('@aws-sdk/client-codebuild').CodeBuildClient,
    require('@aws-sdk/client-cloudwatch-logs').CloudWatchLogsClient,
    require('@aws-sdk/client-s3').S3Client,
  ];
  /* eslint-enable @typescript-eslint/no-require-imports */
  return clients.map(client => {
    const m = mockClient(client);
    m.onAnyCommand().rejects(Object.assign(new Error('the service is unavailable'), { name: 'ServiceUnavailable' }));
    return m;
  });
}
