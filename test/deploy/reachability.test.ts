import { App, Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CONCRETE_ENV, existingVpcVariant, exampleVariant, serverlessVariant, VariantBuilder } from './variants';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { AWS_API, Destination, NEON, NetworkModel, Workload } from '../helpers/reachability';

/*
 * The network paths a migration needs, judged over the synthesized templates with Amazon VPC's rules
 * (test/helpers/reachability.ts): from the replication compute to Neon through the NAT gateway, to
 * the source database, and to Secrets Manager through the interface endpoint; from the in-VPC
 * fidelity function to the source, Neon, Secrets Manager and CloudWatch; from the example's loader to
 * its database. And that nothing else is open: every security group's rules are listed exactly, no
 * workload has a public address, and paths nobody needs stay closed.
 */

function model(build: VariantBuilder, env?: Environment): { net: NetworkModel; stack: Stack } {
  const { stack } = build(new App(), env);
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  const deployed = new DeployedTemplate(template, { stackName: stack.stackName, ...(env ? { account: env.account, region: env.region } : {}) });
  return { net: NetworkModel.of(deployed), stack };
}

function only(net: NetworkModel, prefix: string): Workload {
  const found = net.workloads().filter(w => w.logicalId.startsWith(prefix));
  expect(found.map(w => w.name)).toHaveLength(1);
  return found[0];
}

function database(net: NetworkModel): Destination {
  const workload = net.workloads().find(w => w.name.startsWith('database'))!;
  return { kind: 'workload', workload, port: workload.port! };
}

function expectReachable(net: NetworkModel, from: Workload, to: Destination, through?: RegExp): void {
  const result = net.reach(from, to);
  if (!result.reachable) {
    throw new Error(`${from.name} cannot reach ${label(to)}: ${result.path.join(' | ')}`);
  }
  if (through) {
    expect(result.path.join(' | ')).toMatch(through);
  }
}

function expectClosed(net: NetworkModel, from: Workload, to: Destination): void {
  const result = net.reach(from, to);
  if (result.reachable) {
    throw new Error(`${from.name} can reach ${label(to)}, which it does not need: ${result.path.join(' | ')}`);
  }
}

function label(to: Destination): string {
  return to.kind === 'workload' ? `${to.workload.name}:${to.port}` : to.kind === 'aws' ? `${to.service} API` : `${to.name}`;
}

/** Every security group's rules, by logical id without its hash, peers named the same way. */
function rulesByGroup(net: NetworkModel): Record<string, { egress: string[]; ingress: string[] }> {
  const strip = (text: string) => text.replace(/([A-Za-z0-9]+?)[0-9A-F]{8}\b/g, '$1');
  const result: Record<string, { egress: string[]; ingress: string[] }> = {};
  for (const group of net.securityGroups.values()) {
    result[strip(group.logicalId)] = {
      egress: net.describeRules(group.id, 'egress').map(strip),
      ingress: net.describeRules(group.id, 'ingress').map(strip),
    };
  }
  return result;
}

/** Nobody outside the VPC can open a connection to anything of the stack. */
function expectNothingPublic(net: NetworkModel): void {
  for (const workload of net.workloads()) {
    expect([workload.name, workload.publicIp]).toEqual([workload.name, false]);
  }
  for (const group of net.securityGroups.values()) {
    for (const rule of group.ingress) {
      const vpc = net.vpcs.get(group.vpcId)!;
      // an ingress rule by CIDR must stay inside the VPC's own block
      if (!rule.peer.startsWith('sg:')) {
        expect([group.logicalId, rule.peer]).toEqual([group.logicalId, vpc.cidr]);
      }
    }
  }
}

const INTERNET_PORTS_NOBODY_NEEDS = [22, 80, 3306, 8080];

