import { App, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MigrationProvider } from '../../lib/provider/provider';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

describe('MigrationProvider', () => {
  test('one provider per stack, found again by every caller', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const first = MigrationProvider.of(stack);
    const second = MigrationProvider.of(new Stack(app, 'Other'));
    expect(MigrationProvider.of(stack)).toBe(first);
    expect(second).not.toBe(first);
    // the handler functions plus the framework's onEvent, isComplete and onTimeout functions
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 5);
    Template.fromStack(stack).resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  });

  test('handlers run on Node.js 24 with a log group that keeps logs', () => {
    const stack = new Stack(new App(), 'S');
    MigrationProvider.of(stack);
    const template = Template.fromStack(stack);
    template.resourcePropertiesCountIs('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Description: Match.stringLikeRegexp('^cdk-neon-migration: '),
    }, 2);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('is schema-valid and cdk-nag clean with only reasoned acknowledgements', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      MigrationProvider.of(stack);
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });
});
