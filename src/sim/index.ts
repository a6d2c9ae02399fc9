export * from './acs-media-protocol';
export * from './energy';
export * from './frame-pacer';
export * from './report';
export * from './session-api';
export * from './simulated-caller';
