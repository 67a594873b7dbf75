import { distributedVerificationDenials } from '../checks/distributed-requests';
import type { DeployEnvironment, TemplateJson } from '../helpers/deployed';

/**
 * What the compatibility task (projenrc/cdk-compat.ts) checks of each variant it synthesizes with
 * another aws-cdk-lib, besides that it synthesizes: the IAM simulation of every request of a
 * distributed verification (test/checks/distributed-requests.ts), since the permissions of a
 * Distributed Map are partly aws-cdk-lib's grants and those changed between releases. Returns the
 * problems found, none when the template passes.
 */
export async function compatChecks(template: TemplateJson, env: Partial<DeployEnvironment>): Promise<string[]> {
  const distributed = Object.values(template.Resources).some((r) => r.Type === 'Custom::NeonDistributedVerification');
  if (!distributed) return [];
  return (await distributedVerificationDenials(template, env)).map((denial) => `the IAM simulation denies ${denial}`);
}
