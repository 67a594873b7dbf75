import { DeployedTemplate } from './deployed';

/**
 * Network reachability over a synthesized template, by the rules of Amazon VPC:
 *
 * - security groups are stateful and allow nothing they do not list: a flow needs an egress rule of
 *   one of the source's groups and an ingress rule of one of the destination's groups (by CIDR block
 *   containing the whole peer subnet, or by group membership); a group declared without egress
 *   rules gets EC2's default rule allowing all outbound traffic, which CloudFormation removes when it
 *   adds a separate `AWS::EC2::SecurityGroupEgress` rule to the group;
 * - inside a VPC every subnet reaches every other (the `local` route);
 * - leaving the VPC takes the route table of the source's subnet (longest prefix match; a subnet
 *   without an association uses the main route table, which has only the local route): a route to a
 *   public NAT gateway with an Elastic IP, in a subnet whose own route table sends the address to an
 *   internet gateway attached to the VPC; or a route to the internet gateway itself for an interface
 *   with a public address;
 * - an AWS service's regional host name resolves to the interfaces of an interface VPC endpoint of
 *   the same VPC when that endpoint has private DNS on and the VPC has DNS support and DNS host names
 *   on; otherwise to the service's public addresses, reached like any internet host;
 * - queries to the VPC's DNS resolver are not filtered by security groups.
 *
 * Network ACLs, peering and prefix lists are not modelled: a template using them makes the model
 * throw rather than guess. A route to a transit gateway leads nowhere, unless the model is told what
 * lies behind it (`transitGatewayEgress`: an egress VPC with NAT gateways or a firewall, as a network
 * account provides).
 */

export interface Subnet {
  readonly id: string;
  readonly vpcId: string;
  readonly cidr: string;
  readonly routeTableId?: string;
}

export interface Rule {
  /** `tcp`, `udp`, `icmp` or `-1` (all). */
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  /** CIDR block, or `sg:<group id>` of the peer group. */
  readonly peer: string;
  readonly description?: string;
  /** Logical id of the resource that declared the rule. */
  readonly declaredBy: string;
}

export interface SecurityGroup {
  readonly id: string;
  readonly logicalId: string;
  readonly vpcId: string;
  readonly ingress: Rule[];
  readonly egress: Rule[];
}

/** Something with network interfaces in the VPC: a replication instance, a function, a database, an endpoint. */
export interface Workload {
  readonly name: string;
  readonly logicalId: string;
  readonly vpcId: string;
  /** It may have its interface in any of these: every one must work. */
  readonly subnets: Subnet[];
  readonly securityGroups: string[];
  readonly publicIp: boolean;
  /** The port it listens on, for databases. */
  readonly port?: number;
}

interface InterfaceEndpoint {
  readonly id: string;
  readonly logicalId: string;
  readonly service: string;
  readonly vpcId: string;
  readonly subnets: string[];
  readonly securityGroups: string[];
  readonly privateDns: boolean;
}

export type Destination =
  | { readonly kind: 'internet'; readonly address: string; readonly port: number; readonly name: string }
  | { readonly kind: 'aws'; readonly service: string; readonly port: number }
  | { readonly kind: 'workload'; readonly workload: Workload; readonly port: number };

export interface Reachability {
  readonly reachable: boolean;
  /** How the flow goes (when reachable) or where it stops. */
  readonly path: string[];
}

/** EC2's egress rule of a group created without egress rules. */
const DEFAULT_EGRESS = 'EC2 default: all outbound';

/** Neon's computes, reached on the public internet (an address outside every private range). */
export const NEON = (port = 5432): Destination => ({ kind: 'internet', address: '3.18.12.40', port, name: `Neon (${port})` });
/** An AWS service's regional API, e.g. `secretsmanager`, `monitoring` (CloudWatch), `dms`. */
export const AWS_API = (service: string): Destination => ({ kind: 'aws', service, port: 443 });
/** A public address of an AWS service API, when its name resolves outside the VPC. */
const SERVICE_PUBLIC_ADDRESS = '52.46.128.10';

/** What the model is told about the world beyond the template. */
export interface NetworkModelOptions {
  /**
   * Transit gateways whose routes lead to the internet (an egress VPC behind them).
   * @default - none: a route to a transit gateway reaches nothing
   */
  readonly transitGatewayEgress?: string[];
}

