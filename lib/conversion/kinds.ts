/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Runs DMS Schema Conversion for a MySQL, Oracle or SQL Server source: assess and convert, then apply the converted schema to Neon. */
export const SCHEMA_CONVERSION_TYPE = 'Custom::DmsSchemaConversion';
