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

/**
 * The error-level findings of each stack's template, by stack name: one cfn-lint run over all the
 * templates (each run loads the CloudFormation specification once).
 */
function errorsByStack(stacks: Stack[]): Map<string, string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  try {
    const files = stacks.map(stack => {
      const file = path.join(dir, `${stack.stackName}.template.json`);
      fs.writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
      return file;
    });
    const byStack = new Map<string, string[]>(stacks.map(stack => [stack.stackName, []]));
    const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.stdout.trim() === '') {
      if (run.status !== 0) throw new Error(`cfn-lint failed: ${run.stderr}`);
      return byStack;
    }
    const findings = JSON.parse(run.stdout) as { Rule: { Id: string }; Message: string; Level: string; Filename: string }[];
    for (const f of findings.filter(finding => finding.Level === 'Error')) {
      const name = path.basename(f.Filename, '.template.json');
      const found = byStack.get(name);
      if (!found) throw new Error(`cfn-lint reported a file it was not given: ${f.Filename}`);
      found.push(`${f.Rule.Id} ${f.Message}`);
    }
    return byStack;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('cfn-lint, where available', () => {
  let errors: Map<string, string[]>;
  beforeAll(() => {
    if (!available) return;
    const live = new App();
    const settings = liveExampleSettingsFromContext(live);
    const application = new ApplicationStack(live, 'Application', { sampleSize: settings.sampleSize });
    errors = errorsByStack([
      new NeonMigrationExampleStack(new App(), 'Example'),
      new MySqlMigrationExampleStack(new App(), 'MySqlExample'),
      application,
      new LiveMigrationStack(live, 'Migration', { vpc: application.vpc, database: application.database, settings }),
    ]);
  }, 300_000);

  maybe('the PostgreSQL example has no error-level finding', () => {
    expect(errors.get('Example')).toEqual([]);
  });

  maybe('the MySQL example has no error-level finding', () => {
    expect(errors.get('MySqlExample')).toEqual([]);
  });

  maybe('the live-migration example has no error-level finding, in either stack', () => {
    expect(errors.get('Application')).toEqual([]);
    expect(errors.get('Migration')).toEqual([]);
  });
});
