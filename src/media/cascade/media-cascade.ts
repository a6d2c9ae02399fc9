import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import { int16View } from '../../audio/pcm';
import type { AppConfig } from '../../config';
import type { ConversationState, Orchestrator } from '../../llm/orchestrator';
import type { LoadedScenario } from '../../llm/agents/agent-loader';
import type { AgentSpec } from '../../llm/agents/agent.types';
import type { SessionWriteQueue } from '../../session/session-write-queue';
import type { TurnMetrics } from '../../session/session.types';
import type {
  SpeechToText,
  SttEvent,
  SttSession,
  TextToSpeech,
  VadStream,
  VoiceActivityDetector,
  VoiceSpec,
} from '../../speech/ports';
import { recordSpanError, startSpan } from '../../telemetry/spans';
import { encodeAudioData, STOP_AUDIO, type InboundFrame } from '../codec/acs-media-codec';
import type { MediaCallHandler, MediaConnection } from '../media-call';
import type { Clock, TimerHandle } from '../pipeline/clock';
import { Playout } from '../pipeline/playout';
import { TextChunker } from '../pipeline/text-chunker';
import { heardText, isBackchannel, type SpokenChunk } from './heard-text';

export interface CascadeDeps {
  connection: MediaConnection;
  config: AppConfig['media'];
  stt: SpeechToText;
  tts: TextToSpeech;
  vad: VoiceActivityDetector;
  /** Resolves an agent's voice (catalogue alias, style, rate) for the configured TTS engine. */
  voiceFor: (voice: AgentSpec['voice'] | undefined) => VoiceSpec;
  orchestrator: Orchestrator;
  scenario: LoadedScenario;
  writer: SessionWriteQueue;
  clock: Clock;
  /** Greeting audio cache (per text, voice, rate). */
  greetings: GreetingCache;
}

/** Synthesized greetings, so a call's first words go out without waiting for the engine. */
export class GreetingCache {
  private readonly cache = new Map<string, Buffer>();
  constructor(private readonly maxEntries = 64) {}
  key(text: string, voice: VoiceSpec, rate: number): string {
    return `${voice.name}|${voice.rate ?? 1}|${rate}|${text}`;
  }
  get(key: string): Buffer | undefined {
    return this.cache.get(key);
  }
  set(key: string, pcm: Buffer): void {
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, pcm);
  }
}

const APOLOGY = "Sorry, I didn't catch that because of a problem on my side. Could you say it again?";
const DTMF_SUBMIT_TIMEOUT_MS = 3000;

interface Reply {
  generation: number;
  controller: AbortController;
  chunks: SpokenChunk[];
  /** Audio enqueued so far (ms): the next chunk's offset. */
  audioMs: number;
  firstFrameAt?: number;
  ttsTtfbMs?: number;
  done: boolean;
  /** The greeting (not an answer to a caller turn). */
  greeting: boolean;
  metrics?: TurnMetrics;
  span?: Span;
}

interface Interruption {
  generation: number;
  heardMs: number;
  timer: TimerHandle;
}

/**
 * The MEDIA cascade of one call: VAD and STT on every caller frame, turn taking (VAD silence + STT
 * final, with a maximum wait), agent turns streamed through the sentence chunker into TTS and a paced
 * playout, and barge-in (StopAudio at once, cancel on confirmed words, resume on false alarms).
 * Frame work is synchronous; everything slow runs in promises tied to a generation's AbortSignal.
 */
export class MediaCascade implements MediaCallHandler {
  private sampleRate = 0;
  private frameBytes = 0;
  private silence = Buffer.alloc(0);
  private vad: VadStream | undefined;
  private stt: SttSession | undefined;
  private playout: Playout | undefined;
  private state: ConversationState | undefined;
  private ready = false;
  private closed = false;
  private readonly early: InboundFrame[] = [];
  private metadataAt = 0;

  private generation = 0;
  private reply: Reply | undefined;
  private interruption: Interruption | undefined;
  private callerSpeaking = false;
  private speechEndAt: number | undefined;
  private speechOnsetAt: number | undefined;
  private utterance = '';
  private partial = '';
  /** Text of a turn that was committed but cancelled because the caller went on speaking. */
  private carried = '';
  private finalTimer: TimerHandle | undefined;
  private awaitingFinal = false;
  private sttFinalMs: number | undefined;
  private digits = '';
  private digitTimer: TimerHandle | undefined;
  private bargeInMs: number | undefined;
  private readonly log;

