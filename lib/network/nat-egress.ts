import { Annotations, Stack, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { overlaps, parseIpv4Cidr } from './cidr';
import { availabilityZoneOf, describeSubnet, display, EgressParts, routeTableIdOf, vpcCidrBlocks } from './egress-parts';
import { NatEgressForReplicationProps } from './nat-egress-props';
import { defaultRoutesOn, EgressKind, freeSubnetBlocks, usedBlocks } from './vpc-layout';
import { IReplicationNetwork, SecretsManagerRoute } from '../core/interfaces';
import { acknowledgeRules } from '../core/nag';

/** CDK's default VPC CIDR block, used when `cidr` is not given. */
const DEFAULT_VPC_CIDR = '10.0.0.0/16';
/** Size of the replication subnets created in an existing VPC: 59 usable addresses each. */
const REPLICATION_SUBNET_PREFIX = 26;

/**
 * The network path from DMS replication compute in private subnets to Neon: NAT gateways with
 * Elastic IPs in public subnets, default routes from the replication subnets to them, and a security
 * group whose only egress is Neon's port (and the source database's, see `allowSourcePort`).
 *
 * Neon runs outside the VPC; without the NAT route, DMS fails to reach it with `timeout expired`.
 * In an existing VPC the replication compute gets subnets and route tables of its own: the routes of
 * what already runs there stay as they are.
 */
export class NatEgressForReplication extends Construct implements IReplicationNetwork {
  public readonly vpc: ec2.IVpc;
  public readonly replicationSubnets: ec2.SubnetSelection;
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Completes when the NAT gateways, the default routes (and the Neon IP Allow entry) exist. */
  public readonly egressReady: IDependable;
  /** Public IPs of the NAT gateways' Elastic IPs (tokens): what Neon's IP Allow list must contain. */
  public readonly egressIps: string[];
  /** The NAT gateway ids (tokens). */
  public readonly natGatewayIds: string[];
  /** Flow logs of the new VPC; undefined with an existing VPC. */
  public readonly flowLog?: ec2.FlowLog;
  /**
   * The Secrets Manager interface endpoint the replication compute uses (created, or given with
   * `SecretsManagerAccess.fromEndpoint`); undefined with `publicEndpoint` and `viaPeer`. Open it to
   * other functions of the VPC with `fn.connections.allowTo(network.secretsManagerEndpoint, ec2.Port.tcp(443))`.
   */
  public readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /**
   * How the replication subnets reach Secrets Manager: always set by this construct (optional only
   * because `IReplicationNetwork` declares it so).
   */
  public readonly secretsManagerRoute?: SecretsManagerRoute;

  private readonly egressDependencies = new DependencyGroup();
  private readonly ownRoutes: ec2.CfnRoute[] = [];
  private readonly parts: EgressParts;

  constructor(scope: Construct, id: string, props: NatEgressForReplicationProps = {}) {
    super(scope, id);

    let subnets: ec2.ISubnet[];
    if (props.vpc) {
      const existing = this.useExistingVpc(props.vpc, props);
      this.vpc = props.vpc;
      subnets = existing.subnets;
      this.egressIps = existing.egressIps;
      this.natGatewayIds = existing.natGatewayIds;
    } else {
      const created = this.createVpc(props);
      this.vpc = created.vpc;
      subnets = created.vpc.privateSubnets;
      this.egressIps = created.egressIps;
      this.natGatewayIds = created.natGatewayIds;
      this.flowLog = created.flowLog;
    }
    this.replicationSubnets = { subnets };

    this.parts = new EgressParts(this, {
      owner: 'NatEgressForReplication',
      vpc: this.vpc,
      subnets,
      existingVpc: props.vpc !== undefined,
      secretsManagerAccess: props.secretsManagerAccess,
      egressIps: this.egressIps,
      egressIpLabel: 'Elastic IP of NAT gateway',
      neonIpAllow: props.neonIpAllow,
      dependencies: this.egressDependencies,
    });
    this.securityGroup = this.parts.securityGroup;
    this.secretsManagerEndpoint = this.parts.secretsManagerEndpoint;
    this.secretsManagerRoute = this.parts.secretsManagerRoute;
    this.egressReady = this.egressDependencies;
  }

  /**
   * Allow the replication instance to reach a source database on `port`.
   *
   * @param port TCP port of the source database
   * @param peer where the source database is; defaults to the VPC's CIDR block
   */
  public allowSourcePort(port: number, peer?: ec2.IPeer): void {
    this.parts.allowSourcePort(port, peer);
  }

  /**
   * Allow the replication instance to reach Neon on a port other than 5432 (Neon computes have no
   * fixed IP addresses, so the rule allows any IPv4 address on that port).
   *
   * @param port TCP port of the Neon endpoint
   */
  public allowNeonPort(port: number): void {
    this.parts.allowNeonPort(port);
  }

  private createVpc(props: NatEgressForReplicationProps) {
    for (const prop of ['publicSubnet', 'privateSubnets', 'routeTableIds', 'replicationSubnetCidrs', 'changeExistingRouteTables'] as const) {
      if (props[prop] !== undefined) {
        throw new Error(`NatEgressForReplication: ${prop} needs vpc: it names a part of an existing VPC. Pass vpc too, or remove ${prop} to create a new VPC.`);
      }
    }
    const maxAzs = props.maxAzs ?? 2;
    if (!Token.isUnresolved(maxAzs) && (!Number.isInteger(maxAzs) || maxAzs < 2)) {
      throw new Error(`NatEgressForReplication: maxAzs must be an integer of at least 2 (got ${maxAzs}): DMS replication subnet groups need subnets in two Availability Zones.`);
    }
    const natGateways = props.natGateways ?? 1;
    if (!Token.isUnresolved(natGateways) && (!Number.isInteger(natGateways) || natGateways < 1)) {
      throw new Error(`NatEgressForReplication: natGateways must be an integer of at least 1 (got ${natGateways}): the replication instance reaches Neon only through a NAT gateway.`);
    }
    const cidr = props.cidr ?? DEFAULT_VPC_CIDR;
    checkVpcCidr(cidr, maxAzs, props.avoidCidrs ?? []);

    const natProvider = new ElasticIpNatGatewayProvider(this);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs,
      natGateways,
      natGatewayProvider: natProvider,
      subnetConfiguration: [
        // Only the NAT gateways live here: nothing gets a public IP address by default.
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Replication', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      restrictDefaultSecurityGroup: true,
    });

    const logGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.flowLogEncryptionKey,
    });
    if (props.flowLogEncryptionKey) {
      // CloudWatch Logs encrypts with the key on behalf of the log group's region.
      props.flowLogEncryptionKey.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${Stack.of(this).region}.amazonaws.com`));
    } else {
      acknowledgeRules(logGroup, [
        { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'VPC flow logs hold addresses and ports, no payload; CloudWatch Logs encrypts them at rest. Pass flowLogEncryptionKey for a customer-managed key.' },
      ]);
    }
    const flowLog = new ec2.FlowLog(this, 'FlowLog', {
      resourceType: ec2.FlowLogResourceType.fromVpc(vpc),
      destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    acknowledgeRules(flowLog, [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The flow log role\'s only policy lets VPC Flow Logs write to this construct\'s log group; it has no use outside it.' },
    ]);

    this.egressDependencies.add(vpc.internetConnectivityEstablished);
    for (const subnet of vpc.privateSubnets) {
      this.egressDependencies.add(subnet.internetConnectivityEstablished);
    }

    acknowledgeRules(vpc, [
      { id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: 'The public subnets hold only the NAT gateways, which need a default route to the internet gateway to reach Neon.' },
    ]);

    return {
      vpc,
      egressIps: natProvider.elasticIps.map((eip) => eip.ref),
      natGatewayIds: natProvider.configuredGateways.map((gateway) => gateway.gatewayId),
      flowLog,
    };
  }

  private useExistingVpc(vpc: ec2.IVpc, props: NatEgressForReplicationProps) {
    const newVpcOnly = ['cidr', 'avoidCidrs', 'maxAzs', 'natGateways', 'flowLogRetention', 'flowLogEncryptionKey'] as const;
    for (const prop of newVpcOnly) {
      if (props[prop] !== undefined) {
        throw new Error(`NatEgressForReplication: ${prop} applies only to the VPC this construct creates: remove it when vpc is given.`);
      }
    }
    const publicSubnet = props.publicSubnet;
    if (!publicSubnet) {
      throw new Error('NatEgressForReplication: publicSubnet is required with vpc: the NAT gateway goes into a public subnet (one whose route table sends 0.0.0.0/0 to an internet gateway).');
    }
    const privateSubnetIds = new Set([...vpc.privateSubnets, ...vpc.isolatedSubnets].map((s) => s.subnetId));
    if (publicSubnet instanceof ec2.PrivateSubnet || privateSubnetIds.has(publicSubnet.subnetId)) {
      throw new Error(`NatEgressForReplication: publicSubnet ${describeSubnet(publicSubnet)} is not a public subnet (it is a private subnet of the VPC): the NAT gateway needs a subnet whose route table sends 0.0.0.0/0 to an internet gateway.`);
    }

    const eip = new ec2.CfnEIP(this, 'NatEip1', { domain: 'vpc' });
    Tags.of(eip).add('Name', `${this.node.path}/NatEip1`);
    const natGateway = new ec2.CfnNatGateway(this, 'NatGateway', {
      subnetId: publicSubnet.subnetId,
      allocationId: eip.attrAllocationId,
      connectivityType: 'public',
    });
    Tags.of(natGateway).add('Name', `${this.node.path}/NatGateway`);
    natGateway.node.addDependency(publicSubnet.internetConnectivityEstablished);
    this.egressDependencies.add(natGateway);

    const subnets = props.privateSubnets !== undefined || props.routeTableIds !== undefined
      ? this.routeExistingSubnets(vpc, publicSubnet, natGateway, props)
      : this.createReplicationSubnets(vpc, publicSubnet, natGateway, props.replicationSubnetCidrs);
    return { subnets, egressIps: [eip.ref], natGatewayIds: [natGateway.ref] };
  }

  /**
   * Replication subnets of its own, each with a route table of its own whose default route leads to
   * the NAT gateway: no route of the VPC's other subnets changes.
   */
  private createReplicationSubnets(vpc: ec2.IVpc, publicSubnet: ec2.ISubnet, natGateway: ec2.CfnNatGateway, given?: string[]): ec2.ISubnet[] {
    const blocks = given ?? this.findReplicationBlocks(vpc);
    checkReplicationBlocks(vpc, blocks);
    const zones = vpc.availabilityZones;
    if (blocks.length > zones.length) {
      throw new Error(`NatEgressForReplication: replicationSubnetCidrs has ${blocks.length} blocks and the VPC ${zones.length} Availability Zones: give one block per Availability Zone, at most ${zones.length}.`);
    }
    const publicZone = availabilityZoneOf(publicSubnet);
    // the NAT gateway's zone first: the replication subnet there keeps its egress inside one zone
    const ordered = publicZone !== undefined && zones.includes(publicZone) ? [publicZone, ...zones.filter(z => z !== publicZone)] : zones;
    return blocks.map((cidrBlock, i) => {
      const subnet = new ec2.PrivateSubnet(this, `ReplicationSubnet${i + 1}`, {
        vpcId: vpc.vpcId,
        availabilityZone: ordered[i],
        cidrBlock,
        mapPublicIpOnLaunch: false,
      });
      subnet.addDefaultNatRoute(natGateway.ref);
      this.egressDependencies.add(subnet.internetConnectivityEstablished);
      return subnet;
    });
  }

  /** Two free /26 blocks of the VPC, when the app shows all of its subnets. */
  private findReplicationBlocks(vpc: ec2.IVpc): string[] {
    const free = freeSubnetBlocks(vpc, 2, REPLICATION_SUBNET_PREFIX);
    if (free === undefined) {
      throw new Error('NatEgressForReplication: the replication compute gets subnets of its own in the VPC, and the app does not show which addresses '
        + 'of the VPC are free (a VPC imported without its CIDR block or its subnets\' blocks): give replicationSubnetCidrs, two free blocks of '
        + 'the VPC such as [\'10.0.250.0/26\', \'10.0.250.64/26\']. Or use existing subnets: privateSubnets with changeExistingRouteTables: true.');
    }
    if (free.length < 2) {
      throw new Error(`NatEgressForReplication: the replication compute gets subnets of its own in the VPC, and its address space (${(vpcCidrBlocks(vpc) ?? []).join(', ')}) `
        + `has no two free /${REPLICATION_SUBNET_PREFIX} blocks left: give replicationSubnetCidrs (smaller blocks, down to /28), add a secondary CIDR block to the VPC, `
        + 'or use existing subnets: privateSubnets with changeExistingRouteTables: true. If the VPC\'s private subnets already reach the internet, use ExistingEgressForReplication instead.');
    }
    return free;
  }

  /** The explicit choice: the default route goes into existing route tables. */
  private routeExistingSubnets(vpc: ec2.IVpc, publicSubnet: ec2.ISubnet, natGateway: ec2.CfnNatGateway,
    props: NatEgressForReplicationProps): ec2.ISubnet[] {
    if (props.replicationSubnetCidrs !== undefined) {
      throw new Error('NatEgressForReplication: replicationSubnetCidrs creates subnets of its own, and privateSubnets/routeTableIds use existing ones: set one of them.');
    }
    if (props.privateSubnets !== undefined && props.privateSubnets.length === 0) {
      throw new Error('NatEgressForReplication: privateSubnets is an empty list (vpc.isolatedSubnets of a VPC without isolated subnets?). '
        + 'Leave privateSubnets out to give the replication compute subnets of its own; if the VPC\'s private subnets already reach the internet '
        + '(vpc.privateSubnets of an ec2.Vpc with NAT gateways), use ExistingEgressForReplication.');
    }
    const routeTableIds = props.routeTableIds ?? this.routeTablesOf(props.privateSubnets!);
    if (routeTableIds.length === 0) {
      throw new Error('NatEgressForReplication: routeTableIds is an empty list: name the route tables that get the default route, or leave it out.');
    }
    const seen = new Set<string>();
    for (const id of routeTableIds) {
      if (seen.has(id)) {
        throw new Error(`NatEgressForReplication: routeTableIds lists ${display(id)} twice: each route table gets one default route.`);
      }
      seen.add(id);
    }
    const subnets = props.privateSubnets ?? [...vpc.privateSubnets, ...vpc.isolatedSubnets]
      .filter((s) => seen.has(routeTableIdOf(s) ?? ''));
    this.checkPrivateSubnets(vpc, publicSubnet, subnets, props.privateSubnets !== undefined);
    this.checkNoEgressYet(subnets, routeTableIds);
    if (props.changeExistingRouteTables !== true) {
      const named = props.privateSubnets ? `the route tables of privateSubnets (${routeTableIds.map(display).join(', ')})` : `routeTableIds (${routeTableIds.map(display).join(', ')})`;
      throw new Error(`NatEgressForReplication: the default route to the NAT gateway would go into ${named}, which other resources may use: `
        + 'each of them would gain a way to the internet. Set changeExistingRouteTables: true to accept that, or leave privateSubnets and '
        + 'routeTableIds out: the replication compute then gets subnets and route tables of its own (replicationSubnetCidrs).');
    }
    if (props.privateSubnets && props.routeTableIds) {
      props.privateSubnets.forEach((subnet, i) => {
        const rt = routeTableIdOf(subnet);
        if (rt !== undefined && !seen.has(rt)) {
          Annotations.of(this).addWarningV2('cdk-neon-migration:privateSubnetRouteTable',
            `privateSubnets[${i}] (${describeSubnet(subnet)}) uses route table ${display(rt)}, which is not in routeTableIds: it gets no route to the NAT gateway, so the replication instance cannot reach Neon from it unless that route table already has one.`);
        }
      });
    }
    routeTableIds.forEach((routeTableId, i) => {
      const routeId = Token.isUnresolved(routeTableId) ? `DefaultRoute${i + 1}` : `DefaultRoute-${routeTableId}`;
      const route = new ec2.CfnRoute(this, routeId, {
        routeTableId,
        destinationCidrBlock: '0.0.0.0/0',
        natGatewayId: natGateway.ref,
      });
      this.ownRoutes.push(route);
      this.egressDependencies.add(route);
    });
    return subnets;
  }

  /**
   * Route tables that already send 0.0.0.0/0 somewhere (visible when declared in this app): EC2 refuses
   * a second default route, and such subnets need no NAT gateway of this construct.
   */
  private checkNoEgressYet(subnets: ec2.ISubnet[], routeTableIds: string[]): void {
    const problems = this.existingDefaultRoutes(subnets, routeTableIds);
    if (problems.length > 0) {
      throw new Error(problems[0]);
    }
    // routes declared later in the app are found when the app is validated
    this.node.addValidation({ validate: () => this.existingDefaultRoutes(subnets, routeTableIds) });
  }

  private existingDefaultRoutes(subnets: ec2.ISubnet[], routeTableIds: string[]): string[] {
    const problems: string[] = [];
    for (const routeTableId of routeTableIds) {
      const existing = defaultRoutesOn(this, routeTableId).filter(r => !this.ownRoutes.includes(r.route));
      if (existing.length === 0) continue;
      const users = subnets.filter(subnet => routeTableIdOf(subnet) === routeTableId);
      const table = Token.isUnresolved(routeTableId) ? `of ${(users.length > 0 ? users : subnets).map(describeSubnet).join(', ')}` : routeTableId;
      const via = existing[0];
      problems.push(`NatEgressForReplication: route table ${table} already has a default route (0.0.0.0/0) to ${via.kind === EgressKind.OTHER ? 'a network appliance' : `a ${via.kind}`} `
        + `at ${via.route.node.path}: a route table holds one default route, and those subnets already reach the internet. Use ExistingEgressForReplication, `
        + 'which runs the replication compute on that egress and adds nothing to the VPC\'s routes, or leave privateSubnets out to give the replication '
        + 'compute subnets of its own.');
    }
    return problems;
  }

  private routeTablesOf(subnets: ec2.ISubnet[]): string[] {
    const ids: string[] = [];
    subnets.forEach((subnet, i) => {
      const id = routeTableIdOf(subnet);
      if (id === undefined) {
        throw new Error(`NatEgressForReplication: privateSubnets[${i}] (${describeSubnet(subnet)}) has no known route table: import it with ec2.Subnet.fromSubnetAttributes({ subnetId, availabilityZone, routeTableId }) or pass routeTableIds.`);
      }
      if (!ids.includes(id)) {
        ids.push(id);
      }
    });
    return ids;
  }

  private checkPrivateSubnets(vpc: ec2.IVpc, publicSubnet: ec2.ISubnet, subnets: ec2.ISubnet[], given: boolean): void {
    const name = given ? 'privateSubnets' : 'the subnets of routeTableIds';
    if (subnets.length < 2) {
      const hint = given ? '' : ' Pass privateSubnets to name them.';
      throw new Error(`NatEgressForReplication: ${name} must include at least two subnets (got ${subnets.length}): DMS replication subnet groups need subnets in two Availability Zones.${hint}`);
    }
    const publicIds = new Set(vpc.publicSubnets.map((s) => s.subnetId));
    subnets.forEach((subnet, i) => {
      if (subnet.subnetId === publicSubnet.subnetId || subnet instanceof ec2.PublicSubnet || publicIds.has(subnet.subnetId)) {
        throw new Error(`NatEgressForReplication: privateSubnets[${i}] (${describeSubnet(subnet)}) is a public subnet: the replication instance belongs in private subnets that reach the internet through the NAT gateway.`);
      }
    });
    const zones = subnets.map(availabilityZoneOf);
    if (zones.every((az) => az !== undefined && !Token.isUnresolved(az))) {
      const distinct = new Set(zones);
      if (distinct.size < 2) {
        throw new Error(`NatEgressForReplication: ${name} are all in ${zones[0]}: DMS replication subnet groups need subnets in two Availability Zones.`);
      }
    }
  }
}

/** The replication subnets' blocks: at least two, each a block inside the VPC's that no subnet of the VPC overlaps. */
function checkReplicationBlocks(vpc: ec2.IVpc, blocks: string[]): void {
  if (blocks.length < 2) {
    throw new Error(`NatEgressForReplication: replicationSubnetCidrs must give at least two blocks (got ${blocks.length}): DMS replication subnet groups need subnets in two Availability Zones.`);
  }
  const vpcBlocks = (vpcCidrBlocks(vpc) ?? []).filter(b => !Token.isUnresolved(b)).map(b => parseIpv4Cidr(b)!);
  const used = usedBlocks(vpc) ?? [];
  const parsed = blocks.map((cidr, i) => {
    if (Token.isUnresolved(cidr)) return undefined;
    const block = parseIpv4Cidr(cidr);
    if (!block) {
      throw new Error(`NatEgressForReplication: replicationSubnetCidrs[${i}] '${cidr}' is not an IPv4 CIDR block such as 10.0.250.0/26 (the address must be the first of the block).`);
    }
    if (block.prefix < 16 || block.prefix > 28) {
      throw new Error(`NatEgressForReplication: replicationSubnetCidrs[${i}] '${cidr}' has prefix /${block.prefix}: subnet blocks range from /16 to /28.`);
    }
    if (vpcBlocks.length > 0 && !vpcBlocks.some(v => v.first <= block.first && block.last <= v.last)) {
      throw new Error(`NatEgressForReplication: replicationSubnetCidrs[${i}] '${cidr}' is outside the VPC's CIDR blocks (${vpcCidrBlocks(vpc)!.join(', ')}).`);
    }
    if (used.some(u => overlaps(u, block))) {
      throw new Error(`NatEgressForReplication: replicationSubnetCidrs[${i}] '${cidr}' overlaps a subnet of the VPC: choose a free block.`);
    }
    return block;
  });
  parsed.forEach((a, i) => parsed.slice(i + 1).forEach((b, j) => {
    if (a && b && overlaps(a, b)) {
      throw new Error(`NatEgressForReplication: replicationSubnetCidrs[${i}] and replicationSubnetCidrs[${i + 1 + j}] overlap: give distinct blocks.`);
    }
  }));
}

