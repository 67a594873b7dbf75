/* The ARN of a DMS replication task: read without the AWS SDK (the command line checks it before loading the SDK). */

/** The parts of a DMS replication task's ARN: `arn:<partition>:dms:<region>:<account>:task:<resource id>`. */
export interface TaskArnParts {
  readonly region: string;
  /** The last part: the value of the `ReplicationTaskIdentifier` metric dimension. */
  readonly resourceId: string;
}

/** Splits a task ARN, or throws naming what a task ARN looks like. */
export function parseTaskArn(arn: string): TaskArnParts {
  const match = /^arn:aws[a-z-]*:dms:([a-z0-9-]+):\d{12}:task:([A-Za-z0-9-]+)$/.exec(arn.trim());
  if (!match) {
    throw new Error(`"${arn}" is not the ARN of a DMS replication task (arn:aws:dms:<region>:<account>:task:<resource id>; `
      + 'DMS Serverless replications are not supported: their latency metrics are not documented)');
  }
  return { region: match[1], resourceId: match[2] };
}
