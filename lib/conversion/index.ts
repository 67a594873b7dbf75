export { ActionItemSeverity } from './severity';
export * from './schema-conversion';
export * from './schema-conversion-props';
