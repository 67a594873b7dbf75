import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { distributedStack, synthesizedDefinition } from './distributed-stack';
import { MigrationVerification } from '../../lib/checks';
import { TableMappings } from '../../lib/task';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

describe('MigrationVerification distributed', () => {
  test('a state machine plans, fans out inline or distributed, retries, resumes and reports; a wait condition waits for it', () => {
    const { stack, verification, task } = distributedStack();
    const template = Template.fromStack(stack);
    expectValidCloudFormation(stack);
    template.resourceCountIs('Custom::NeonMigrationVerification', 0);
    template.hasResourceProperties('Custom::NeonDistributedVerification', {
      Run: Match.objectLike({ TaskIdentifier: stack.resolve(task.taskIdentifier), FailOnDifference: 'true', BudgetSeconds: '600', InlineMaxUnits: '40', WaitHandle: { Ref: Match.stringLikeRegexp('WaitHandle') } }),
    });
    // the deployment waits up to 11 h 45 min + 15 min: CloudFormation's 12 hours
    template.hasResourceProperties('AWS::CloudFormation::WaitCondition', { Timeout: String(12 * 3600), Count: 1 });
    const definition = synthesizedDefinition(stack, (id) => `arn:aws:lambda:us-east-1:123456789012:function:${id}`);
    expect(definition.StartAt).toBe('Plan');
    const states = definition.States;
    expect(states.Mode.Choices[0]).toMatchObject({ Variable: '$.Plan.Mode', StringEquals: 'inline', Next: 'CompareInline' });
    expect(states.CompareInline.MaxConcurrency).toBe(8);
    expect(states.CompareDistributed.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(states.CompareDistributed.ItemReader.Parameters).toMatchObject({ 'Key.$': '$.Plan.ItemsKey' });
    expect(states.CompareDistributed.ResultWriter).toBeDefined();
    expect(states.CompareDistributed.MaxConcurrency).toBe(8);
    const compare = states.CompareInline.ItemProcessor.States.InlineCompare;
    expect(compare.Retry.map((r: any) => r.ErrorEquals)).toEqual([expect.arrayContaining(['Lambda.ServiceException']), ['States.ALL']]);
    // the inline and the distributed Maps run the same unit loop
    const strip = (s: any) => JSON.parse(JSON.stringify(s).replace(/Inline|Distributed/g, 'X'));
    expect(strip(states.CompareDistributed.ItemProcessor.States)).toEqual(strip(states.CompareInline.ItemProcessor.States));
    expect(verification.waitCondition!.node.dependencies).toContain(verification.resource);
    // log group of the state machine under /aws/vendedlogs/, encrypted with a customer managed key
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'), KmsKeyId: Match.anyValue() });
  });

  test('nag clean, environment-agnostic and concrete', () => {
    expectNagClean((app, env) => distributedStack({ app, env, topic: true }).stack);
    expectNagClean((app, env) => distributedStack({ app, env, wait: false }).stack);
  });

  test('more than an hour is waited for, up to 12 hours; beyond, the error offers not to wait', () => {
    const { stack } = distributedStack({ timeout: Duration.hours(6) });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFormation::WaitCondition', { Timeout: String(6 * 3600 + 900) });
    expect(() => distributedStack({ timeout: Duration.hours(20) })).toThrow(/waits at most 12 hours.*Set distributed.wait: false/);
    const noWait = distributedStack({ timeout: Duration.hours(20), wait: false });
    const template = Template.fromStack(noWait.stack);
    template.resourceCountIs('AWS::CloudFormation::WaitCondition', 0);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { DefinitionString: Match.anyValue() });
    Annotations.fromStack(noWait.stack).hasWarning('*', Match.stringLikeRegexp('notify nobody'));
  });

  test('bad options fail at synth naming the property', () => {
    const build = (distributed: Record<string, unknown>) => () => {
      const { stack, network, sourceSecret, target } = distributedStack();
      new MigrationVerification(stack, 'Other', {
        network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret, tableMappings: TableMappings.includeSchema('app'), taskIdentifier: 'x', distributed,
      });
    };
    expect(build({ maxConcurrency: 0 })).toThrow(/distributed.maxConcurrency is 0/);
    expect(build({ maxConcurrency: 500 })).toThrow(/distributed.maxConcurrency is 500/);
    expect(build({ workerTimeBudget: Duration.minutes(14) })).toThrow(/distributed.workerTimeBudget/);
    expect(build({ chunkRows: 5000, unitRows: 2000 })).toThrow(/chunkRows/);
    expect(build({ inlineMaxUnits: 41 })).toThrow(/inlineMaxUnits/);
  });
});
