/* The custom-resource types the checks' function serves (lib/checks creates them; lib/fidelity/fidelity.lambda.ts handles them). */

/** The preflight of a migration task, before it starts. */
export const PREFLIGHT_TYPE = 'Custom::NeonMigrationPreflight';

/** The verification of what a migration task moved. */
export const VERIFICATION_TYPE = 'Custom::NeonMigrationVerification';

/** Starts a distributed verification (its Step Functions state machine), whose report signals a wait condition or the alarms. */
export const DISTRIBUTED_VERIFICATION_TYPE = 'Custom::NeonDistributedVerification';
