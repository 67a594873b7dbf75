/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Adds the network's egress addresses to a Neon project's IP Allow list. */
export const NEON_IP_ALLOW_TYPE = 'Custom::NeonIpAllow';
