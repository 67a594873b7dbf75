import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { NeonMigrationExampleStack } from '../../lib/example/example-stack';
import { ApplicationStack, LiveMigrationStack, liveExampleSettingsFromContext } from '../../lib/example/live-example-stack';
import { MySqlMigrationExampleStack } from '../../lib/example/mysql-example-stack';

/*
 * cfn-lint (AWS's CloudFormation linter, Python) where the machine has it: the examples' templates
 * have no error-level finding (E*: schema, allowed values such as engine versions, references). An
 * optional check: without cfn-lint on the PATH the test says so and passes nothing off as checked.
 */
const available = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
const maybe = available ? test : test.skip;
if (!available) {
  // eslint-disable-next-line no-console
  console.log('cfn-lint is not installed: the examples\' templates are not linted by it');
}

function errors(stack: Stack): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  try {
    const file = path.join(dir, `${stack.stackName}.template.json`);
    fs.writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
    const run = spawnSync('cfn-lint', ['--format', 'json', '--', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.stdout.trim() === '') {
      if (run.status !== 0) throw new Error(`cfn-lint failed: ${run.stderr}`);
      return [];
    }
    const findings = JSON.parse(run.stdout) as { Rule: { Id: string }; Message: string; Level: string }[];
    return findings.filter(f => f.Level === 'Error').map(f => `${f.Rule.Id} ${f.Message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('cfn-lint, where available', () => {
  maybe('the PostgreSQL example has no error-level finding', () => {
    expect(errors(new NeonMigrationExampleStack(new App(), 'Example'))).toEqual([]);
  }, 120_000);

  maybe('the MySQL example has no error-level finding', () => {
    expect(errors(new MySqlMigrationExampleStack(new App(), 'MySqlExample'))).toEqual([]);
  }, 120_000);

  maybe('the live-migration example has no error-level finding, in either stack', () => {
    const app = new App();
    const settings = liveExampleSettingsFromContext(app);
    const application = new ApplicationStack(app, 'Application', { sampleSize: settings.sampleSize });
    const migration = new LiveMigrationStack(app, 'Migration', { vpc: application.vpc, database: application.database, settings });
    expect(errors(application)).toEqual([]);
    expect(errors(migration)).toEqual([]);
  }, 240_000);
});
