import { Annotations, CfnOutput, CustomResource, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, DependencyGroup, IConstruct } from 'constructs';
import { NEON_IP_ALLOW_TYPE } from './kinds';
import { NeonIpAllowOptions } from './neon-ip-allow-options';
import { SecretsManagerAccess, SecretsManagerAccessKind } from './secrets-manager-access';
import { SecretsManagerRoute } from '../core/interfaces';
import { MigrationProvider } from '../provider/provider';
import { completeSecretArn, secretArnForPolicies } from '../secrets/complete-arn';

/** Neon's PostgreSQL port. */
const NEON_PORT = 5432;
const DEFAULT_NEON_API = 'https://console.neon.tech/api/v2';
/** HTTPS: the AWS APIs, through interface VPC endpoints too. */
const HTTPS_PORT = 443;

/** What a replication network's shared parts are built from. */
export interface EgressPartsProps {
  /** The public construct, for messages. */
  readonly owner: string;
  readonly vpc: ec2.IVpc;
  /** The replication subnets: the endpoint's subnets when one is created. */
  readonly subnets: ec2.ISubnet[];
  /** Whether the VPC existed before (other workloads may run in it). */
  readonly existingVpc: boolean;
  /** @default - a new endpoint in a new VPC, the public endpoint in an existing one */
  readonly secretsManagerAccess?: SecretsManagerAccess;
  /** The public addresses Neon sees the replication compute connect from (tokens allowed). */
  readonly egressIps: string[];
  /** What each address is, for the outputs' descriptions, e.g. `Elastic IP of NAT gateway`. */
  readonly egressIpLabel: string;
  readonly neonIpAllow?: NeonIpAllowOptions;
  /** What connection tests and task starts wait for: the parts add themselves. */
  readonly dependencies: DependencyGroup;
}

/**
 * The parts every replication network has, whatever the egress: the replication security group
 * (Neon's port open, nothing else), the path to Secrets Manager, the outputs of the egress addresses
 * and the Neon IP Allow entry. Created as children of the network construct, with the ids they have
 * always had.
 *
 * @internal
 */
export class EgressParts {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  public readonly secretsManagerRoute: SecretsManagerRoute;

