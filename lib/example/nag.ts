import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { acknowledgeRules } from '../core/nag';

/**
 * The cdk-nag findings of the Provider framework an example's sample-data resource runs through,
 * acknowledged: the framework's function only relays to `handler` (called `name` in the reasons;
 * `relaysTo` says where it runs, e.g. `the loader, which runs in the VPC`).
 */
export function acknowledgeSampleDataProvider(provider: cr.Provider, handler: lambda.Function, name: string, relaysTo: string): void {
  const handlerId = Stack.of(handler).getLogicalId(handler.node.defaultChild as lambda.CfnFunction);
  acknowledgeRules(provider, [
    { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'The Provider framework function only writes its logs.' },
    { id: 'AwsSolutions-L1', reason: 'The Provider framework pins its own runtime.' },
    { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'Runs once per deploy.' },
    { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'Synchronous custom-resource handler: CloudFormation receives every failure.' },
    { id: 'NIST.800.53.R5-LambdaInsideVPC', reason: `The Provider framework function only relays to ${relaysTo}.` },
    { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: `The Provider framework role may only invoke the ${name}: an inline policy scoped to it.` },
    { id: `AwsSolutions-IAM5[Resource::<${handlerId}.Arn>:*]`, reason: `The Provider framework invokes any version of the ${name} function.` },
  ]);
}
