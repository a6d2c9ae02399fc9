export * from './speech-to-text.port';
export * from './text-to-speech.port';
export * from './voice-activity-detector.port';