  constructor(private readonly scope: Construct, private readonly props: EgressPartsProps) {
    this.securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'DMS replication instance: egress to Neon and the source database only',
      allowAllOutbound: false,
    });
    // Neon computes have no fixed IP addresses: the egress rule for Neon's port allows any IPv4
    // address. Security groups do not filter DNS queries to the VPC resolver.
    this.allowNeonPort(NEON_PORT);

    const access = props.secretsManagerAccess ?? (props.existingVpc ? SecretsManagerAccess.publicEndpoint() : SecretsManagerAccess.newEndpoint());
    const secretsManager = this.configureSecretsManager(access);
    this.secretsManagerEndpoint = secretsManager.endpoint;
    this.secretsManagerRoute = secretsManager.route;
    // the security group's rules (and those it adds to the endpoint's group) exist before anything connects
    props.dependencies.add(this.securityGroup);

    props.egressIps.forEach((ip, i) => {
      new CfnOutput(scope, `NeonAllowIp${i + 1}`, {
        value: ip,
        description: `${props.egressIpLabel} ${i + 1} of ${scope.node.path}: add it to the Neon project's IP Allow list (Settings > Network security) so the DMS replication instance can connect.`,
      });
    });
    if (props.neonIpAllow) {
      props.dependencies.add(this.addNeonIpAllow(props.neonIpAllow));
    }
  }

  public allowSourcePort(port: number, peer?: ec2.IPeer): void {
    checkPort(`${this.props.owner}.allowSourcePort`, port);
    let target = peer;
    if (!target) {
      let cidr: string;
      try {
        cidr = this.props.vpc.vpcCidrBlock;
      } catch {
        throw new Error(`${this.props.owner}.allowSourcePort: the VPC's CIDR block is not known (import it with vpcCidrBlock), so pass the peer the source database is in, e.g. ec2.Peer.ipv4('10.1.0.0/16').`);
      }
      target = ec2.Peer.ipv4(cidr);
    }
    this.securityGroup.addEgressRule(target, ec2.Port.tcp(port), `Source database on port ${port}`);
  }

  public allowNeonPort(port: number): void {
    checkPort(`${this.props.owner}.allowNeonPort`, port);
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port),
      `Neon on port ${port}: Neon has no fixed IP addresses`);
  }

  /** The path from the replication security group to Secrets Manager (an endpoint, or HTTPS to a peer). */
  private configureSecretsManager(access: SecretsManagerAccess): { endpoint?: ec2.IInterfaceVpcEndpoint; route: SecretsManagerRoute } {
    const { owner, vpc, existingVpc, dependencies } = this.props;
    switch (access.kind) {
      case SecretsManagerAccessKind.PEER: {
        const reason = access.reason ?? '';
        if (!Token.isUnresolved(reason) && reason.trim().length < 10) {
          throw new Error(`${owner}: SecretsManagerAccess.viaPeer needs a reason (at least 10 characters) why the VPC has no Secrets Manager endpoint of its own.`);
        }
        this.securityGroup.addEgressRule(access.peer!, ec2.Port.tcp(HTTPS_PORT), 'AWS Secrets Manager (endpoint credentials)');
        Annotations.of(this.scope).addInfo(`Secrets Manager is reached through ${access.peer!.uniqueId} on port 443, not through an endpoint in this VPC: ${reason}`);
        // an endpoint with private DNS answers for Secrets Manager's name in the whole VPC: the calls would go there
        this.scope.node.addValidation({
          validate: () => this.privateDnsEndpoints().map(other => `${owner}: the VPC has a Secrets Manager interface endpoint with private DNS (${other.node.path}): `
            + 'secretsmanager.<region>.amazonaws.com resolves to it everywhere in the VPC, the replication compute\'s calls included. Pass it as '
            + 'secretsManagerAccess: SecretsManagerAccess.fromEndpoint(endpoint), so that its security group admits them.'),
        });
        return { route: SecretsManagerRoute.OTHER };
      }
      case SecretsManagerAccessKind.EXISTING_ENDPOINT: {
        const endpoint = access.endpoint!;
        if (endpoint.connections.securityGroups.length === 0) {
          throw new Error(`${owner}: the Secrets Manager endpoint of SecretsManagerAccess.fromEndpoint has no security group: import it with `
            + 'ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes({ vpcEndpointId, port: 443, securityGroups: [...] }), so HTTPS from the replication security group can be allowed.');
        }
        this.securityGroup.connections.allowTo(endpoint, ec2.Port.tcp(HTTPS_PORT), 'AWS Secrets Manager interface endpoint (endpoint credentials)');
        dependencies.add(endpoint);
        return { endpoint, route: SecretsManagerRoute.VPC_ENDPOINT };
      }
      default: {
        const subnets = this.props.subnets;
        checkOneSubnetPerZone(owner, subnets);
        if (existingVpc) {
          checkPrivateDns(owner, vpc);
        }
        const securityGroup = new ec2.SecurityGroup(this.scope, 'SecretsManagerEndpointSecurityGroup', {
          vpc,
          description: 'Secrets Manager interface endpoint: HTTPS from the DMS replication security group',
          allowAllOutbound: false,
        });
        // DMS requires the endpoint's subnets to be the replication subnet group's subnets
        const endpoint = new ec2.InterfaceVpcEndpoint(this.scope, 'SecretsManagerEndpoint', {
          vpc,
          service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
          subnets: { subnets },
          privateDnsEnabled: true,
          securityGroups: [securityGroup],
          open: false,
        });
        this.securityGroup.connections.allowTo(endpoint, ec2.Port.tcp(HTTPS_PORT), 'AWS Secrets Manager interface endpoint (endpoint credentials)');
        if (existingVpc) {
          this.admitWholeVpc(securityGroup);
        }
        dependencies.add(endpoint, securityGroup);
        this.scope.node.addValidation({ validate: () => this.findConflictingSecretsManagerEndpoints(endpoint) });
        return { endpoint, route: SecretsManagerRoute.VPC_ENDPOINT };
      }
    }
  }

  /**
   * Private DNS answers for the whole VPC: every workload's Secrets Manager calls go to the new
   * endpoint, so its group admits them all, and the synth says what changed.
   */
  private admitWholeVpc(endpointGroup: ec2.SecurityGroup): void {
    const { owner, vpc } = this.props;
    const blocks = vpcCidrBlocks(vpc);
    if (blocks === undefined) {
      throw new Error(`${owner}: SecretsManagerAccess.newEndpoint() in an existing VPC serves every workload of the VPC (private DNS), so its security group `
        + 'must admit the VPC\'s CIDR blocks, and the VPC was imported without its CIDR block: import it with vpcCidrBlock, '
        + 'or use SecretsManagerAccess.publicEndpoint() (nothing changes in the VPC) or SecretsManagerAccess.fromEndpoint(yourEndpoint).');
    }
    for (const block of blocks) {
      endpointGroup.addIngressRule(ec2.Peer.ipv4(block), ec2.Port.tcp(HTTPS_PORT), 'Every workload of the VPC: private DNS sends their Secrets Manager calls here');
    }
    Annotations.of(this.scope).addWarningV2('cdk-neon-migration:vpcWideSecretsManagerEndpoint',
      'SecretsManagerAccess.newEndpoint() in an existing VPC creates an interface endpoint with private DNS: from the deployment on, every '
      + `workload of the VPC that calls secretsmanager.<region>.amazonaws.com reaches this endpoint instead of its current route (admitted from ${blocks.join(', ')} on 443; `
      + 'a workload whose security group allows no egress to those addresses on 443 loses Secrets Manager). Keep it only if that is what you want; '
      + 'otherwise use SecretsManagerAccess.publicEndpoint() (a replication instance) or SecretsManagerAccess.fromEndpoint(yourEndpoint).');
  }

  /** The Secrets Manager endpoints with private DNS of the VPC declared in this app (but `own`). */
  private privateDnsEndpoints(own?: ec2.InterfaceVpcEndpoint): ec2.CfnVPCEndpoint[] {
    const ownCfn = own?.node.defaultChild;
    return this.scope.node.root.node.findAll()
      .filter((c): c is ec2.CfnVPCEndpoint => c instanceof ec2.CfnVPCEndpoint && c !== ownCfn)
      .filter(other => sameValue(this.scope, this.props.vpc.vpcId, other, other.vpcId))
      .filter(other => other.privateDnsEnabled !== false && other.vpcEndpointType === 'Interface')
      .filter(other => JSON.stringify(Stack.of(other).resolve(other.serviceName)).includes('secretsmanager'));
  }

  /** Other Secrets Manager endpoints with private DNS in the same VPC: EC2 allows one private DNS name per service and VPC. */
  private findConflictingSecretsManagerEndpoints(own: ec2.InterfaceVpcEndpoint): string[] {
    return this.privateDnsEndpoints(own)
      .map(other => `${this.props.owner}: the VPC already has a Secrets Manager interface endpoint with private DNS (${other.node.path}), and a VPC can have only one: `
        + 'pass it as secretsManagerAccess: SecretsManagerAccess.fromEndpoint(endpoint) instead of creating another.');
  }

  private addNeonIpAllow(options: NeonIpAllowOptions): CustomResource {
    const owner = this.props.owner;
    if (this.props.egressIps.length === 0) {
      throw new Error(`${owner}: neonIpAllow adds the network's public egress addresses to Neon's IP Allow list, and none is known: `
        + 'give egressIps (the public addresses of the NAT gateway, transit gateway or firewall the replication subnets leave through).');
    }
    const projectId = options.projectId;
    if (!Token.isUnresolved(projectId) && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(projectId)) {
      throw new Error(`${owner}: neonIpAllow.projectId '${projectId}' is not a Neon project id (e.g. crimson-sun-12345678): copy it from the project's Settings page.`);
    }
    const apiBaseUrl = options.apiBaseUrl ?? DEFAULT_NEON_API;
    if (!Token.isUnresolved(apiBaseUrl) && !/^https:\/\/[^/\s]+/.test(apiBaseUrl)) {
      throw new Error(`${owner}: neonIpAllow.apiBaseUrl '${apiBaseUrl}' must be an https:// URL such as ${DEFAULT_NEON_API}: the API key is sent with every request.`);
    }

    const provider = MigrationProvider.of(this.scope);
    const secret = options.apiKeySecret;
    provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArnForPolicies(secret)],
    }));
    if (secret.encryptionKey) {
      provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
      }));
    }

    return new CustomResource(this.scope, 'NeonIpAllow', {
      serviceToken: provider.serviceToken,
      resourceType: NEON_IP_ALLOW_TYPE,
      properties: {
        ProjectId: projectId,
        ApiKeySecretArn: completeSecretArn(this.scope, secret, 'neonIpAllow.apiKeySecret'),
        ApiKeySecretField: options.apiKeySecretField,
        ApiBaseUrl: apiBaseUrl,
        Ips: this.props.egressIps,
        AddToEmptyList: options.addToEmptyList ? 'true' : 'false',
      },
    });
  }
}

