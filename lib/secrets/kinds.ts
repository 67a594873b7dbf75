/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Finds the complete ARNs of the secrets of a stack known by name. */
export const SECRET_ARNS_TYPE = 'Custom::NeonDmsSecretArns';
