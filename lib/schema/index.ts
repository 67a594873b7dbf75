export * from './schema-copy';