/**
 * The IPv4 CIDR blocks of a VPC: its primary block, and the secondary blocks declared in this app
 * for a VPC of this app. Undefined when the primary block is not known (a VPC imported without it).
 */
export function vpcCidrBlocks(vpc: ec2.IVpc): string[] | undefined {
  let primary: string;
  try {
    primary = vpc.vpcCidrBlock;
  } catch {
    return undefined;
  }
  const cfnVpc = vpc.node.defaultChild;
  if (cfnVpc instanceof ec2.CfnVPC && cfnVpc.cidrBlock !== undefined) {
    primary = cfnVpc.cidrBlock;
  }
  const secondary = vpc.node.root.node.findAll()
    .filter((c): c is ec2.CfnVPCCidrBlock => c instanceof ec2.CfnVPCCidrBlock)
    .filter(block => block.cidrBlock !== undefined && sameValue(block, block.vpcId, vpc, vpc.vpcId))
    .map(block => block.cidrBlock!);
  return [primary, ...secondary];
}

/** An interface endpoint has one subnet per Availability Zone, and DMS wants the endpoint's subnets to be the replication subnets. */
function checkOneSubnetPerZone(owner: string, subnets: ec2.ISubnet[]): void {
  const byZone = new Map<string, ec2.ISubnet[]>();
  for (const subnet of subnets) {
    const zone = availabilityZoneOf(subnet);
    if (zone === undefined || Token.isUnresolved(zone)) {
      return; // not visible at synth
    }
    byZone.set(zone, [...(byZone.get(zone) ?? []), subnet]);
  }
  for (const [zone, inZone] of byZone) {
    if (inZone.length > 1) {
      throw new Error(`${owner}: the replication subnets include ${inZone.length} subnets in ${zone} (${inZone.map(describeSubnet).join(', ')}): `
        + 'the Secrets Manager interface endpoint can use one subnet per Availability Zone, and DMS requires its subnets to be the replication subnets. '
        + 'Give one private subnet per Availability Zone, or pass an endpoint of your own with SecretsManagerAccess.fromEndpoint.');
    }
  }
}

