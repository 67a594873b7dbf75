import { App, Environment } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { BARE_ISOLATED_VPC, ISOLATED_VPC, Layout, LAYOUTS, NAT_EGRESS_VPC, TRANSIT_GATEWAY_VPC } from './layouts';
import { CONCRETE_ENV } from './variants';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { AWS_API, Destination, NEON, NetworkModel, Workload } from '../helpers/reachability';

/*
 * Do no harm, judged over the whole account as the templates declare it: the workloads that run in a
 * VPC before a migration is added (a database, an application server, a function) keep every network
 * path they had — to the internet, to every AWS API by its regional name (Secrets Manager above all),
 * and to each other — once the migration is deployed, in each layout a team brings. And the migration
 * itself reaches what it needs from every part that runs in the VPC.
 */

/** Where the workloads go: the internet on the ports they use, AWS APIs by name, each other. */
const INTERNET: Destination[] = [443, 80, 5432].map(port => ({ kind: 'internet', address: '198.51.100.200', port, name: `internet:${port}` }));
const SERVICES = ['secretsmanager', 's3', 'logs', 'monitoring', 'kms', 'sts', 'dms', 'ssm'].map(AWS_API);

function model(layout: Layout, migrate: boolean, env?: Environment, serverless = false) {
  const built = layout.build(new App(), { migrate, env, serverless });
  const template = Template.fromStack(built.stack).toJSON() as TemplateJson;
  const deployed = new DeployedTemplate(template, { stackName: 'Layout', ...(env ? { account: env.account, region: env.region } : {}) });
  return { ...built, net: NetworkModel.of(deployed, { transitGatewayEgress: layout.transitGatewayEgress }) };
}

/** Every path of every workload of `net` whose logical id is in `ids`, as text. */
function paths(net: NetworkModel, ids: string[]): Record<string, string> {
  const workloads = net.workloads().filter(w => ids.includes(w.logicalId));
  const result: Record<string, string> = {};
  for (const from of workloads) {
    const destinations: Destination[] = [
      ...INTERNET,
      ...SERVICES,
      ...workloads.filter(w => w !== from && w.port !== undefined).map(w => ({ kind: 'workload', workload: w, port: w.port! }) as Destination),
    ];
    for (const to of destinations) {
      const label = to.kind === 'workload' ? `${to.workload.logicalId}:${to.port}` : to.kind === 'aws' ? to.service : to.name;
      const r = net.reach(from, to);
      result[`${from.logicalId} → ${label}`] = `${r.reachable ? 'reachable' : 'closed'}: ${r.path.join(' | ')}`;
    }
  }
  return result;
}

function expectReachable(net: NetworkModel, from: Workload, to: Destination, through?: RegExp): void {
  const result = net.reach(from, to);
  const label = to.kind === 'workload' ? to.workload.name : to.kind === 'aws' ? to.service : to.name;
  if (!result.reachable) throw new Error(`${from.name} cannot reach ${label}: ${result.path.join(' | ')}`);
  if (through) expect(result.path.join(' | ')).toMatch(through);
}

describe.each(LAYOUTS.map(l => [l.name, l] as const))('%s', (_name, layout) => {
  describe.each([['environment-agnostic', undefined], ['in a concrete account and Region', CONCRETE_ENV]])('%s', (_env, env) => {
    const before = model(layout, false, env);
    const after = model(layout, true, env);
    const existing = before.net.workloads().map(w => w.logicalId);

    test('the workloads that ran before keep every path they had (internet, AWS APIs by name, each other)', () => {
      expect(existing.length).toBeGreaterThanOrEqual(3);
      const was = paths(before.net, existing);
      expect(Object.keys(was).length).toBeGreaterThan(30);
      expect(paths(after.net, existing)).toEqual(was);
    });

    test('nothing that ran before is in a subnet whose routes the migration changed, and no VPC-wide endpoint was added', () => {
      const t = after.net.deployed.template.Resources;
      const newRoutes = Object.keys(t).filter(id => t[id].Type === 'AWS::EC2::Route' && !(id in before.net.deployed.template.Resources));
      const tablesBefore = new Set(before.net.deployed.logicalIds('AWS::EC2::RouteTable'));
      for (const id of newRoutes) {
        const table = after.net.deployed.referencedLogicalId(t[id].Properties!.RouteTableId);
        expect([id, tablesBefore.has(table!)]).toEqual([id, false]);
      }
      // an endpoint with private DNS answers for the whole VPC: none is added to a VPC that existed before
      const vpcsBefore = new Set(before.net.deployed.logicalIds('AWS::EC2::VPC'));
      const newEndpoints = after.net.deployed.logicalIds('AWS::EC2::VPCEndpoint').filter(id => !(id in before.net.deployed.template.Resources))
        .filter(id => vpcsBefore.has(after.net.deployed.referencedLogicalId(t[id].Properties!.VpcId)!));
      expect(newEndpoints).toEqual([]);
    });

    test('every part of the migration reaches what it needs', () => {
      const net = after.net;
      const added = net.workloads().filter(w => !existing.includes(w.logicalId) && !w.name.startsWith('database'));
      // the source: the team's database, or the one created in the new VPC
      const database = net.workloads().find(w => w.name.startsWith('database') && !existing.includes(w.logicalId))
        ?? net.workloads().find(w => w.name.startsWith('database'))!;
      const db: Destination = { kind: 'workload', workload: database, port: database.port! };
      const kinds = added.map(w => w.name.split(' ')[0]);
      // the replication instance, the schema build, the fidelity function and the slot function
      expect(new Set(kinds)).toEqual(new Set(['replication', 'build', 'function']));
      for (const part of added) {
        expectReachable(net, part, db);
        expectReachable(net, part, AWS_API('secretsmanager'));
        if (part.name.startsWith('replication') || part.name.startsWith('build') || part.logicalId.includes('Fidelity')) {
          expectReachable(net, part, NEON());
        }
      }
    });
  });
});

