export * from './nat-egress';
export * from './secrets-manager-access';