  constructor(private readonly deps: CascadeDeps) {
    this.log = deps.connection.log;
  }

  onFrame(frame: InboundFrame): void {
    if (this.closed) return;
    if (frame.kind === 'AudioMetadata') {
      if (this.sampleRate === 0) void this.start(frame.sampleRate, frame.frameBytes);
      return;
    }
    if (!this.ready) {
      if (frame.kind === 'DtmfData' || (frame.kind === 'AudioData' && this.early.length < 100)) {
        // The decoder reuses its buffer: keep a copy of early audio until the engines are ready.
        this.early.push(
          frame.kind === 'AudioData'
            ? { ...frame, pcm: Buffer.from(frame.pcm.subarray(0, frame.byteLength)) }
            : frame,
        );
      }
      return;
    }
    if (frame.kind === 'AudioData')
      this.audio(frame.silent ? this.silence : frame.pcm.subarray(0, frame.byteLength));
    else if (frame.kind === 'DtmfData') this.dtmf(frame.digit);
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelReply('call ended');
    this.clearTimer(this.finalTimer);
    this.clearTimer(this.digitTimer);
    if (this.interruption) this.clearTimer(this.interruption.timer);
    this.playout?.close();
    this.vad?.close();
    await this.stt?.close();
    this.log.debug({ reason }, 'cascade closed');
  }

  // ---- setup

  private async start(sampleRate: number, frameBytes: number): Promise<void> {
    const { deps } = this;
    this.metadataAt = deps.clock.now();
    this.sampleRate = sampleRate;
    this.frameBytes = frameBytes;
    this.silence = Buffer.alloc(frameBytes);
    try {
      if (sampleRate !== 16000 && sampleRate !== 24000)
        throw new Error(`unsupported sample rate ${sampleRate}`);
      this.playout = new Playout({
        clock: deps.clock,
        frameBytes,
        leadMs: deps.config.playoutLeadMs,
        send: (buf, off, len) => void deps.connection.send(encodeAudioData(buf, off, len)),
        onFirstFrame: (generation, at) => this.onFirstFrame(generation, at),
        onIdle: () => this.onPlayoutIdle(),
      });
      const { state, greeting } = deps.orchestrator.start(deps.scenario, deps.connection.sessionId, {
        callConnectionId: deps.connection.callConnectionId,
      });
      this.state = state;
      // The greeting starts before the engines finish opening: it only needs TTS.
      const greetingReply = this.newReply(true);
      void this.speakGreeting(greetingReply, greeting.text);
      const [vad, stt] = await Promise.all([
        deps.vad.createStream(sampleRate, {
          minSpeechMs: deps.config.bargeInMinMs,
          minSilenceMs: deps.config.endpointingMs,
        }),
        deps.stt.open({ sampleRate, expected: deps.orchestrator.expectedInput(state) }),
      ]);
      if (this.closed) {
        vad.close();
        await stt.close();
        return;
      }
      this.vad = vad;
      this.stt = stt;
      stt.onEvent((e) => this.onStt(e));
      this.ready = true;
      for (const f of this.early.splice(0)) this.onFrame(f);
    } catch (err) {
      this.log.error({ err }, 'media cascade could not start');
      recordSpanError(deps.connection.span, err);
      deps.connection.close(1011, 'speech engines unavailable');
    }
  }

  private async speakGreeting(reply: Reply, text: string): Promise<void> {
    const voice = this.voice();
    const key = this.deps.greetings.key(text, voice, this.sampleRate);
    const cached = this.deps.greetings.get(key);
    if (cached) {
      this.enqueueAudio(reply, text, cached);
      this.finishReply(reply);
      return;
    }
    const parts: Buffer[] = [];
    await this.synthesize(reply, text, (pcm) => parts.push(pcm));
    if (!reply.controller.signal.aborted) this.deps.greetings.set(key, Buffer.concat(parts));
    this.finishReply(reply);
  }

