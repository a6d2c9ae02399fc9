export * from './call-automation.port';
