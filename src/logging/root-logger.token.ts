/** DI token of the process's root pino logger (modules take `.child({ module })` of it). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
