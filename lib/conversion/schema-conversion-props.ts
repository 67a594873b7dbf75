import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ActionItemSeverity } from './severity';
import { IDmsEndpoint, IReplicationNetwork } from '../core/interfaces';
import { NeonPasswordForm } from '../neon/credential-forms';
import type { NeonTargetEndpoint } from '../neon/target-endpoint';
import type { TableMappings } from '../task/table-mappings';
import { TaskSettings } from '../task/task-settings';

/**
 * An action item of the assessment report that the deployment accepts: the object is converted by
 * hand, or the difference does not matter to the application.
 */
export interface ActionItemAcknowledgement {
  /** The action item's number, as the report's "Action item" column shows it (e.g. `9997`). */
  readonly actionItem: number;

  /** Why it does not block the migration (at least 10 characters; kept with the code, not sent anywhere). */
  readonly reason: string;

  /**
   * Only the occurrences whose object path (the report's "Occurrence" column) starts with this.
   *
   * @default - every occurrence of the action item
   */
  readonly occurrence?: string;
}

/**
 * How DMS Schema Conversion converts a source's schema into Neon before the data migration.
 */
export interface SchemaConversionOptions {
  /**
   * The network DMS Schema Conversion connects from (its instance profile uses the replication
   * subnets and security group, which reach the source, Neon through the NAT gateway, and Secrets
   * Manager through its endpoint).
   *
   * @default - the migration task's `network`
   */
  readonly network?: IReplicationNetwork;

  /**
   * The least serious action item of the assessment report that fails the deployment, unless
   * `acknowledgedActionItems` covers it. Nothing is applied to Neon when it fails.
   *
   * @default ActionItemSeverity.HIGH
   */
  readonly failOn?: ActionItemSeverity;

  /**
   * Action items the deployment accepts although they are at or above `failOn`.
   *
   * @default - none
   */
  readonly acknowledgedActionItems?: ActionItemAcknowledgement[];

  /**
   * How long each step may take: the assessment with the conversion, and the export to Neon. From 5 to
   * 55 minutes: the deployment waits for each in a custom resource, which must answer within an hour.
   *
   * @default Duration.minutes(55)
   */
  readonly timeout?: Duration;

  /**
   * Changing it runs the conversion and the export to Neon again on the next deployment. The export
   * overwrites objects of the same name in Neon, tables included: reload the task's data afterwards.
   *
   * @default - the conversion runs when the construct is created, and again when what it converts changes
   */
  readonly refresh?: string;

  /**
   * How long the assessment reports and the project's other files stay in its bucket.
   *
   * @default Duration.days(90)
   */
  readonly reportRetention?: Duration;

  /**
   * A bucket receiving the server access logs of the project's bucket.
   *
   * @default - no server access logs: DMS alone writes the bucket, through the project's role
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * The source database's host, as DMS Schema Conversion connects to it.
   *
   * @default - the `host` field of the source endpoint's secret (a CloudFormation dynamic reference:
   * the value never enters the template)
   */
  readonly sourceServerName?: string;

  /**
   * Overwrite the extension pack (the `aws_<engine>_ext` schema emulating source functions) when Neon
   * has one already.
   *
   * @default true
   */
  readonly overwriteExtensionPack?: boolean;

  /**
   * What happens to the project's bucket when the construct is deleted. `RemovalPolicy.DESTROY`
   * empties the bucket (every object version and delete marker, with an aws-cdk-lib custom
   * resource) and deletes it.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly bucketRemovalPolicy?: RemovalPolicy;

  /**
   * The form of the Neon password the Neon data provider reads. Neon takes the plain password from a
   * client that names the endpoint in TLS SNI, and `endpoint=<endpoint_id>$<password>` only from one
   * that does not. AWS does not document which DMS Schema Conversion's connection is; a JDBC client
   * sends SNI. When the conversion fails with Neon's "Endpoint ID is not specified", set
   * `NeonPasswordForm.ENDPOINT_IN_PASSWORD` (the data provider then reads the DMS endpoint's secret).
   *
   * @default NeonPasswordForm.PLAIN - the target's `clientCredentialsSecret`
   */
  readonly neonPasswordForm?: NeonPasswordForm;

  /**
   * SQL Server sources: add a `renameSchema` rule to the task's table mappings for each selected
   * schema that no transformation rule names, so that DMS loads its tables into the schema DMS
   * Schema Conversion creates for it, `<database>_<schema>` in lower case (the conversion setting
   * "Schema names": DB_SCHEMA). With `false` the mappings stay as they are; the `apply` step still
   * checks at deploy time that the converted schemas are the ones the task writes to.
   *
   * @default true
   */
  readonly renameSqlServerSchemas?: boolean;
}

/**
 * Properties of a `DmsSchemaConversion`.
 */
export interface DmsSchemaConversionProps extends SchemaConversionOptions {
  /**
   * The source endpoint: a `MySqlSourceEndpoint`, `OracleSourceEndpoint` or `SqlServerSourceEndpoint`
   * created by this library (it knows its secret, SSL mode and database).
   */
  readonly source: IDmsEndpoint;

  /** The Neon endpoint: its credentials secret and host are the target data provider's. */
  readonly target: NeonTargetEndpoint;

  /** The table mappings of the task: the objects its selection rules select are converted. */
  readonly tableMappings: TableMappings;

  /**
   * The settings of the task that loads the data: its target table preparation mode must keep the
   * converted tables (`DO_NOTHING` or `TRUNCATE_BEFORE_LOAD`).
   *
   * @default - not checked
   */
  readonly taskSettings?: TaskSettings;

  /**
   * Create the account-level role `dms-vpc-role` when it is missing (the replication subnet group of
   * the instance profile needs it).
   *
   * @default true
   */
  readonly manageAccountRoles?: boolean;
}