export class NetworkModel {
  public static of(deployed: DeployedTemplate, options: NetworkModelOptions = {}): NetworkModel {
    return new NetworkModel(deployed, options);
  }

  public readonly vpcs = new Map<string, { cidr: string; dnsSupport: boolean; dnsHostnames: boolean }>();
  public readonly subnets = new Map<string, Subnet>();
  public readonly securityGroups = new Map<string, SecurityGroup>();
  private readonly routeTables = new Map<string, { vpcId: string; routes: { destination: string; target: string; via: string }[] }>();
  private readonly internetGateways = new Map<string, string>(); // igw → vpc
  private readonly natGateways = new Map<string, { subnetId: string; elasticIp: boolean; public: boolean }>();
  private readonly endpoints: InterfaceEndpoint[] = [];

  private constructor(public readonly deployed: DeployedTemplate, private readonly options: NetworkModelOptions = {}) {
    const d = deployed;
    for (const type of ['AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry', 'AWS::EC2::TransitGateway', 'AWS::EC2::VPCPeeringConnection']) {
      if (d.logicalIds(type).length > 0) {
        throw new Error(`the reachability model does not cover ${type}`);
      }
    }
    for (const id of d.logicalIds('AWS::EC2::VPC')) {
      const p = d.properties(id);
      this.vpcs.set(d.ref(id), { cidr: p.CidrBlock, dnsSupport: p.EnableDnsSupport !== false && p.EnableDnsSupport !== 'false', dnsHostnames: p.EnableDnsHostnames === true || p.EnableDnsHostnames === 'true' });
    }
    const associations = new Map<string, string>();
    for (const id of d.logicalIds('AWS::EC2::SubnetRouteTableAssociation')) {
      const p = d.properties(id);
      associations.set(p.SubnetId, p.RouteTableId);
    }
    for (const id of d.logicalIds('AWS::EC2::Subnet')) {
      const p = d.properties(id);
      const subnetId = d.ref(id);
      this.subnets.set(subnetId, { id: subnetId, vpcId: p.VpcId, cidr: p.CidrBlock, routeTableId: associations.get(subnetId) });
    }
    for (const id of d.logicalIds('AWS::EC2::RouteTable')) {
      this.routeTables.set(d.ref(id), { vpcId: d.properties(id).VpcId, routes: [] });
    }
    for (const id of d.logicalIds('AWS::EC2::Route')) {
      const p = d.properties(id);
      const target = p.NatGatewayId ?? p.GatewayId ?? p.TransitGatewayId ?? p.VpcPeeringConnectionId
        ?? p.NetworkInterfaceId ?? p.VpcEndpointId ?? p.InstanceId;
      if (p.DestinationCidrBlock === undefined) {
        continue; // IPv6 or prefix-list routes: not used by IPv4 flows
      }
      this.routeTables.get(p.RouteTableId)?.routes.push({ destination: p.DestinationCidrBlock, target: String(target), via: id });
    }
    for (const id of d.logicalIds('AWS::EC2::VPCGatewayAttachment')) {
      const p = d.properties(id);
      if (p.InternetGatewayId) {
        this.internetGateways.set(p.InternetGatewayId, p.VpcId);
      }
    }
    for (const id of d.logicalIds('AWS::EC2::NatGateway')) {
      const p = d.properties(id);
      this.natGateways.set(d.ref(id), { subnetId: p.SubnetId, elasticIp: p.AllocationId !== undefined, public: (p.ConnectivityType ?? 'public') === 'public' });
    }
    for (const id of d.logicalIds('AWS::EC2::SecurityGroup')) {
      const p = d.properties(id);
      const groupId = d.ref(id);
      const egress = p.SecurityGroupEgress === undefined
        ? [{ protocol: '-1', fromPort: 0, toPort: 65535, peer: '0.0.0.0/0', description: DEFAULT_EGRESS, declaredBy: id }]
        : (p.SecurityGroupEgress as any[]).map(r => rule(r, 'DestinationSecurityGroupId', id));
      const ingress = ((p.SecurityGroupIngress ?? []) as any[]).map(r => rule(r, 'SourceSecurityGroupId', id));
      this.securityGroups.set(groupId, { id: groupId, logicalId: id, vpcId: p.VpcId, ingress, egress });
    }
    for (const id of d.logicalIds('AWS::EC2::SecurityGroupIngress')) {
      const p = d.properties(id);
      this.group(p.GroupId, id).ingress.push(rule(p, 'SourceSecurityGroupId', id));
    }
    for (const id of d.logicalIds('AWS::EC2::SecurityGroupEgress')) {
      const p = d.properties(id);
      // CloudFormation removes EC2's default allow-all egress rule when it adds a separate egress rule
      // to the group (aws-cloudformation/cfn-language-discussion#157; aws-cdk relies on it)
      const group = this.group(p.GroupId, id);
      const defaults = group.egress.filter(r => r.description === DEFAULT_EGRESS);
      defaults.forEach(r => group.egress.splice(group.egress.indexOf(r), 1));
      group.egress.push(rule(p, 'DestinationSecurityGroupId', id));
    }
    for (const id of d.logicalIds('AWS::EC2::VPCEndpoint')) {
      const p = d.properties(id);
      if ((p.VpcEndpointType ?? 'Gateway') !== 'Interface') {
        continue;
      }
      this.endpoints.push({
        id: d.ref(id),
        logicalId: id,
        service: p.ServiceName,
        vpcId: p.VpcId,
        subnets: p.SubnetIds ?? [],
        securityGroups: p.SecurityGroupIds ?? [],
        privateDns: p.PrivateDnsEnabled === true || p.PrivateDnsEnabled === 'true',
      });
    }
  }

