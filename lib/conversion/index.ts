export { ActionItemSeverity } from './severity';
export * from './schema-conversion';
