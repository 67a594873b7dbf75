/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Runs steps of the PostgreSQL schema copy as a CodeBuild build, and waits for it. */
export const SCHEMA_COPY_TYPE = 'Custom::NeonSchemaCopy';