  /** Every workload of the template: replication instances and configurations, functions and builds in a VPC, databases. */
  public workloads(): Workload[] {
    const d = this.deployed;
    const result: Workload[] = [];
    for (const id of d.logicalIds('AWS::DMS::ReplicationInstance')) result.push(this.replicationInstance(id));
    for (const id of d.logicalIds('AWS::DMS::ReplicationConfig')) result.push(this.replicationConfig(id));
    for (const id of d.logicalIds('AWS::Lambda::Function')) {
      if (d.resource(id).Properties?.VpcConfig) result.push(this.lambdaFunction(id));
    }
    for (const id of d.logicalIds('AWS::CodeBuild::Project')) {
      if (d.resource(id).Properties?.VpcConfig) result.push(this.buildProject(id));
    }
    for (const id of d.logicalIds('AWS::RDS::DBInstance')) result.push(this.database(id));
    for (const id of d.logicalIds('AWS::EC2::Instance')) result.push(this.instance(id));
    return result;
  }

  /** An EC2 instance: its subnet and groups (a public address only where the subnet maps one on launch). */
  public instance(logicalId: string): Workload {
    const p = this.deployed.properties(logicalId);
    if (p.NetworkInterfaces) throw new Error(`instance ${logicalId}: network interfaces are not modelled`);
    const raw = this.deployed.resource(logicalId).Properties!;
    const subnet = this.deployed.referencedLogicalId(raw.SubnetId);
    const publicIp = subnet !== undefined && [true, 'true'].includes(this.deployed.properties(subnet).MapPublicIpOnLaunch);
    return this.workload(`instance ${logicalId}`, logicalId, [p.SubnetId], p.SecurityGroupIds ?? [], publicIp);
  }

  /** A CodeBuild project in a VPC: its builds run in the subnets with the security groups of its VpcConfig. */
  public buildProject(logicalId: string): Workload {
    const p = this.deployed.properties(logicalId).VpcConfig;
    return this.workload(`build project ${logicalId}`, logicalId, p.Subnets, p.SecurityGroupIds, false);
  }

  public replicationInstance(logicalId: string): Workload {
    const d = this.deployed;
    const raw = d.resource(logicalId).Properties!;
    const p = d.properties(logicalId);
    return this.workload(`replication instance ${logicalId}`, logicalId, this.subnetGroupSubnets(raw.ReplicationSubnetGroupIdentifier),
      p.VpcSecurityGroupIds ?? [], p.PubliclyAccessible !== false && p.PubliclyAccessible !== 'false');
  }