describe.each([
  ['environment-agnostic', undefined],
  ['in a concrete account and Region', CONCRETE_ENV],
])('%s', (_label, env) => {
  describe('the example', () => {
    const { net } = model(exampleVariant, env);
    const replication = only(net, 'ReplicationInstance');
    const loader = only(net, 'SampleDataLoader');
    const schemaBuild = only(net, 'MigrationSchemaProject');

    test('replication instance → Neon 5432 through the NAT gateway and its Elastic IP', () => {
      expectReachable(net, replication, NEON(), /NAT gateway.*internet gateway/);
    });

    test('replication instance → the source database port', () => {
      expectReachable(net, replication, database(net), /local route/);
    });

    test('replication instance → Secrets Manager 443 through the interface endpoint (private DNS), not the internet', () => {
      expectReachable(net, replication, AWS_API('secretsmanager'), /resolves to .*SecretsManagerEndpoint.* \(private DNS\)/);
    });

    test('the loader → its database, and Secrets Manager through the endpoint', () => {
      expectReachable(net, loader, database(net));
      expectReachable(net, loader, AWS_API('secretsmanager'), /private DNS/);
    });

    test('the schema builds → the source, Neon (NAT), Secrets Manager (endpoint), and S3, CloudWatch Logs and ECR Public (NAT)', () => {
      expectReachable(net, schemaBuild, database(net), /local route/);
      expectReachable(net, schemaBuild, NEON(), /NAT gateway/);
      expectReachable(net, schemaBuild, AWS_API('secretsmanager'), /private DNS/);
      for (const service of ['s3', 'logs', 'ecr-public']) {
        expectReachable(net, schemaBuild, AWS_API(service), /public addresses.*NAT gateway/);
      }
    });

    test('nothing else is open', () => {
      expect(rulesByGroup(net)).toEqual({
        NetworkSecurityGroup: {
          egress: ['tcp 443 → sg:NetworkSecretsManagerEndpointSecurityGroup', 'tcp 5432 → 0.0.0.0/0', 'tcp 5432 → sg:SourceSecurityGroup'],
          ingress: [],
        },
        NetworkSecretsManagerEndpointSecurityGroup: {
          egress: [],
          ingress: ['tcp 443 ← sg:LoaderSecurityGroup', 'tcp 443 ← sg:NetworkSecurityGroup'],
        },
        SourceSecurityGroup: { egress: [], ingress: ['tcp 5432 ← sg:LoaderSecurityGroup', 'tcp 5432 ← sg:NetworkSecurityGroup'] },
        LoaderSecurityGroup: { egress: ['tcp 443 → sg:NetworkSecretsManagerEndpointSecurityGroup', 'tcp 5432 → sg:SourceSecurityGroup'], ingress: [] },
        // the schema builds run in the replication group and this one: HTTPS for the image, S3 and the log
        MigrationSchemaHttpsEgress: { egress: ['tcp 443 → 0.0.0.0/0'], ingress: [] },
      });
      expectNothingPublic(net);
      for (const port of [443, ...INTERNET_PORTS_NOBODY_NEEDS]) {
        expectClosed(net, replication, NEON(port));
        expectClosed(net, loader, NEON(port));
      }
      expectClosed(net, replication, AWS_API('monitoring'));
      const db = database(net);
      expectClosed(net, (db as { workload: Workload }).workload, NEON());
      expectClosed(net, (db as { workload: Workload }).workload, AWS_API('secretsmanager'));
    });
  });

  describe('a migration in an existing VPC', () => {
    const { net } = model(existingVpcVariant, env);
    const replication = only(net, 'Replication');
    const fidelity = only(net, 'NeonDmsFidelityProviderHandler');

    test('replication instance → Neon through the NAT gateway added to the VPC, the source, Secrets Manager\'s public endpoint through it', () => {
      expectReachable(net, replication, NEON(), /NAT gateway.*internet gateway/);
      expectReachable(net, replication, database(net));
      // no endpoint whose private DNS would move the VPC's other workloads
      expectReachable(net, replication, AWS_API('secretsmanager'), /resolves to its public addresses.*NAT gateway/);
    });

    test('the fidelity function → the source, Neon, Secrets Manager and CloudWatch (NAT)', () => {
      expectReachable(net, fidelity, database(net));
      expectReachable(net, fidelity, NEON(), /NAT gateway/);
      expectReachable(net, fidelity, AWS_API('secretsmanager'), /resolves to its public addresses.*NAT gateway/);
      expectReachable(net, fidelity, AWS_API('monitoring'), /public addresses.*NAT gateway/);
    });

    test('nothing else is open', () => {
      expect(rulesByGroup(net)).toEqual({
        // Secrets Manager's public endpoint has no fixed addresses: HTTPS to any address, through the NAT gateway
        EgressSecurityGroup: {
          egress: ['tcp 443 → 0.0.0.0/0', 'tcp 5432 → 0.0.0.0/0', 'tcp 5432 → sg:DatabaseSecurityGroup'],
          ingress: [],
        },
        DatabaseSecurityGroup: { egress: [], ingress: ['tcp 5432 ← sg:EgressSecurityGroup'] },
        // CloudWatch has no endpoint in the VPC: HTTPS leaves through the NAT gateway
        NeonDmsFidelityProviderHttpsEgress: { egress: ['tcp 443 → 0.0.0.0/0'], ingress: [] },
      });
      expectNothingPublic(net);
      for (const port of INTERNET_PORTS_NOBODY_NEEDS) {
        expectClosed(net, replication, NEON(port));
        expectClosed(net, fidelity, NEON(port));
      }
    });
  });

  describe('a migration on DMS Serverless', () => {
    const { net } = model(serverlessVariant, env);
    const replication = only(net, 'MigrationServerless');
    const fidelity = only(net, 'NeonDmsFidelityProviderHandler');

    test('serverless replication → Neon through the NAT gateway, the source, Secrets Manager through the endpoint in its subnets', () => {
      expectReachable(net, replication, NEON(), /NAT gateway/);
      expectReachable(net, replication, database(net));
      expectReachable(net, replication, AWS_API('secretsmanager'), /private DNS/);
      const endpoint = net.interfaceEndpoint('secretsmanager', replication.vpcId)!;
      // DMS wants the endpoint's subnets to be the replication subnet group's
      expect([...endpoint.subnets].sort()).toEqual(replication.subnets.map(s => s.id).sort());
    });

    test('the fidelity function → the source, Neon, Secrets Manager and CloudWatch', () => {
      expectReachable(net, fidelity, database(net));
      expectReachable(net, fidelity, NEON());
      expectReachable(net, fidelity, AWS_API('secretsmanager'), /private DNS/);
      expectReachable(net, fidelity, AWS_API('monitoring'));
    });

    test('nothing else is open', () => {
      expect(rulesByGroup(net)).toEqual({
        NetworkSecurityGroup: {
          egress: ['tcp 443 → sg:NetworkSecretsManagerEndpointSecurityGroup', 'tcp 5432 → 0.0.0.0/0', 'tcp 5432 → sg:DatabaseSecurityGroup'],
          ingress: [],
        },
        NetworkSecretsManagerEndpointSecurityGroup: { egress: [], ingress: ['tcp 443 ← sg:NetworkSecurityGroup'] },
        DatabaseSecurityGroup: { egress: [], ingress: ['tcp 5432 ← sg:NetworkSecurityGroup'] },
        NeonDmsFidelityProviderHttpsEgress: { egress: ['tcp 443 → 0.0.0.0/0'], ingress: [] },
      });
      expectNothingPublic(net);
      for (const port of [443, ...INTERNET_PORTS_NOBODY_NEEDS]) {
        expectClosed(net, replication, NEON(port));
      }
    });
  });
});