/**
 * The NAT gateway provider of `ec2.Vpc`, with an Elastic IP per NAT gateway created as a child of
 * the construct (so their addresses can be read as tokens).
 */
class ElasticIpNatGatewayProvider extends ec2.NatProvider {
  public readonly elasticIps: ec2.CfnEIP[] = [];
  private gateways?: ec2.NatProvider;

  constructor(private readonly scope: Construct) {
    super();
  }

  public configureNat(options: ec2.ConfigureNatOptions): void {
    options.natSubnets.forEach((_subnet, i) => {
      const eip = new ec2.CfnEIP(this.scope, `NatEip${i + 1}`, { domain: 'vpc' });
      Tags.of(eip).add('Name', `${this.scope.node.path}/NatEip${i + 1}`);
      this.elasticIps.push(eip);
    });
    this.gateways = ec2.NatProvider.gateway({ eipAllocationIds: this.elasticIps.map((eip) => eip.attrAllocationId) });
    this.gateways.configureNat(options);
  }

  public configureSubnet(subnet: ec2.PrivateSubnet): void {
    this.gateways!.configureSubnet(subnet);
  }

  public get configuredGateways(): ec2.GatewayConfig[] {
    return this.gateways?.configuredGateways ?? [];
  }
}

function checkVpcCidr(cidr: string, maxAzs: number, avoidCidrs: string[]): void {
  if (Token.isUnresolved(cidr)) {
    return;
  }
  const block = parseIpv4Cidr(cidr);
  if (!block) {
    throw new Error(`NatEgressForReplication: cidr '${cidr}' is not an IPv4 CIDR block such as 10.0.0.0/16 (the address must be the first of the block).`);
  }
  if (block.prefix < 16 || block.prefix > 28) {
    throw new Error(`NatEgressForReplication: cidr '${cidr}' has prefix /${block.prefix}: VPC CIDR blocks range from /16 to /28.`);
  }
  if (!Token.isUnresolved(maxAzs)) {
    const subnets = 2 * maxAzs;
    const largestPrefix = 28 - Math.ceil(Math.log2(subnets));
    if (block.prefix > largestPrefix) {
      throw new Error(`NatEgressForReplication: cidr '${cidr}' is too small for ${subnets} subnets (a public and a private subnet in each of ${maxAzs} Availability Zones, each at least /28): use a prefix of /${largestPrefix} or shorter.`);
    }
  }
  avoidCidrs.forEach((other, i) => {
    if (Token.isUnresolved(other)) {
      return;
    }
    const otherBlock = parseIpv4Cidr(other);
    if (!otherBlock) {
      throw new Error(`NatEgressForReplication: avoidCidrs[${i}] '${other}' is not an IPv4 CIDR block such as 172.31.0.0/16.`);
    }
    if (overlaps(block, otherBlock)) {
      throw new Error(`NatEgressForReplication: cidr ${cidr} overlaps avoidCidrs[${i}] ${other}: choose a VPC CIDR block (cidr) that does not overlap the networks the VPC is peered or connected with.`);
    }
  });
}