  public replicationConfig(logicalId: string): Workload {
    const d = this.deployed;
    const raw = d.resource(logicalId).Properties!.ComputeConfig;
    const p = d.properties(logicalId).ComputeConfig;
    return this.workload(`serverless replication ${logicalId}`, logicalId, this.subnetGroupSubnets(raw.ReplicationSubnetGroupId), p.VpcSecurityGroupIds ?? [], false);
  }

  public lambdaFunction(logicalId: string): Workload {
    const p = this.deployed.properties(logicalId).VpcConfig;
    return this.workload(`function ${logicalId}`, logicalId, p.SubnetIds, p.SecurityGroupIds, false);
  }

  public database(logicalId: string): Workload {
    const d = this.deployed;
    const raw = d.resource(logicalId).Properties!;
    const p = d.properties(logicalId);
    const group = d.referencedLogicalId(raw.DBSubnetGroupName);
    if (!group) throw new Error(`database ${logicalId}: DB subnet group not in the template`);
    const w = this.workload(`database ${logicalId}`, logicalId, d.properties(group).SubnetIds, p.VPCSecurityGroups ?? [], p.PubliclyAccessible === true);
    return { ...w, port: Number(p.Port ?? 5432) };
  }

  /** The interface endpoint serving `service` in `vpcId` (any private DNS setting). */
  public interfaceEndpoint(service: string, vpcId: string) {
    return this.endpoints.find(e => e.vpcId === vpcId && e.service === this.serviceName(service));
  }

  /** Whether `from` can open a connection to `to`, and how. */
  public reach(from: Workload, to: Destination): Reachability {
    const paths: string[] = [];
    for (const subnet of from.subnets) {
      const result = this.reachFromSubnet(from, subnet, to);
      if (!result.reachable) {
        return { reachable: false, path: [`from ${subnet.id}`, ...result.path] };
      }
      paths.push(...result.path);
    }
    return { reachable: true, path: [...new Set(paths)] };
  }

