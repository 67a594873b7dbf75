import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';

/**
 * What the CloudFormation resource specification (@aws-cdk/aws-service-spec) says about replacing a
 * resource type: the properties whose change makes CloudFormation create a new physical resource
 * (and delete the old one after it), with their spec type.
 */
export interface ReplacementProperty {
  readonly name: string;
  readonly type: string;
}

interface SpecResource {
  readonly properties: Record<string, { readonly causesReplacement?: 'yes' | 'no' | 'maybe'; readonly type: { readonly type: string } }>;
}

let db: ReturnType<typeof loadAwsServiceSpecSync> | undefined;

function resource(cloudFormationType: string): SpecResource {
  db ??= loadAwsServiceSpecSync();
  const found = db.lookup('resource', 'cloudFormationType', 'equals', cloudFormationType);
  if (found.length === 0) {
    throw new Error(`the resource specification has no ${cloudFormationType}`);
  }
  return found[0] as unknown as SpecResource;
}

/** The properties of `cloudFormationType` whose change replaces the resource. */
export function replacementProperties(cloudFormationType: string): ReplacementProperty[] {
  return Object.entries(resource(cloudFormationType).properties)
    .filter(([, p]) => p.causesReplacement === 'yes')
    .map(([name, p]) => ({ name, type: p.type.type }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether changing `property` of `cloudFormationType` replaces the resource. */
export function causesReplacement(cloudFormationType: string, property: string): boolean {
  const p = resource(cloudFormationType).properties[property];
  if (!p) {
    throw new Error(`${cloudFormationType} has no property ${property}`);
  }
  return p.causesReplacement === 'yes';
}
