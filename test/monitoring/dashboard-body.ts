import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** A widget of a CloudWatch dashboard body, as far as the tests and the layout renderer read it. */
export interface DashboardWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly view?: string;
    readonly metrics?: unknown[][];
    readonly alarms?: unknown[];
  };
}

export interface DashboardBody {
  readonly start?: string;
  readonly widgets: DashboardWidget[];
}

/**
 * The DashboardBody of the only dashboard in `stack`, parsed as JSON. Every CloudFormation
 * intrinsic inside the `Fn::Join` is replaced by `placeholder(intrinsic)` (default: a marker naming it).
 */
export function dashboardBody(stack: Stack, placeholder: (intrinsic: unknown) => string = describeIntrinsic): DashboardBody {
  const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
  const bodies = Object.values(dashboards).map((d) => d.Properties.DashboardBody);
  if (bodies.length !== 1) {
    throw new Error(`expected one dashboard, found ${bodies.length}`);
  }
  return JSON.parse(joinBody(bodies[0], placeholder));
}

function joinBody(body: unknown, placeholder: (intrinsic: unknown) => string): string {
  if (typeof body === 'string') {
    return body;
  }
  const join = (body as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) {
    throw new Error(`unexpected DashboardBody ${JSON.stringify(body)}`);
  }
  const [separator, parts] = join;
  return parts.map((part) => (typeof part === 'string' ? part : placeholder(part))).join(separator);
}

function describeIntrinsic(intrinsic: unknown): string {
  const ref = (intrinsic as { Ref?: string }).Ref;
  return ref ? `{{${ref}}}` : '{{token}}';
}
