export * from './chat-model.port';