/** Private DNS of an interface endpoint needs the VPC's DNS support and DNS host names (a VPC of this app can tell). */
function checkPrivateDns(owner: string, vpc: ec2.IVpc): void {
  if (!(vpc instanceof ec2.Vpc)) {
    return;
  }
  const missing = [vpc.dnsSupportEnabled ? undefined : 'enableDnsSupport', vpc.dnsHostnamesEnabled ? undefined : 'enableDnsHostnames']
    .filter((x): x is string => x !== undefined);
  if (missing.length > 0) {
    throw new Error(`${owner}: the VPC has ${missing.join(' and ')} off: the Secrets Manager endpoint's private DNS needs both on. `
      + 'Turn them on, or reach Secrets Manager without an endpoint: secretsManagerAccess: SecretsManagerAccess.publicEndpoint().');
  }
}

function checkPort(method: string, port: number): void {
  if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`${method}: port must be an integer from 1 to 65535 (got ${port}).`);
  }
}

/** The route table of a subnet, when known at synth. */
export function routeTableIdOf(subnet: ec2.ISubnet): string | undefined {
  try {
    return subnet.routeTable?.routeTableId || undefined;
  } catch {
    // imported without a route table
    return undefined;
  }
}

export function availabilityZoneOf(subnet: ec2.ISubnet): string | undefined {
  try {
    return subnet.availabilityZone || undefined;
  } catch {
    // imported without an Availability Zone
    return undefined;
  }
}

/** The subnet's IPv4 block, when known at synth. */
export function ipv4CidrOf(subnet: ec2.ISubnet): string | undefined {
  try {
    const cidr = subnet.ipv4CidrBlock;
    return cidr && !Token.isUnresolved(cidr) ? cidr : undefined;
  } catch {
    // imported without its block
    return undefined;
  }
}

export function describeSubnet(subnet: ec2.ISubnet): string {
  return Token.isUnresolved(subnet.subnetId) ? subnet.node.path : subnet.subnetId;
}

export function display(value: string): string {
  return Token.isUnresolved(value) ? '(token)' : value;
}

/** The same string, or the same CloudFormation value once resolved in one stack. */
export function sameValue(a: IConstruct, aValue: string, b: IConstruct, bValue: string): boolean {
  if (aValue === bValue) {
    return true;
  }
  const stack = Stack.of(a);
  if (stack !== Stack.of(b)) {
    return false;
  }
  return JSON.stringify(stack.resolve(aValue)) === JSON.stringify(stack.resolve(bValue));
}