  private voice(): VoiceSpec {
    const spec = this.state ? this.deps.orchestrator.agentSpec(this.state) : undefined;
    return this.deps.voiceFor(spec?.voice);
  }

  // ---- caller audio

  private audio(pcm: Buffer): void {
    this.stt!.write(pcm);
    const result = this.vad!.process(int16View(pcm));
    const event = result.event;
    if (!event) return;
    if (event.type === 'speech_start') this.onSpeechStart();
    else this.onSpeechEnd();
  }

  private onSpeechStart(): void {
    const now = this.deps.clock.now();
    this.callerSpeaking = true;
    this.speechOnsetAt = now - this.deps.config.bargeInMinMs;
    this.clearTimer(this.finalTimer);
    this.awaitingFinal = false;
    const reply = this.reply;
    if (reply && this.playout!.playing && !this.interruption) {
      // Barge-in: stop what ACS has queued at once, remember what the caller heard.
      this.deps.connection.send(STOP_AUDIO);
      const cut = this.playout!.pause();
      this.bargeInMs = this.deps.clock.now() - this.speechOnsetAt;
      this.interruption = {
        generation: reply.generation,
        heardMs: cut.heardMs,
        timer: this.deps.clock.setTimeout(
          () => this.resumeAfterFalseAlarm('no words'),
          this.deps.config.falseInterruptionMs,
        ),
      };
      this.log.info(
        { generation: reply.generation, heardMs: cut.heardMs, bargeInMs: this.bargeInMs },
        'barge-in: agent paused',
      );
    } else if (reply && reply.firstFrameAt === undefined && !reply.greeting) {
      // The caller went on before the reply started: cancel it and merge both utterances into one turn.
      this.log.info({ generation: reply.generation }, 'caller resumed before the reply: merging utterances');
      this.cancelReply('caller resumed speaking');
    }
  }

  private onSpeechEnd(): void {
    this.callerSpeaking = false;
    this.speechEndAt = this.deps.clock.now() - this.deps.config.endpointingMs;
    // Ask for the final now, also during an interruption: its words decide whether the agent resumes.
    this.stt!.endUtterance();
    if (this.utterance && !this.partial && !this.interruption) {
      this.commit();
      return;
    }
    this.awaitingFinal = true;
    this.finalTimer = this.deps.clock.setTimeout(() => {
      this.finalTimer = undefined;
      // Still undecided interruption: the false-interruption timer resumes the agent instead.
      if (this.awaitingFinal && !this.interruption) this.commit();
    }, this.deps.config.sttFinalWaitMs);
  }

  private onStt(event: SttEvent): void {
    if (this.closed) return;
    if (event.type === 'error') {
      this.log.error({ err: event.error }, 'speech recognition failed');
      return;
    }
    if (event.type === 'partial') {
      this.partial = event.text;
      if (this.interruption && event.text.trim()) this.judgeInterruption(event.text, false);
      return;
    }
    this.partial = '';
    const text = event.text.trim();
    if (this.speechEndAt !== undefined) this.sttFinalMs = this.deps.clock.now() - this.speechEndAt;
    if (this.interruption) {
      if (!this.judgeInterruption(text, true)) return;
    }
    if (text) this.utterance = this.utterance ? `${this.utterance} ${text}` : text;
    if (this.awaitingFinal && !this.callerSpeaking) this.commit();
  }

  /** Words arrived during an interruption: confirm it (cancel the reply) or resume on a backchannel. */
  private judgeInterruption(text: string, final: boolean): boolean {
    const interruption = this.interruption!;
    if (isBackchannel(text, this.deps.config.backchannels)) {
      if (final) this.resumeAfterFalseAlarm('backchannel');
      return false;
    }
    this.clearTimer(interruption.timer);
    this.interruption = undefined;
    const reply = this.reply;
    if (reply && reply.generation === interruption.generation) {
      const heard = heardText(reply.chunks, interruption.heardMs, reply.audioMs);
      this.deps.orchestrator.cutLastAgentMessage(this.state!, heard);
      this.deps.writer.appendHistory(this.deps.connection.sessionId, {
        role: 'agent',
        text: heard,
        interrupted: true,
        agent: this.state!.agent,
        turn: this.state!.turn,
        at: new Date().toISOString(),
      });
      if (reply.metrics) reply.metrics.bargein_ms = this.bargeInMs;
      this.persistMetrics(reply);
      this.cancelReply('caller interrupted');
      this.log.info(
        { generation: interruption.generation, heardChars: heard.length },
        'barge-in confirmed: reply cancelled',
      );
    }
    return true;
  }

