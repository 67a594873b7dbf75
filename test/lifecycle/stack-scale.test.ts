import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { buildLibraryStack } from '../../bench/scale-stacks';
import { MigrationProvider } from '../../lib/provider/provider';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

/** CloudFormation's quotas per stack (aws-cdk-lib checks the same numbers). */
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;
/** The most migrations `npm run bench` finds fit in one stack (docs/benchmarks.md). */
const LARGEST_N = 59;

function synth(n: number): { stack: Stack; template: Record<string, any> } {
  const stack = buildLibraryStack(new App(), n);
  // Template.fromStack synthesizes the app, which fails above the resource quota
  return { stack, template: Template.fromStack(stack).toJSON() };
}

function countByType(template: Record<string, any>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of Object.values<any>(template.Resources)) {
    counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  }
  return counts;
}

function defaultPolicyStatements(template: Record<string, any>): unknown[] {
  const [policy] = Object.entries<any>(template.Resources)
    .filter(([id]) => id.startsWith('NeonDmsMigrationProviderHandlerRoleDefaultPolicy'))
    .map(([, r]) => r);
  return policy.Properties.PolicyDocument.Statement;
}

describe('scale: complete migrations (Postgres source, Neon target, task with tests and lifecycle) in one stack', () => {
  test('50 migrations fit in one stack: under 500 resources and 1 MB, with one provider', () => {
    const { stack, template } = synth(50);
    const resources = Object.keys(template.Resources).length;
    expect(resources).toBeLessThanOrEqual(MAX_RESOURCES);
    expect(JSON.stringify(template, undefined, 1).length).toBeLessThanOrEqual(MAX_TEMPLATE_BYTES);

    // one Provider framework, found by id under the stack
    const provider = stack.node.tryFindChild(MigrationProvider.ID);
    expect(provider).toBeInstanceOf(MigrationProvider);
    expect(MigrationProvider.of(stack.node.findChild('Migration17'))).toBe(provider);
    expect(stack.node.findAll().filter(c => c instanceof cr.Provider)).toHaveLength(1);
    const counts = countByType(template);
    expect(counts['AWS::Lambda::Function']).toBe(5); // onEvent, isComplete + the framework's onEvent, isComplete, onTimeout
    expect(counts['AWS::StepFunctions::StateMachine']).toBe(1);
  });

  test('a migration adds 8 resources and no IAM policy; the shared policy and the stack\'s one stopper do not grow in number', () => {
    const one = synth(1).template;
    const two = synth(2).template;
    const three = synth(3).template;
    const c1 = countByType(one);
    const c2 = countByType(two);
    const added: Record<string, number> = {};
    for (const [type, count] of Object.entries(c2)) {
      if (count !== c1[type]) {
        added[type] = count - (c1[type] ?? 0);
      }
    }
    expect(added).toEqual({
      'AWS::DMS::Endpoint': 2,
      'AWS::DMS::ReplicationTask': 1,
      'AWS::IAM::Role': 2, // the endpoints' access roles, with inline policies
      // the Neon credentials in DMS's format, and the plain password for clients that send SNI
      'AWS::SecretsManager::Secret': 2,
      'Custom::DmsTaskLifecycle': 1,
    });
    expect(Object.keys(three.Resources).length - Object.keys(two.Resources).length).toBe(8);
    // the lifecycle resource tests both connections: no connection test of its own
    expect(c2['Custom::DmsConnectionTest']).toBeUndefined();
    // one stopper per stack: each migration adds an entry to it
    expect(c1['Custom::DmsTaskStopper']).toBe(1);
    expect(countByType(three)['Custom::DmsTaskStopper']).toBe(1);
    const [stopper] = Object.values<any>(three.Resources).filter((r) => r.Type === 'Custom::DmsTaskStopper');
    expect(Object.keys(stopper.Properties.Tasks)).toHaveLength(3);
    // no statement per migration: the one DescribeSecret statement names one more secret known by name
    const describeSecret = (t: Record<string, any>) => defaultPolicyStatements(t).find((st: any) => st.Action === 'secretsmanager:DescribeSecret') as any;
    expect(defaultPolicyStatements(three)).toHaveLength(defaultPolicyStatements(two).length);
    expect(describeSecret(three).Resource).toHaveLength(describeSecret(two).Resource.length + 1);
    expect(defaultPolicyStatements(three).filter((st: any) => st !== describeSecret(three)))
      .toEqual(defaultPolicyStatements(two).filter((st: any) => st !== describeSecret(two)));
  });

  test('the handler role\'s inline policies stay under IAM\'s 10,240 characters at the largest stack', () => {
    // IAM limits the inline policies of a role to 10,240 characters together, whitespace not counted
    // (AWS::IAM::Policy resources are inline policies); they are measured as deployed.
    const { template } = synth(LARGEST_N);
    const deployed = new DeployedTemplate(template as TemplateJson, { stackName: 'Scale' });
    const roleName = deployed.ref(Object.keys(template.Resources).find(id => id.startsWith('NeonDmsMigrationProviderHandlerRole') && template.Resources[id].Type === 'AWS::IAM::Role')!);
    const inline = deployed.logicalIds('AWS::IAM::Policy')
      .map(id => deployed.properties(id))
      .filter(p => (p.Roles ?? []).includes(roleName))
      .map(p => JSON.stringify(p.PolicyDocument).replace(/\s/g, '').length);
    expect(inline.reduce((a, b) => a + b, 0)).toBeLessThan(10_240);
  });

  test('a stack with several migrations is schema-valid and cdk-nag clean', () => {
    const stack = buildLibraryStack(new App(), 2);
    expectValidCloudFormation(stack);
    expectNagClean((app, env) => buildLibraryStack(app, 2, env), [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderOnEvent4471F7DC.Arn>:*]',
      'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderIsComplete481BE9D2.Arn>:*]',
      'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkisComplete197DB1EB.Arn>:*]',
      'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkonTimeout8FD6857C.Arn>:*]',
    ].map(id => ({ id, reason: 'Provider framework internals of the shared custom-resource provider.', pathPattern: '^Scale/NeonDmsMigrationProvider/Provider/' })));
  });
});