describe('a migration that would change what runs in the VPC is refused or warned about, with the fix', () => {
  test('DMS Serverless in a VPC with NAT egress: the new endpoint moves every workload\'s Secrets Manager calls, and the synth says so', () => {
    const before = model(NAT_EGRESS_VPC, false);
    const after = model(NAT_EGRESS_VPC, true, undefined, true);
    const app = before.net.workloads().find(w => w.logicalId.startsWith('AppServer'))!;
    expect(before.net.reach(app, AWS_API('secretsmanager')).path.join(' | ')).toMatch(/public addresses.*NAT gateway/);
    const now = after.net.reach(after.net.workloads().find(w => w.logicalId === app.logicalId)!, AWS_API('secretsmanager'));
    // still reachable: the endpoint admits the VPC's block; but the path changed, which the warning names
    expect(now.reachable).toBe(true);
    expect(now.path.join(' | ')).toMatch(/resolves to NetworkSecretsManagerEndpoint.* \(private DNS\)/);
    Annotations.fromStack(after.stack).hasWarning('/Layout/Network', Match.stringLikeRegexp(
      'every workload of the VPC that calls secretsmanager.<region>.amazonaws.com reaches this endpoint instead of its current route.*SecretsManagerAccess.publicEndpoint\\(\\).*SecretsManagerAccess.fromEndpoint'));
  });

  test('the team\'s own Secrets Manager endpoint: a migration that ignores it is refused, naming fromEndpoint', () => {
    const built = ISOLATED_VPC.build(new App(), { migrate: false });
    const vpc = built.stack.node.findChild('Vpc') as any;
    new NatEgressForReplication(built.stack, 'Network', { vpc, publicSubnet: vpc.publicSubnets[0] });
    expect(() => Template.fromStack(built.stack)).toThrow(
      /the VPC has a Secrets Manager interface endpoint with private DNS \(Layout\/Vpc\/SecretsManager\/Resource\): secretsmanager\.<region>\.amazonaws\.com resolves to it everywhere in the VPC, the replication compute's calls included\. Pass it as secretsManagerAccess: SecretsManagerAccess\.fromEndpoint\(endpoint\)/);
  });

  test('routes in the subnets of the database are refused without changeExistingRouteTables', () => {
    const built = BARE_ISOLATED_VPC.build(new App(), { migrate: false });
    const vpc = built.stack.node.findChild('Vpc') as any;
    expect(() => new NatEgressForReplication(built.stack, 'Network', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.isolatedSubnets }))
      .toThrow(/which other resources may use: each of them would gain a way to the internet\. Set changeExistingRouteTables: true to accept that/);
  });

  test('with changeExistingRouteTables, the database\'s subnets gain a way to the internet: what the flag accepts', () => {
    const built = BARE_ISOLATED_VPC.build(new App(), { migrate: false });
    const vpc = built.stack.node.findChild('Vpc') as any;
    const before = NetworkModel.of(new DeployedTemplate(Template.fromStack(BARE_ISOLATED_VPC.build(new App(), { migrate: false }).stack).toJSON() as TemplateJson, { stackName: 'Layout' }));
    new NatEgressForReplication(built.stack, 'Network', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.isolatedSubnets, changeExistingRouteTables: true });
    const after = NetworkModel.of(new DeployedTemplate(Template.fromStack(built.stack).toJSON() as TemplateJson, { stackName: 'Layout' }));
    const app = (net: NetworkModel) => net.workloads().find(w => w.logicalId.startsWith('AppServer'))!;
    expect(before.reach(app(before), INTERNET[0]).reachable).toBe(false);
    expect(after.reach(app(after), INTERNET[0]).reachable).toBe(true);
  });

  test('the transit gateway layout needs the egress address given for IP Allow; the model follows the given egress', () => {
    const { net, network } = model(TRANSIT_GATEWAY_VPC, true);
    expect((network as any).egressIps).toEqual(['203.0.113.10']);
    const replication = net.workloads().find(w => w.name.startsWith('replication'))!;
    expectReachable(net, replication, NEON(), /transit gateway tgw-0egress/);
  });
});
