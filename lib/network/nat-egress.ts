import { Annotations, CfnOutput, CustomResource, Stack, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, DependencyGroup, IConstruct, IDependable } from 'constructs';
import { overlaps, parseIpv4Cidr } from './cidr';
import { SecretsManagerAccess, SecretsManagerAccessKind } from './secrets-manager-access';
import { IReplicationNetwork, SecretsManagerRoute } from '../core/interfaces';
import { acknowledgeRules } from '../core/nag';
import { ResourceTypes } from '../lifecycle/kinds';
import { MigrationProvider } from '../lifecycle/provider';
import { completeSecretArn, secretArnForPolicies } from '../secrets/complete-arn';

/** Neon's PostgreSQL port. */
const NEON_PORT = 5432;
/** CDK's default VPC CIDR block, used when `cidr` is not given. */
const DEFAULT_VPC_CIDR = '10.0.0.0/16';
const DEFAULT_NEON_API = 'https://console.neon.tech/api/v2';
/** HTTPS: the AWS APIs, through interface VPC endpoints too. */
const HTTPS_PORT = 443;

/**
 * Adds the NAT gateways' Elastic IPs to a Neon project's IP Allow list at deploy time.
 */
export interface NeonIpAllowOptions {
  /** Neon project id, e.g. `crimson-sun-12345678` (project Settings page). */
  readonly projectId: string;

  /**
   * Secret holding a Neon API key that may change the project's settings. Read by the deploy-time
   * handler; the key never appears in the template or in logs.
   */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * JSON field of `apiKeySecret` holding the API key, e.g. `NEON_API_KEY`.
   *
   * @default - the secret holds the plain API key
   */
  readonly apiKeySecretField?: string;

  /**
   * Base URL of the Neon API.
   *
   * @default 'https://console.neon.tech/api/v2'
   */
  readonly apiBaseUrl?: string;

  /**
   * Add the Elastic IPs even when the project's IP Allow list is empty. An empty list lets every
   * address in, so adding the NAT's addresses would lock out every other client (applications,
   * developers); by default an empty list is left unchanged.
   *
   * @default false
   */
  readonly addToEmptyList?: boolean;
}

/**
 * Properties of a `NatEgressForReplication`.
 *
 * Without `vpc`, a new VPC is created (public and private subnets in `maxAzs` Availability Zones,
 * `natGateways` NAT gateways, flow logs). With `vpc`, a NAT gateway is added to `publicSubnet` of
 * that VPC and a default route to it to each given route table.
 */
export interface NatEgressForReplicationProps {
  /**
   * An existing VPC to add the NAT gateway to. Give `publicSubnet` and `privateSubnets` or
   * `routeTableIds` with it.
   *
   * @default - a new VPC is created
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Public subnet of `vpc` (its route table sends 0.0.0.0/0 to an internet gateway) the NAT gateway
   * goes into. Only with `vpc`.
   *
   * @default - none; required with `vpc`
   */
  readonly publicSubnet?: ec2.ISubnet;

  /**
   * Private subnets of `vpc` the replication instance runs in: at least two, in two Availability
   * Zones. A default route to the NAT gateway is added to their route tables, unless
   * `routeTableIds` names the route tables. Only with `vpc`.
   *
   * @default - the subnets of `vpc` associated with `routeTableIds`
   */
  readonly privateSubnets?: ec2.ISubnet[];

  /**
   * Exactly the route tables that get a `0.0.0.0/0` route to the NAT gateway. None of them may
   * already have a default route. Only with `vpc`.
   *
   * @default - the route tables of `privateSubnets`
   */
  readonly routeTableIds?: string[];

  /**
   * IPv4 CIDR block of the new VPC, /16 to /28 (large enough for a public and a private subnet in
   * each Availability Zone, each at least /28). Only without `vpc`.
   *
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;

  /**
   * CIDR blocks the new VPC must not overlap, such as the source database's VPC when the two are
   * peered or connected through a transit gateway. Only without `vpc`.
   *
   * @default - no check
   */
  readonly avoidCidrs?: string[];

