export * from './target-endpoint';
