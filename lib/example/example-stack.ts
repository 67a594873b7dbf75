import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * The bundled example: the scenario of Neon's "Migrate with AWS DMS" guide.
 */
export class NeonMigrationExampleStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
  }
}