  /**
   * Number of Availability Zones of the new VPC; DMS replication subnet groups need at least two.
   * Only without `vpc`.
   *
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * Number of NAT gateways of the new VPC, at most one per Availability Zone. Each costs about
   * $0.045 per hour plus $0.045 per GB processed, and its Elastic IP $0.005 per hour (us-east-1).
   * One is enough for a migration; one per AZ survives the loss of an AZ. Only without `vpc`.
   *
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * Retention of the new VPC's flow logs. Only without `vpc`.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;

  /**
   * KMS key encrypting the new VPC's flow log group. Only without `vpc`.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly flowLogEncryptionKey?: kms.IKey;

  /**
   * Add the NAT gateways' Elastic IPs to a Neon project's IP Allow list at deploy time.
   *
   * @default - the IPs are only shown as stack outputs (`NeonAllowIp1`, ...) to add by hand
   */
  readonly neonIpAllow?: NeonIpAllowOptions;

  /**
   * How the replication compute reaches AWS Secrets Manager, where DMS reads the endpoints'
   * credentials from inside the VPC (DMS 3.4.7 and later; DMS Serverless only through an interface
   * endpoint in the replication subnets).
   *
   * @default SecretsManagerAccess.newEndpoint() - an interface VPC endpoint with private DNS in the
   * replication subnets, HTTPS from the replication security group only
   */
  readonly secretsManagerAccess?: SecretsManagerAccess;
}

