export { NeonPasswordForm } from './credential-forms';
export * from './target-endpoint';
