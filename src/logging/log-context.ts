import { AsyncLocalStorage } from 'node:async_hooks';

/** Correlation fields that ride along with async work so every log line carries them. */
export interface LogFields {
  callConnectionId?: string;
  sessionId?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with these correlation fields (merged over the current ones) on every log line below it. */
export function runWithLogFields<T>(fields: LogFields, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** Adds fields to the current scope (e.g. the session id becomes known mid-request). */
export function setLogFields(fields: LogFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

export function currentLogFields(): LogFields | undefined {
  return storage.getStore();
}