  /** The rules of a group, normalized for comparisons: `tcp 5432 → 0.0.0.0/0`, `tcp 443 → sg:<logical id>`. */
  public describeRules(groupId: string, direction: 'ingress' | 'egress'): string[] {
    const group = this.securityGroups.get(groupId);
    if (!group) throw new Error(`no security group ${groupId}`);
    return group[direction]
      .filter(r => !(r.protocol === 'icmp' && r.peer === '255.255.255.255/32')) // CDK's "no egress" placeholder
      .map(r => `${r.protocol} ${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`} ${direction === 'egress' ? '→' : '←'} ${this.describePeer(r.peer)}`)
      .sort();
  }

  /** The logical id of a group, for readable rule descriptions. */
  public describePeer(peer: string): string {
    if (!peer.startsWith('sg:')) return peer;
    const group = this.securityGroups.get(peer.slice(3));
    return group ? `sg:${group.logicalId}` : peer;
  }

  private reachFromSubnet(from: Workload, subnet: Subnet, to: Destination): Reachability {
    if (to.kind === 'workload') {
      return this.reachInside(from, subnet, to.workload, to.port, to.workload.name);
    }
    if (to.kind === 'aws') {
      const endpoint = this.privateDnsEndpoint(to.service, from.vpcId);
      if (endpoint) {
        const target: Workload = {
          name: `${to.service} interface endpoint ${endpoint.logicalId}`,
          logicalId: endpoint.logicalId,
          vpcId: endpoint.vpcId,
          subnets: endpoint.subnets.map(s => this.subnet(s)),
          securityGroups: endpoint.securityGroups,
          publicIp: false,
        };
        const result = this.reachInside(from, subnet, target, to.port, target.name);
        return { reachable: result.reachable, path: [`${this.serviceHost(to.service)} resolves to ${endpoint.logicalId} (private DNS)`, ...result.path] };
      }
      const result = this.reachInternet(from, subnet, SERVICE_PUBLIC_ADDRESS, to.port);
      return { reachable: result.reachable, path: [`${this.serviceHost(to.service)} resolves to its public addresses (no interface endpoint with private DNS in the VPC)`, ...result.path] };
    }
    return this.reachInternet(from, subnet, to.address, to.port);
  }

  private reachInside(from: Workload, subnet: Subnet, target: Workload, port: number, name: string): Reachability {
    if (target.vpcId !== from.vpcId) {
      return { reachable: false, path: [`${name} is in another VPC (${target.vpcId})`] };
    }
    const path: string[] = [];
    for (const targetSubnet of target.subnets) {
      const out = this.allowing(from.securityGroups, 'egress', port, targetSubnet.cidr, target.securityGroups);
      if (!out) {
        return { reachable: false, path: [`no egress rule of ${this.groupsOf(from)} allows tcp ${port} to ${name} (${targetSubnet.cidr})`] };
      }
      const into = this.allowing(target.securityGroups, 'ingress', port, subnet.cidr, from.securityGroups);
      if (!into) {
        return { reachable: false, path: [`no ingress rule of ${this.groupsOf(target)} allows tcp ${port} from ${from.name} (${subnet.cidr})`] };
      }
      path.push(`egress ${out.declaredBy}`, `local route to ${targetSubnet.id}`, `ingress ${into.declaredBy}`);
    }
    return { reachable: true, path: [...new Set(path)] };
  }

  private reachInternet(from: Workload, subnet: Subnet, address: string, port: number): Reachability {
    const out = this.allowing(from.securityGroups, 'egress', port, `${address}/32`, []);
    if (!out) {
      return { reachable: false, path: [`no egress rule of ${this.groupsOf(from)} allows tcp ${port} to ${address}`] };
    }
    const route = this.route(subnet, address);
    if (!route) {
      return { reachable: false, path: [`egress ${out.declaredBy}`, `the route table of ${subnet.id} has no route to ${address}`] };
    }
    if (route.target.startsWith('igw-')) {
      if (!from.publicIp) {
        return { reachable: false, path: [`${route.via} sends ${address} to an internet gateway, but ${from.name} has no public address`] };
      }
      return this.internetGatewayAttached(route.target, subnet.vpcId)
        ? { reachable: true, path: [`egress ${out.declaredBy}`, `${route.via} → internet gateway`] }
        : { reachable: false, path: [`internet gateway ${route.target} is not attached to ${subnet.vpcId}`] };
    }
    if (route.target.startsWith('tgw-')) {
      return (this.options.transitGatewayEgress ?? []).includes(route.target)
        ? { reachable: true, path: [`egress ${out.declaredBy}`, `${route.via} → transit gateway ${route.target} (its egress VPC)`] }
        : { reachable: false, path: [`${route.via} sends ${address} to transit gateway ${route.target}, beyond which nothing is modelled`] };
    }
    const nat = this.natGateways.get(route.target);
    if (!nat) {
      return { reachable: false, path: [`${route.via} sends ${address} to ${route.target}, which is not modelled`] };
    }
    if (!nat.public || !nat.elasticIp) {
      return { reachable: false, path: [`NAT gateway ${route.target} is private or has no Elastic IP`] };
    }
    const natSubnet = this.subnet(nat.subnetId);
    const natRoute = this.route(natSubnet, address);
    if (!natRoute || !natRoute.target.startsWith('igw-') || !this.internetGatewayAttached(natRoute.target, natSubnet.vpcId)) {
      return { reachable: false, path: [`NAT gateway ${route.target} is in ${natSubnet.id}, whose route table does not send ${address} to an attached internet gateway`] };
    }
    return { reachable: true, path: [`egress ${out.declaredBy}`, `${route.via} → NAT gateway`, `${natRoute.via} → internet gateway`] };
  }

  private internetGatewayAttached(igw: string, vpcId: string): boolean {
    return this.internetGateways.get(igw) === vpcId;
  }

  /** Longest-prefix match in the subnet's route table (the local route covers the VPC's block). */
  private route(subnet: Subnet, address: string) {
    const vpc = this.vpcs.get(subnet.vpcId);
    if (vpc && cidrContains(vpc.cidr, `${address}/32`)) {
      return { destination: vpc.cidr, target: 'local', via: 'local route' };
    }
    const table = subnet.routeTableId ? this.routeTables.get(subnet.routeTableId) : undefined;
    const candidates = (table?.routes ?? []).filter(r => cidrContains(r.destination, `${address}/32`));
    candidates.sort((a, b) => prefix(b.destination) - prefix(a.destination));
    return candidates[0];
  }

  /** A rule of `groups` in `direction` allowing tcp `port` for a peer in `peerCidr` or one of `peerGroups`. */
  private allowing(groups: string[], direction: 'ingress' | 'egress', port: number, peerCidr: string, peerGroups: string[]): Rule | undefined {
    for (const groupId of groups) {
      const group = this.securityGroups.get(groupId);
      if (!group) {
        throw new Error(`security group ${groupId} is not in the template: the model cannot judge it`);
      }
      const match = group[direction].find(r => protocolAllows(r, port)
        && (r.peer.startsWith('sg:') ? peerGroups.includes(r.peer.slice(3)) : cidrContains(r.peer, peerCidr)));
      if (match) return match;
    }
    return undefined;
  }

  private privateDnsEndpoint(service: string, vpcId: string) {
    const vpc = this.vpcs.get(vpcId);
    const endpoint = this.endpoints.find(e => e.vpcId === vpcId && e.service === this.serviceName(service) && e.privateDns);
    return endpoint && vpc?.dnsSupport && vpc.dnsHostnames ? endpoint : undefined;
  }

  private serviceName(service: string): string {
    return `com.amazonaws.${this.deployed.env.region}.${service}`;
  }

  private serviceHost(service: string): string {
    return `${service}.${this.deployed.env.region}.amazonaws.com`;
  }

  private subnetGroupSubnets(reference: unknown): string[] {
    const d = this.deployed;
    const group = d.referencedLogicalId(reference);
    if (!group) throw new Error('replication subnet group not in the template');
    return d.properties(group).SubnetIds;
  }

  private workload(name: string, logicalId: string, subnetIds: string[], securityGroups: string[], publicIp: boolean): Workload {
    const subnets = subnetIds.map(id => this.subnet(id));
    const vpcIds = new Set(subnets.map(s => s.vpcId));
    if (vpcIds.size !== 1) throw new Error(`${name}: its subnets are in ${vpcIds.size} VPCs`);
    return { name, logicalId, vpcId: subnets[0].vpcId, subnets, securityGroups, publicIp };
  }

  private subnet(id: string): Subnet {
    const subnet = this.subnets.get(id);
    if (!subnet) throw new Error(`subnet ${id} is not in the template: the model cannot judge it`);
    return subnet;
  }

  private group(groupId: string, declaredBy: string): SecurityGroup {
    const group = this.securityGroups.get(groupId);
    if (!group) throw new Error(`${declaredBy} adds a rule to ${groupId}, which is not in the template`);
    return group;
  }

  private groupsOf(w: Workload): string {
    return w.securityGroups.map(g => this.describePeer(`sg:${g}`)).join(', ') || '(no security group)';
  }
}

function rule(r: any, peerGroupKey: string, declaredBy: string): Rule {
  if (r.SourcePrefixListId || r.DestinationPrefixListId) {
    throw new Error(`${declaredBy}: prefix-list rules are not modelled`);
  }
  const protocol = String(r.IpProtocol) === '6' ? 'tcp' : String(r.IpProtocol) === '-1' ? '-1' : String(r.IpProtocol);
  const all = protocol === '-1';
  const peer = r[peerGroupKey] ? `sg:${r[peerGroupKey]}` : r.CidrIp ?? r.CidrIpv6 ?? '(none)';
  return {
    protocol,
    fromPort: all ? 0 : Number(r.FromPort),
    toPort: all ? 65535 : Number(r.ToPort),
    peer,
    description: r.Description,
    declaredBy,
  };
}

function protocolAllows(r: Rule, port: number): boolean {
  return (r.protocol === '-1' || r.protocol === 'tcp') && r.fromPort <= port && port <= r.toPort;
}

function toNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function prefix(cidr: string): number {
  return Number(cidr.split('/')[1] ?? 32);
}

/** Whether block `outer` contains every address of block `inner` (IPv4 only). */
export function cidrContains(outer: string, inner: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(outer) || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(inner)) {
    return false;
  }
  const [oAddr, oPrefix] = [outer.split('/')[0], prefix(outer)];
  const [iAddr, iPrefix] = [inner.split('/')[0], prefix(inner)];
  if (iPrefix < oPrefix) return false;
  const size = 2 ** (32 - oPrefix);
  const start = Math.floor(toNumber(oAddr) / size) * size;
  const first = toNumber(iAddr);
  const last = first + 2 ** (32 - iPrefix) - 1;
  return first >= start && last < start + size;
}