  private resumeAfterFalseAlarm(why: string): void {
    const interruption = this.interruption;
    if (!interruption) return;
    this.clearTimer(interruption.timer);
    this.interruption = undefined;
    this.utterance = '';
    this.partial = '';
    this.awaitingFinal = false;
    this.clearTimer(this.finalTimer);
    if (this.reply?.generation === interruption.generation) {
      this.playout!.resume();
      this.log.info({ why, generation: interruption.generation }, 'false interruption: agent resumes');
    }
  }

  private dtmf(digit: string): void {
    this.clearTimer(this.digitTimer);
    if (digit === '#') {
      this.submitDigits();
      return;
    }
    this.digits += digit;
    this.digitTimer = this.deps.clock.setTimeout(() => this.submitDigits(), DTMF_SUBMIT_TIMEOUT_MS);
  }

  private submitDigits(): void {
    this.clearTimer(this.digitTimer);
    const digits = this.digits;
    this.digits = '';
    if (!digits) return;
    this.speechEndAt = this.deps.clock.now();
    this.utterance = digits.split('').join(' ');
    this.commit();
  }

  // ---- agent turns

  private commit(): void {
    this.clearTimer(this.finalTimer);
    this.awaitingFinal = false;
    const text = [this.carried, this.utterance, this.partial].filter(Boolean).join(' ').trim();
    this.utterance = '';
    this.partial = '';
    if (!text || !this.state) return;
    this.cancelReply('new caller turn');
    this.carried = text;
    const reply = this.newReply();
    const committedAt = this.deps.clock.now();
    reply.metrics = {
      turn: this.state.turn + 1,
      at: new Date().toISOString(),
      ...(this.speechEndAt !== undefined ? { eou_delay_ms: Math.round(committedAt - this.speechEndAt) } : {}),
      ...(this.sttFinalMs !== undefined ? { stt_final_ms: Math.round(this.sttFinalMs) } : {}),
    };
    reply.span = startSpan('turn', SpanKind.INTERNAL, {
      parent: trace.setSpan(context.active(), this.deps.connection.span),
      attributes: { 'rt.turn': this.state.turn + 1, 'rt.agent': this.state.agent },
    });
    this.sttFinalMs = undefined;
    void this.runTurn(reply, text, committedAt);
  }

  private async runTurn(reply: Reply, text: string, committedAt: number): Promise<void> {
    const { orchestrator } = this.deps;
    const chunker = new TextChunker();
    let speaking: Promise<void> = Promise.resolve();
    const say = (chunk: string) => {
      speaking = speaking.then(() => this.synthesize(reply, chunk));
    };
    try {
      for await (const event of orchestrator.runTurn(this.state!, text, reply.controller.signal)) {
        if (reply.controller.signal.aborted) break;
        if (event.type === 'text_delta') {
          if (reply.metrics && reply.metrics.llm_ttft_ms === undefined)
            reply.metrics.llm_ttft_ms = Math.round(this.deps.clock.now() - committedAt);
          this.carried = '';
          for (const chunk of chunker.push(event.delta)) say(chunk);
        } else if (event.type === 'agent_text') {
          for (const chunk of chunker.flush()) say(chunk);
        } else if (event.type === 'error') {
          this.log.warn({ err: event.error }, 'agent turn failed: apologising');
          say(APOLOGY);
        }
      }
      for (const chunk of chunker.flush()) say(chunk);
      this.carried = '';
      await speaking;
      this.stt?.setExpectedInput(orchestrator.expectedInput(this.state!));
    } catch (err) {
      if (!reply.controller.signal.aborted) {
        this.log.error({ err }, 'agent turn failed');
        if (reply.span) recordSpanError(reply.span, err);
      }
    } finally {
      this.finishReply(reply);
    }
  }