describe('the model itself', () => {
  test('without the endpoint, the replication instance has no path to Secrets Manager (DMS 3.4.7+ reads it from inside the VPC)', () => {
    const { stack } = exampleVariant(new App());
    const template = Template.fromStack(stack).toJSON() as TemplateJson;
    const withoutEndpoint: TemplateJson = {
      ...template,
      Resources: Object.fromEntries(Object.entries(template.Resources).filter(([, r]) => r.Type !== 'AWS::EC2::VPCEndpoint')),
    };
    const net = NetworkModel.of(new DeployedTemplate(withoutEndpoint, { stackName: 'Example' }));
    const result = net.reach(only(net, 'ReplicationInstance'), AWS_API('secretsmanager'));
    expect(result.reachable).toBe(false);
    expect(result.path.join(' | ')).toMatch(/resolves to its public addresses.*no egress rule .* allows tcp 443/);
  });

  test('without the NAT route, Neon is out of reach (the guide\'s "timeout expired")', () => {
    const { stack } = exampleVariant(new App());
    const template = Template.fromStack(stack).toJSON() as TemplateJson;
    const withoutNatRoutes: TemplateJson = {
      ...template,
      Resources: Object.fromEntries(Object.entries(template.Resources)
        .filter(([, r]) => !(r.Type === 'AWS::EC2::Route' && r.Properties?.NatGatewayId))),
    };
    const net = NetworkModel.of(new DeployedTemplate(withoutNatRoutes, { stackName: 'Example' }));
    const result = net.reach(only(net, 'ReplicationInstance'), NEON());
    expect(result.reachable).toBe(false);
    expect(result.path.join(' | ')).toMatch(/has no route to 3\.18\.12\.40/);
  });
});