/**
 * The network path from a DMS replication instance in private subnets to Neon: NAT gateways with
 * Elastic IPs in public subnets, default routes from the private subnets to them, and a security
 * group whose only egress is Neon's port (and the source database's, see `allowSourcePort`).
 *
 * Neon runs outside the VPC; without the NAT route, DMS fails to reach it with `timeout expired`.
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
   * `SecretsManagerAccess.fromEndpoint`); undefined with `SecretsManagerAccess.viaPeer`. Open it to
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

  constructor(scope: Construct, id: string, props: NatEgressForReplicationProps = {}) {
    super(scope, id);

    if (props.vpc) {
      const existing = this.useExistingVpc(props.vpc, props);
      this.vpc = props.vpc;
      this.replicationSubnets = { subnets: existing.subnets };
      this.egressIps = existing.egressIps;
      this.natGatewayIds = existing.natGatewayIds;
    } else {
      const created = this.createVpc(props);
      this.vpc = created.vpc;
      this.replicationSubnets = { subnets: created.vpc.privateSubnets };
      this.egressIps = created.egressIps;
      this.natGatewayIds = created.natGatewayIds;
      this.flowLog = created.flowLog;
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'DMS replication instance: egress to Neon and the source database only',
      allowAllOutbound: false,
    });
    // Neon computes have no fixed IP addresses: the egress rule for Neon's port allows any IPv4
    // address. Security groups do not filter DNS queries to the VPC resolver.
    this.allowNeonPort(NEON_PORT);

    const secretsManager = this.configureSecretsManager(props.secretsManagerAccess ?? SecretsManagerAccess.newEndpoint(), props.vpc !== undefined);
    this.secretsManagerEndpoint = secretsManager.endpoint;
    this.secretsManagerRoute = secretsManager.route;
    // the security group's rules (and those it adds to the endpoint's group) exist before anything connects
    this.egressDependencies.add(this.securityGroup);

    this.egressIps.forEach((ip, i) => {
      new CfnOutput(this, `NeonAllowIp${i + 1}`, {
        value: ip,
        description: `Elastic IP of NAT gateway ${i + 1} of ${this.node.path}: add it to the Neon project's IP Allow list (Settings > Network security) so the DMS replication instance can connect.`,
      });
    });

    if (props.neonIpAllow) {
      this.egressDependencies.add(this.addNeonIpAllow(props.neonIpAllow));
    }
    this.egressReady = this.egressDependencies;
  }

  /**
   * Allow the replication instance to reach a source database on `port`.
   *
   * @param port TCP port of the source database
   * @param peer where the source database is; defaults to the VPC's CIDR block
   */
  public allowSourcePort(port: number, peer?: ec2.IPeer): void {
    checkPort('allowSourcePort', port);
    let target = peer;
    if (!target) {
      let cidr: string;
      try {
        cidr = this.vpc.vpcCidrBlock;
      } catch {
        throw new Error('NatEgressForReplication.allowSourcePort: the VPC\'s CIDR block is not known (import it with vpcCidrBlock), so pass the peer the source database is in, e.g. ec2.Peer.ipv4(\'10.1.0.0/16\').');
      }
      target = ec2.Peer.ipv4(cidr);
    }
    this.securityGroup.addEgressRule(target, ec2.Port.tcp(port), `Source database on port ${port}`);
  }

  /**
   * Allow the replication instance to reach Neon on a port other than 5432 (Neon computes have no
   * fixed IP addresses, so the rule allows any IPv4 address on that port).
   *
   * @param port TCP port of the Neon endpoint
   */
  public allowNeonPort(port: number): void {
    checkPort('allowNeonPort', port);
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port),
      `Neon on port ${port}: Neon has no fixed IP addresses`);
  }

  /** The path from the replication security group to Secrets Manager (an endpoint, or HTTPS to a peer). */
  private configureSecretsManager(access: SecretsManagerAccess, existingVpc: boolean):
  { endpoint?: ec2.IInterfaceVpcEndpoint; route: SecretsManagerRoute } {
    switch (access.kind) {
      case SecretsManagerAccessKind.PEER: {
        const reason = access.reason ?? '';
        if (!Token.isUnresolved(reason) && reason.trim().length < 10) {
          throw new Error('NatEgressForReplication: SecretsManagerAccess.viaPeer needs a reason (at least 10 characters) why the VPC has no Secrets Manager endpoint of its own.');
        }
        this.securityGroup.addEgressRule(access.peer!, ec2.Port.tcp(HTTPS_PORT), 'AWS Secrets Manager (endpoint credentials)');
        Annotations.of(this).addInfo(`Secrets Manager is reached through ${access.peer!.uniqueId} on port 443, not through an endpoint in this VPC: ${reason}`);
        return { route: SecretsManagerRoute.OTHER };
      }
      case SecretsManagerAccessKind.EXISTING_ENDPOINT: {
        const endpoint = access.endpoint!;
        if (endpoint.connections.securityGroups.length === 0) {
          throw new Error('NatEgressForReplication: the Secrets Manager endpoint of SecretsManagerAccess.fromEndpoint has no security group: import it with '
            + 'ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes({ vpcEndpointId, port: 443, securityGroups: [...] }), so HTTPS from the replication security group can be allowed.');
        }
        this.securityGroup.connections.allowTo(endpoint, ec2.Port.tcp(HTTPS_PORT), 'AWS Secrets Manager interface endpoint (endpoint credentials)');
        this.egressDependencies.add(endpoint);
        return { endpoint, route: SecretsManagerRoute.VPC_ENDPOINT };
      }
      default: {
        const subnets = this.vpc.selectSubnets(this.replicationSubnets).subnets;
        checkOneSubnetPerZone(subnets);
        if (existingVpc) {
          checkPrivateDns(this.vpc);
        }
        const securityGroup = new ec2.SecurityGroup(this, 'SecretsManagerEndpointSecurityGroup', {
          vpc: this.vpc,
          description: 'Secrets Manager interface endpoint: HTTPS from the DMS replication security group',
          allowAllOutbound: false,
        });
        // DMS requires the endpoint's subnets to be the replication subnet group's subnets
        const endpoint = new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
          vpc: this.vpc,
          service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
          subnets: { subnets },
          privateDnsEnabled: true,
          securityGroups: [securityGroup],
          open: false,
        });
        this.securityGroup.connections.allowTo(endpoint, ec2.Port.tcp(HTTPS_PORT), 'AWS Secrets Manager interface endpoint (endpoint credentials)');
        this.egressDependencies.add(endpoint, securityGroup);
        this.node.addValidation({ validate: () => this.findConflictingSecretsManagerEndpoints(endpoint) });
        return { endpoint, route: SecretsManagerRoute.VPC_ENDPOINT };
      }
    }
  }

  /** Other Secrets Manager endpoints with private DNS in the same VPC: EC2 allows one private DNS name per service and VPC. */
  private findConflictingSecretsManagerEndpoints(own: ec2.InterfaceVpcEndpoint): string[] {
    const ownCfn = own.node.defaultChild as ec2.CfnVPCEndpoint;
    const others = this.node.root.node.findAll()
      .filter((c): c is ec2.CfnVPCEndpoint => c instanceof ec2.CfnVPCEndpoint && c !== ownCfn);
    return others
      .filter(other => sameValue(ownCfn, ownCfn.vpcId, other, other.vpcId))
      .filter(other => other.privateDnsEnabled !== false && other.vpcEndpointType === 'Interface')
      .filter(other => JSON.stringify(Stack.of(other).resolve(other.serviceName)).includes('secretsmanager'))
      .map(other => `NatEgressForReplication: the VPC already has a Secrets Manager interface endpoint with private DNS (${other.node.path}), and a VPC can have only one: `
        + 'pass it as secretsManagerAccess: SecretsManagerAccess.fromEndpoint(endpoint) instead of creating another.');
  }

  private createVpc(props: NatEgressForReplicationProps) {
    for (const prop of ['publicSubnet', 'privateSubnets', 'routeTableIds'] as const) {
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
    if (props.privateSubnets === undefined && props.routeTableIds === undefined) {
      throw new Error('NatEgressForReplication: give privateSubnets (the subnets of the replication instance) or routeTableIds (their route tables) with vpc, so the default route to the NAT gateway can be added.');
    }
    const privateSubnetIds = new Set([...vpc.privateSubnets, ...vpc.isolatedSubnets].map((s) => s.subnetId));
    if (publicSubnet instanceof ec2.PrivateSubnet || privateSubnetIds.has(publicSubnet.subnetId)) {
      throw new Error(`NatEgressForReplication: publicSubnet ${describeSubnet(publicSubnet)} is not a public subnet (it is a private subnet of the VPC): the NAT gateway needs a subnet whose route table sends 0.0.0.0/0 to an internet gateway.`);
    }

    const routeTableIds = props.routeTableIds ?? this.routeTablesOf(props.privateSubnets!);
    if (routeTableIds.length === 0) {
      throw new Error('NatEgressForReplication: routeTableIds must list at least one route table.');
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
    if (props.privateSubnets && props.routeTableIds) {
      props.privateSubnets.forEach((subnet, i) => {
        const rt = routeTableIdOf(subnet);
        if (rt !== undefined && !seen.has(rt)) {
          Annotations.of(this).addWarningV2('cdk-neon-migration:privateSubnetRouteTable',
            `privateSubnets[${i}] (${describeSubnet(subnet)}) uses route table ${display(rt)}, which is not in routeTableIds: it gets no route to the NAT gateway, so the replication instance cannot reach Neon from it unless that route table already has one.`);
        }
      });
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
    this.node.addValidation({ validate: () => this.findConflictingDefaultRoutes() });

    return { subnets, egressIps: [eip.ref], natGatewayIds: [natGateway.ref] };
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

  /** Default routes elsewhere in the app on the route tables this construct adds one to. */
  private findConflictingDefaultRoutes(): string[] {
    const errors: string[] = [];
    const routes = this.node.root.node.findAll().filter((c): c is ec2.CfnRoute => c instanceof ec2.CfnRoute);
    for (const own of this.ownRoutes) {
      for (const other of routes) {
        if (this.ownRoutes.includes(other) || other.destinationCidrBlock !== '0.0.0.0/0') {
          continue;
        }
        if (sameValue(own, own.routeTableId, other, other.routeTableId)) {
          const table = Token.isUnresolved(own.routeTableId) ? `of ${own.node.path}` : own.routeTableId;
          errors.push(`NatEgressForReplication: route table ${table} already has a default route (0.0.0.0/0) at ${other.node.path}: a route table holds one default route. Use a route table without one in routeTableIds/privateSubnets, or remove that route.`);
        }
      }
    }
    return errors;
  }

  private addNeonIpAllow(options: NeonIpAllowOptions): CustomResource {
    const projectId = options.projectId;
    if (!Token.isUnresolved(projectId) && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(projectId)) {
      throw new Error(`NatEgressForReplication: neonIpAllow.projectId '${projectId}' is not a Neon project id (e.g. crimson-sun-12345678): copy it from the project's Settings page.`);
    }
    const apiBaseUrl = options.apiBaseUrl ?? DEFAULT_NEON_API;
    if (!Token.isUnresolved(apiBaseUrl) && !/^https:\/\/[^/\s]+/.test(apiBaseUrl)) {
      throw new Error(`NatEgressForReplication: neonIpAllow.apiBaseUrl '${apiBaseUrl}' must be an https:// URL such as ${DEFAULT_NEON_API}: the API key is sent with every request.`);
    }

    const provider = MigrationProvider.of(this);
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

    return new CustomResource(this, 'NeonIpAllow', {
      serviceToken: provider.serviceToken,
      resourceType: ResourceTypes.NEON_IP_ALLOW,
      properties: {
        ProjectId: projectId,
        ApiKeySecretArn: completeSecretArn(this, secret, 'neonIpAllow.apiKeySecret'),
        ApiKeySecretField: options.apiKeySecretField,
        ApiBaseUrl: apiBaseUrl,
        Ips: this.egressIps,
        AddToEmptyList: options.addToEmptyList ? 'true' : 'false',
      },
    });
  }
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

/** An interface endpoint has one subnet per Availability Zone, and DMS wants the endpoint's subnets to be the replication subnets. */
function checkOneSubnetPerZone(subnets: ec2.ISubnet[]): void {
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
      throw new Error(`NatEgressForReplication: the replication subnets include ${inZone.length} subnets in ${zone} (${inZone.map(describeSubnet).join(', ')}): `
        + 'the Secrets Manager interface endpoint can use one subnet per Availability Zone, and DMS requires its subnets to be the replication subnets. '
        + 'Give one private subnet per Availability Zone, or pass an endpoint of your own with SecretsManagerAccess.fromEndpoint.');
    }
  }
}

/** Private DNS of an interface endpoint needs the VPC's DNS support and DNS host names (a VPC of this app can tell). */
function checkPrivateDns(vpc: ec2.IVpc): void {
  if (!(vpc instanceof ec2.Vpc)) {
    return;
  }
  const missing = [vpc.dnsSupportEnabled ? undefined : 'enableDnsSupport', vpc.dnsHostnamesEnabled ? undefined : 'enableDnsHostnames']
    .filter((x): x is string => x !== undefined);
  if (missing.length > 0) {
    throw new Error(`NatEgressForReplication: the VPC has ${missing.join(' and ')} off: the Secrets Manager endpoint's private DNS needs both on. `
      + 'Turn them on, or reach Secrets Manager another way with secretsManagerAccess: SecretsManagerAccess.viaPeer(...).');
  }
}

function checkPort(method: string, port: number): void {
  if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`NatEgressForReplication.${method}: port must be an integer from 1 to 65535 (got ${port}).`);
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

function routeTableIdOf(subnet: ec2.ISubnet): string | undefined {
  try {
    return subnet.routeTable?.routeTableId || undefined;
  } catch {
    // imported without a route table
    return undefined;
  }
}

function availabilityZoneOf(subnet: ec2.ISubnet): string | undefined {
  try {
    return subnet.availabilityZone || undefined;
  } catch {
    // imported without an Availability Zone
    return undefined;
  }
}

function describeSubnet(subnet: ec2.ISubnet): string {
  return Token.isUnresolved(subnet.subnetId) ? subnet.node.path : subnet.subnetId;
}

function display(value: string): string {
  return Token.isUnresolved(value) ? '(token)' : value;
}

/** The same string, or the same CloudFormation value once resolved in one stack. */
function sameValue(a: IConstruct, aValue: string, b: IConstruct, bValue: string): boolean {
  if (aValue === bValue) {
    return true;
  }
  const stack = Stack.of(a);
  if (stack !== Stack.of(b)) {
    return false;
  }
  return JSON.stringify(stack.resolve(aValue)) === JSON.stringify(stack.resolve(bValue));
}

