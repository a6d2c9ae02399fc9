export * from './app-config';
export * from './env.schema';
export * from './load-config';
export * from './mask';
export * from './setting.decorator';
export * from './config.module';
