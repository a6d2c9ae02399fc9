import type { VoiceSpec } from '../../speech/ports';

/** What the cascade itself says (not the agent's model): cached as audio so they play even when TTS fails. */
export const PHRASES = {
  apology: "Sorry, I didn't catch that because of a problem on my side. Could you say it again?",
  reprompt: 'Are you still there? I am listening.',
  silenceGoodbye: "I haven't heard anything for a while, so I'll end the call now. Goodbye.",
  failureTransfer: "I'm sorry, I'm having technical trouble. Let me transfer you to a colleague.",
  failureGoodbye: "I'm sorry, I'm having technical trouble right now. Please call again later. Goodbye.",
  transferFailed: "I'm sorry, I couldn't transfer you right now. Is there anything else I can help with?",
} as const;

/**
 * Synthesized audio of fixed texts (greetings and the phrases above) per (text, voice, rate), so a
 * call's first words go out the moment AudioMetadata arrives, and apologies play when TTS is down.
 */
export class PhraseCache {
  private readonly cache = new Map<string, Buffer>();
  constructor(private readonly maxEntries = 128) {}

  key(text: string, voice: VoiceSpec, sampleRate: number): string {
    return `${voice.name}|${voice.style ?? ''}|${voice.rate ?? 1}|${sampleRate}|${text}`;
  }

  get(key: string): Buffer | undefined {
    return this.cache.get(key);
  }

  set(key: string, pcm: Buffer): void {
    if (pcm.length === 0) return;
    if (!this.cache.has(key) && this.cache.size >= this.maxEntries)
      this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, pcm);
  }

  get size(): number {
    return this.cache.size;
  }
}
