import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { SAMPLE_TABLES, sampleSchemaSql } from './sample-schema';

/**
 * Custom resource of the bundled example: creates and fills the sample schema in the source
 * database. Runs in the VPC, next to the database. Credentials come from the database's secret.
 */
interface LoaderEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: {
    readonly SecretArn: string;
    readonly DatabaseName: string;
    readonly SchemaName: string;
    readonly People: string;
    readonly Events: string;
    readonly Tickets: string;
  };
}

interface DatabaseSecret {
  readonly host: string;
  readonly port?: number;
  readonly username: string;
  readonly password: string;
}

let secrets: SecretsManagerClient | undefined;

export async function handler(event: LoaderEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const props = event.ResourceProperties;
  const physicalId = `${props.DatabaseName}/${props.SchemaName}`;
  console.log(JSON.stringify({ requestType: event.RequestType, database: props.DatabaseName, schema: props.SchemaName }));
  if (event.RequestType === 'Delete') {
    // the sample data lives and dies with the source database
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  }

  secrets ??= new SecretsManagerClient({});
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: props.SecretArn }));
  const credentials = JSON.parse(secret.SecretString ?? '{}') as DatabaseSecret;

  const client = new Client({
    host: credentials.host,
    port: credentials.port ?? 5432,
    user: credentials.username,
    password: credentials.password,
    database: props.DatabaseName,
    // the source enforces TLS (rds.force_ssl); the RDS CA bundle is not part of the Lambda runtime
    ssl: { rejectUnauthorized: false },
    connectionTimeoutMillis: 20_000,
  });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const statement of sampleSchemaSql({
      schemaName: props.SchemaName,
      people: Number(props.People),
      events: Number(props.Events),
      tickets: Number(props.Tickets),
    })) {
      if (statement === 'ANALYZE') {
        continue;
      }
      await client.query(statement);
    }
    await client.query('COMMIT');
    const data: Record<string, string> = {};
    for (const table of SAMPLE_TABLES) {
      const result = await client.query(`SELECT count(*)::text AS n FROM ${props.SchemaName}.${table}`);
      data[table] = result.rows[0].n;
    }
    console.log(JSON.stringify({ loaded: data }));
    return { PhysicalResourceId: physicalId, Data: data };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
