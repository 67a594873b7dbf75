/**
 * Renders the example stack's architecture to docs/architecture.svg (and .dot) from the
 * synthesized template: the main resources, grouped by the construct that creates them, and the
 * references between them. Needs Graphviz (`dot`).
 *
 *   npx ts-node --transpile-only test/example/render-architecture.ts
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { NeonMigrationExampleStack } from '../../lib/example/example-stack';

const SHOWN = new Set([
  'AWS::EC2::VPC', 'AWS::EC2::NatGateway', 'AWS::EC2::EIP', 'AWS::EC2::Subnet', 'AWS::EC2::FlowLog',
  'AWS::RDS::DBInstance', 'AWS::SecretsManager::Secret', 'AWS::Lambda::Function',
  'AWS::DMS::ReplicationInstance', 'AWS::DMS::ReplicationSubnetGroup', 'AWS::DMS::Endpoint', 'AWS::DMS::ReplicationTask',
  'Custom::SampleData', 'Custom::NeonDmsCredentials', 'Custom::DmsConnectionTest', 'Custom::DmsTaskStopper',
  'Custom::DmsTaskLifecycle', 'Custom::DmsAccountRoles', 'AWS::StepFunctions::StateMachine',
]);

const GROUPS: Array<[RegExp, string]> = [
  [/^Network\//, 'NatEgressForReplication'],
  [/^(Source|SourceParameters|SourceSecretKey)\//, 'RDS PostgreSQL 15 source'],
  [/^(SampleData|SampleDataLoader|SampleDataProvider|LoaderSecurityGroup)/, 'Sample data loader (in the VPC)'],
  [/^(ReplicationInstance|DmsAccountRoles)/, 'ReplicationInstance'],
  [/^SourceEndpoint\//, 'PostgresSourceEndpoint'],
  [/^Neon\//, 'NeonTargetEndpoint'],
  [/^Migration\//, 'DmsMigrationTask'],
  [/^(NeonDmsMigrationProvider\/|NeonDmsTaskStopper\/)/, 'Shared custom-resource provider'],
];

function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    value.forEach((v) => references(v, found));
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Ref' && typeof inner === 'string') {
        found.add(inner);
      } else if (key === 'Fn::GetAtt' && Array.isArray(inner)) {
        found.add(String(inner[0]));
      } else {
        references(inner, found);
      }
    }
  }
  return found;
}

function label(type: string, constructPath: string): string {
  const short = type.replace(/^AWS::/, '').replace(/^Custom::/, 'Custom ');
  const tail = constructPath.split('/').filter((p) => p !== 'Resource' && p !== 'Default').slice(-2).join('/');
  return `${short}\\n${tail}`;
}

export function renderArchitecture(outDir: string): string {
  const app = new App();
  const stack = new NeonMigrationExampleStack(app, 'Example');
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
  const paths = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    if (c instanceof CfnResource) {
      paths.set(stack.resolve(c.logicalId), c.node.path.replace(/^Example\//, ''));
    }
  }

  const grouped = (id: string) => GROUPS.some(([pattern]) => pattern.test(paths.get(id) ?? id));
  const shown = Object.entries(resources).filter(([id, r]) => SHOWN.has(r.Type) && grouped(id));
  const ids = new Set(shown.map(([id]) => id));
  const clusters = new Map<string, string[]>();
  const lines = [
    'digraph example {',
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, labeljust=l, nodesep=0.25, ranksep=0.6];',
    '  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", fontname="Helvetica", fontsize=9];',
    '  edge [color="#7a869a", arrowsize=0.6];',
  ];
  for (const [id, resource] of shown) {
    const constructPath = paths.get(id) ?? id;
    const group = GROUPS.find(([pattern]) => pattern.test(constructPath))![1];
    clusters.set(group, [...(clusters.get(group) ?? []), `    "${id}" [label="${label(resource.Type, constructPath)}"];`]);
  }
  let n = 0;
  for (const [group, nodes] of clusters) {
    lines.push(`  subgraph cluster_${n++} {`, `    label="${group}"; style="rounded"; color="#c1c7d0";`, ...nodes, '  }');
  }
  lines.push('  "Neon" [label="Neon\\n(serverless Postgres,\\nIP Allow: the NAT Elastic IP)", shape=cylinder, fillcolor="#e3fcef"];');
  for (const [id, resource] of shown) {
    const dependsOn: string[] = resource.DependsOn ? [].concat(resource.DependsOn) : [];
    const targets = references({ p: resource.Properties, d: dependsOn.map((d) => ({ Ref: d })) });
    for (const target of targets) {
      if (ids.has(target) && target !== id) {
        lines.push(`  "${id}" -> "${target}";`);
      }
    }
    if (resource.Type === 'AWS::DMS::Endpoint' && resource.Properties.EndpointType === 'target') {
      lines.push(`  "${id}" -> "Neon" [style=dashed, label="TLS require", fontsize=8];`);
    }
    if (resource.Type === 'AWS::EC2::EIP') {
      lines.push(`  "${id}" -> "Neon" [style=dotted, label="egress IP", fontsize=8];`);
    }
  }
  lines.push('}');
  const dot = lines.join('\n') + '\n';
  fs.writeFileSync(path.join(outDir, 'architecture.dot'), dot);
  execFileSync('dot', ['-Tsvg', '-o', path.join(outDir, 'architecture.svg'), path.join(outDir, 'architecture.dot')]);
  return dot;
}

if (require.main === module) {
  renderArchitecture(path.join(__dirname, '..', '..', 'docs'));
}
