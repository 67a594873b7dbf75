export * from './nat-egress';
