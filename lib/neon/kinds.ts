/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Parses a Neon connection string held in a secret and writes the DMS credentials secret. */
export const NEON_CREDENTIALS_TYPE = 'Custom::NeonDmsCredentials';