  private newReply(greeting = false): Reply {
    const reply: Reply = {
      generation: ++this.generation,
      controller: new AbortController(),
      chunks: [],
      audioMs: 0,
      done: false,
      greeting,
    };
    this.reply = reply;
    return reply;
  }

  /** Synthesizes one chunk of a reply into the playout (stale generations are dropped). */
  private async synthesize(reply: Reply, text: string, tap?: (pcm: Buffer) => void): Promise<void> {
    const signal = reply.controller.signal;
    if (signal.aborted) return;
    const started = this.deps.clock.now();
    let first = true;
    try {
      for await (const pcm of this.deps.tts.synthesize({
        text,
        voice: this.voice(),
        sampleRate: this.sampleRate as 16000 | 24000,
        signal,
      })) {
        if (signal.aborted || this.reply !== reply) return;
        if (first) {
          first = false;
          reply.ttsTtfbMs ??= Math.round(this.deps.clock.now() - started);
          reply.chunks.push({ text, offsetMs: reply.audioMs });
        }
        tap?.(pcm);
        this.enqueueAudio(reply, undefined, pcm);
      }
    } catch (err) {
      if (!signal.aborted) this.log.error({ err }, 'speech synthesis failed');
    }
  }

  private enqueueAudio(reply: Reply, text: string | undefined, pcm: Buffer): void {
    if (text !== undefined) reply.chunks.push({ text, offsetMs: reply.audioMs });
    reply.audioMs += (pcm.length / 2 / this.sampleRate) * 1000;
    this.playout!.enqueue(pcm, { generation: reply.generation, chunkIndex: reply.chunks.length - 1 });
  }

  private finishReply(reply: Reply): void {
    if (reply.done) return;
    reply.done = true;
    if (this.reply === reply && !reply.controller.signal.aborted) this.playout?.finish(reply.generation);
    if (reply.firstFrameAt === undefined || reply.controller.signal.aborted) this.persistMetrics(reply);
  }

  private cancelReply(why: string): void {
    const reply = this.reply;
    if (!reply) return;
    this.reply = undefined;
    if (!reply.controller.signal.aborted) {
      reply.controller.abort(new Error(why));
      this.playout?.clear(reply.generation);
      reply.span?.setAttribute('rt.cancelled', why);
      reply.span?.end();
    }
  }

  private onFirstFrame(generation: number, at: number): void {
    const reply = this.reply;
    if (!reply || reply.generation !== generation) return;
    reply.firstFrameAt = at;
    if (reply.greeting) {
      const greetingTtfb = Math.round(at - this.metadataAt);
      this.deps.writer.recordTurn(this.deps.connection.sessionId, {
        turn: 0,
        at: new Date().toISOString(),
        greeting_ttfb_ms: greetingTtfb,
      });
      this.log.info({ greeting_ttfb_ms: greetingTtfb }, 'greeting started');
      return;
    }
    const m = reply.metrics;
    if (!m) return;
    if (reply.ttsTtfbMs !== undefined) m.tts_ttfb_ms = reply.ttsTtfbMs;
    if (this.speechEndAt !== undefined) {
      m.e2e_latency_ms = Math.round(at - this.speechEndAt);
      const providers = (m.eou_delay_ms ?? 0) + (m.llm_ttft_ms ?? 0) + (m.tts_ttfb_ms ?? 0);
      m.overhead_ms = Math.max(0, m.e2e_latency_ms - providers);
    }
  }

  private onPlayoutIdle(): void {
    const reply = this.reply;
    if (reply && reply.done) this.persistMetrics(reply);
  }

  private persistMetrics(reply: Reply): void {
    const m = reply.metrics;
    if (!m) return;
    reply.metrics = undefined;
    this.deps.writer.recordTurn(this.deps.connection.sessionId, m);
    this.log.info({ turnMetrics: m }, 'turn');
    if (reply.span) {
      for (const [k, v] of Object.entries(m))
        if (typeof v === 'number') reply.span.setAttribute(`rt.${k}`, v);
      reply.span.end();
      reply.span = undefined;
    }
  }

  private clearTimer(timer: TimerHandle | undefined): void {
    if (timer !== undefined) this.deps.clock.clearTimeout(timer);
  }
}
