import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IConstruct } from 'constructs';
import { EndpointType, IDmsEndpoint } from './interfaces';

/**
 * Opens the databases of the source `endpoints` that know their network side
 * (`databaseConnections`) to `compute` on the endpoint's port, and makes `dependent` (what tests or
 * starts the migration) wait for the rules. Warns on `warnOn` for a source whose database it cannot
 * open: the connection would time out at deploy time with nothing at synth saying why.
 *
 * @internal
 */
export function openSourceDatabases(endpoints: IDmsEndpoint[], compute: ec2.IConnectable, dependent: IConstruct, warnOn: IConstruct): void {
  const stack = Stack.of(dependent);
  for (const endpoint of endpoints) {
    if (endpoint.endpointType !== EndpointType.SOURCE) {
      continue;
    }
    const database = endpoint.databaseConnections;
    if (!database) {
      const name = Token.isUnresolved(endpoint.endpointIdentifier) ? endpoint.node.path : endpoint.endpointIdentifier;
      Annotations.of(warnOn).addWarningV2('cdk-neon-migration:sourceDatabaseNotOpened',
        `The source endpoint '${name}' does not know its database's security groups, so the replication compute cannot be let in `
        + `on port ${endpoint.port} from here: the connection test would time out. Create the endpoint with fromRdsInstance/fromRdsCluster, `
        + 'or pass databaseConnections (the database or its security group); or open the port to the replication security group '
        + 'yourself and acknowledge this warning.');
      continue;
    }
    // opened from the compute's side: when the database is in another stack (the application's), its
    // ingress rule is created in this stack, next to the compute's group, so the application's stack
    // neither refers to this one nor keeps the rule after this stack is destroyed
    compute.connections.allowTo(database, ec2.Port.tcp(endpoint.port), `DMS source endpoint ${endpoint.node.path}`);
    // the ingress rule is a child of the database's group (of the compute's group when the database is
    // in another stack), the egress rule one of the compute's
    for (const group of [...database.connections.securityGroups, ...compute.connections.securityGroups]) {
      if (Stack.of(group) === stack) {
        dependent.node.addDependency(group);
      }
    }
  }
}
