import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import { int16View } from '../../audio/pcm';
import { withTimeout } from '../../common/errors';
import type { AppConfig } from '../../config';
import type { LoadedScenario } from '../../llm/agents/agent-loader';
import type { AgentSpec } from '../../llm/agents/agent.types';
import { CallControl, type CallAction, type CallActionContext } from '../../llm/call-control.port';
import type { ConversationState, HistorySink, Orchestrator } from '../../llm/orchestrator';
import type { SessionWriteQueue } from '../../session/session-write-queue';
import type { HistoryEntry, TurnMetrics } from '../../session/session.types';
import type {
  SpeechToText,
  SttEvent,
  SttSession,
  TextToSpeech,
  VadEvent,
  VadStream,
  VoiceActivityDetector,
  VoiceSpec,
} from '../../speech/ports';
import { recordSpanError, startSpan } from '../../telemetry/spans';
import { AudioDataWriter, STOP_AUDIO, type InboundFrame } from '../codec/acs-media-codec';
import type { MediaCallHandler, MediaConnection } from '../media-call';
import type { Pacer } from '../pipeline/pacer';
import type { Clock, TimerHandle } from '../pipeline/clock';
import { FRAME_MS, Playout } from '../pipeline/playout';
import { TextChunker } from '../pipeline/text-chunker';
import { splitHeard, words } from '../../common/words';
import { heardText, isBackchannel, type SpokenChunk } from './heard-text';
import { PHRASES, type PhraseCache } from './phrases';

export interface CascadeDeps {
  connection: MediaConnection;
  config: AppConfig['media'];
  /** Where a call goes after repeated provider failures; without one the call is ended politely. */
  transferTarget?: string;
  stt: SpeechToText;
  tts: TextToSpeech;
  vad: VoiceActivityDetector;
  /** Resolves an agent's voice (catalogue alias, style, rate) for the configured TTS engine. */
  voiceFor: (voice: AgentSpec['voice'] | undefined) => VoiceSpec;
  /**
   * Builds this call's orchestrator around the cascade's call control, which holds the agent's call
   * actions (hang up, transfer) until the words that announce them have been played.
   */
  orchestrator: (callControl: CallControl) => Orchestrator;
  /** Carries out call actions (ACS). */
  callControl: CallControl;
  scenario: LoadedScenario;
  writer: SessionWriteQueue;
  clock: Clock;
  /** Audio of greetings and fixed phrases (per text, voice, rate), shared by all calls. */
  phrases: PhraseCache;
  /** Per-turn metrics for the OTel histograms. */
  observeTurn?: (metrics: TurnMetrics) => void;
  /** How late each playout pacing timer fired (ms), for the replica's pacing statistics. */
  onPacing?: (lateMs: number) => void;
  /** The process's shared pacing timer (default: a clock timer per frame). */
  pacer?: Pacer;
}

const DTMF_SUBMIT_TIMEOUT_MS = 3000;
const WATCHDOG_TICK_MS = 1000;
const STT_REOPEN_DELAY_MS = 1000;
const STT_OPEN_TIMEOUT_MS = 10_000;

type ReplyKind = 'greeting' | 'turn' | 'phrase';
type FailureSource = 'stt' | 'llm' | 'tts' | 'watchdog';
/** How a reply ended: everything played, cut by the caller, dropped unheard, or broken. */
type Outcome = 'played' | 'interrupted' | 'cancelled' | 'failed';

interface Reply {
  generation: number;
  kind: ReplyKind;
  controller: AbortController;
  chunks: SpokenChunk[];
  /** Audio enqueued so far (ms): the next chunk's offset. */
  audioMs: number;
  firstFrameAt?: number;
  /** Turn committed, and its first speakable clause handed to TTS (the model's share of e2e). */
  committedAt?: number;
  firstChunkAt?: number;
  ttsTtfbMs?: number;
  /** No more audio will be added. */
  done: boolean;
  /** History written and metrics persisted: nothing more happens to this reply. */
  settled: boolean;
  /** The reply's history entries, written once it is known what the caller heard. */
  entries: HistoryEntry[];
  /** Entries before this index are written already. */
  written: number;
  /** Index of this turn's caller message in the conversation (turn replies). */
  messageStart: number;
  toolCalls: number;
  /** Call actions announced by this reply: carried out when it has been heard (or cut). */
  actions: HeldAction[];
  /** The orchestrator is still producing this turn (its generator has not returned). */
  producing: boolean;
  /** What the caller heard of a cut reply, applied to the conversation once the orchestrator is done. */
  heard?: string;
  failure?: FailureSource;
  lastProgressAt: number;
  metrics?: TurnMetrics;
  span?: Span;
}

interface HeldAction {
  action: CallAction;
  context: CallActionContext;
}

interface Interruption {
  generation: number;
  heardMs: number;
  timer: TimerHandle;
}

/**
 * The MEDIA cascade of one call: VAD and STT on every caller frame, turn taking (VAD silence + STT
 * final, with a maximum wait), agent turns streamed through the sentence chunker into TTS and a paced
 * playout, barge-in (StopAudio at once, cancel on confirmed words, resume on false alarms), silence
 * re-prompts, provider-failure apologies and escalation, and a watchdog for replies that stall.
 * Frame work is synchronous; everything slow runs in promises tied to a reply's AbortSignal.
 */
export class MediaCascade implements MediaCallHandler {
  private sampleRate = 0;
  private silence = Buffer.alloc(0);
  private silenceSamples: Int16Array = new Int16Array(0);
  /** The decoder's scratch buffer and views of its last frame (see scratchAudio()). */
  private scratch: Buffer | undefined;
  private scratchBytes: Buffer = Buffer.alloc(0);
  private scratchSamples: Int16Array = new Int16Array(0);
  private vad: VadStream | undefined;
  private stt: SttSession | undefined;
  private playout: Playout | undefined;
  private state: ConversationState | undefined;
  private orchestrator: Orchestrator | undefined;
  private ready = false;
  private closed = false;
  private readonly early: InboundFrame[] = [];
  private metadataAt = 0;
  /** Caller audio fed to the VAD (ms): VAD event times are on this timeline. */
  private streamMs = 0;

  private generation = 0;
  private reply: Reply | undefined;
  private interruption: Interruption | undefined;
  private callerSpeaking = false;
  /** Onset of the caller's current speech on the caller-audio timeline (streamMs). */
  private speechOnsetMs = 0;
  private speechEndAt: number | undefined;
  private vadSpan: Span | undefined;
  private utterance = '';
  private partial = '';
  /** Text of a turn that was committed but taken back because the caller went on speaking. */
  private carried = '';
  private finalTimer: TimerHandle | undefined;
  private awaitingFinal = false;
  private sttFinalMs: number | undefined;
  private digits = '';
  private digitTimer: TimerHandle | undefined;
  private bargeInMs: number | undefined;

  private silenceTimer: TimerHandle | undefined;
  private reprompts = 0;
  private failures = 0;
  private sttReopenTimer: TimerHandle | undefined;
  private watchdogTimer: TimerHandle | undefined;
  private watchdogSentFrames = 0;
  /** A hang-up or transfer is under way: no new caller turns, no re-prompts. */
  private ending = false;
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
    if (frame.kind === 'AudioData') {
      if (frame.silent) this.audio(this.silence, this.silenceSamples);
      else this.scratchAudio(frame.pcm, frame.byteLength);
    } else if (frame.kind === 'DtmfData') this.dtmf(frame.digit);
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelReply('call ended');
    for (const t of [this.finalTimer, this.digitTimer, this.silenceTimer, this.sttReopenTimer])
      this.clearTimer(t);
    this.clearTimer(this.watchdogTimer);
    if (this.interruption) this.clearTimer(this.interruption.timer);
    this.vadSpan?.end();
    this.vadSpan = undefined;
    this.playout?.close();
    this.vad?.close();
    const stt = this.stt;
    this.stt = undefined;
    await stt?.close();
    this.log.debug({ reason }, 'cascade closed');
  }

  // ---- setup

  private async start(sampleRate: number, frameBytes: number): Promise<void> {
    const { deps } = this;
    this.metadataAt = deps.clock.now();
    this.sampleRate = sampleRate;
    this.silence = Buffer.alloc(frameBytes);
    this.silenceSamples = int16View(this.silence);
    try {
      if (sampleRate !== 16000 && sampleRate !== 24000)
        throw new Error(`unsupported sample rate ${sampleRate}`);
      const writer = new AudioDataWriter(frameBytes);
      this.playout = new Playout({
        clock: deps.clock,
        frameBytes,
        leadMs: deps.config.playoutLeadMs,
        send: (buf, off, len) => {
          const message = writer.encode(buf, off, len);
          if (!deps.connection.send(message.bytes, message.release)) message.release();
        },
        onFirstFrame: (generation, at) => this.onFirstFrame(generation, at),
        onIdle: () => this.onPlayoutIdle(),
        ...(deps.onPacing ? { onPacing: deps.onPacing } : {}),
        ...(deps.pacer ? { pacer: deps.pacer } : {}),
      });
      this.orchestrator = deps.orchestrator(this.heldCallControl());
      // The greeting starts before the engines finish opening: it only needs TTS.
      const greetingReply = this.newReply('greeting');
      const { state, greeting } = this.orchestrator.start(deps.scenario, deps.connection.sessionId, {
        callConnectionId: deps.connection.callConnectionId,
        history: this.historySink(greetingReply),
      });
      this.state = state;
      void context
        .with(trace.setSpan(context.active(), deps.connection.span), () =>
          this.speakFixed(greetingReply, greeting.text),
        )
        .finally(() => this.finishReply(greetingReply));
      this.armWatchdog();
      const [vadResult, sttResult] = await Promise.allSettled([
        deps.vad.createStream(sampleRate, {
          minSpeechMs: deps.config.bargeInMinMs,
          minSilenceMs: deps.config.endpointingMs,
          // Event times are then the true onset and end of speech (bargein_ms, eou_delay_ms).
          paddingMs: 0,
        }),
        this.openStt(),
      ]);
      const vad = vadResult.status === 'fulfilled' ? vadResult.value : undefined;
      const stt = sttResult.status === 'fulfilled' ? sttResult.value : undefined;
      if (this.closed || !vad || !stt) {
        // Whatever did open goes back (an STT session holds a pooled engine or a billed socket).
        vad?.close();
        await stt?.close().catch(() => undefined);
        if (vadResult.status === 'rejected') throw vadResult.reason;
        if (sttResult.status === 'rejected') throw sttResult.reason;
        return;
      }
      this.vad = vad;
      vad.onEvent?.(this.onVadEvent);
      this.attachStt(stt);
      this.ready = true;
      for (const f of this.early.splice(0)) this.onFrame(f);
    } catch (err) {
      this.log.error({ err }, 'media cascade could not start');
      recordSpanError(deps.connection.span, err);
      deps.connection.close(1011, 'speech engines unavailable');
    }
  }

  private async openStt(): Promise<SttSession> {
    const expected = this.state ? this.orchestrator!.expectedInput(this.state) : undefined;
    // Not an AbortSignal: a session's signal aborts the session itself, for its whole life.
    // Gated: the VAD tells the engine where utterances start and end (the embedded one decodes only those).
    const opening = this.deps.stt.open({
      sampleRate: this.sampleRate,
      gated: true,
      ...(expected ? { expected } : {}),
    });
    try {
      return await withTimeout(
        opening,
        STT_OPEN_TIMEOUT_MS,
        'opening speech recognition',
        'PROVIDER_TIMEOUT',
      );
    } catch (err) {
      // A session that opens after the deadline goes straight back.
      void opening.then(
        (late) => late.close().catch(() => undefined),
        () => undefined,
      );
      throw err;
    }
  }

  private attachStt(stt: SttSession): void {
    this.stt = stt;
    stt.onEvent((e) => {
      if (this.stt === stt) this.onStt(e);
    });
    // Reopened while the caller speaks: the new session starts at the onset, as far as it has the audio.
    if (this.callerSpeaking) stt.speechStarted(this.streamMs - this.speechOnsetMs);
  }

  /** The agent's call actions wait until the reply that announces them (the current one) has been heard. */
  private heldCallControl(): CallControl {
    const hold = (action: CallAction, ctx: CallActionContext) => this.holdAction(action, this.reply, ctx);
    return new (class extends CallControl {
      async request(action: CallAction, ctx: CallActionContext): Promise<void> {
        hold(action, ctx);
      }
    })();
  }

  /** From now on no new caller turns or re-prompts; the action runs once `reply` has been heard. */
  private holdAction(action: CallAction, reply: Reply | undefined, ctx?: CallActionContext): void {
    this.ending = true;
    this.clearTimer(this.silenceTimer);
    const held = {
      action,
      context: ctx ?? {
        sessionId: this.deps.connection.sessionId,
        callConnectionId: this.deps.connection.callConnectionId,
      },
    };
    if (!reply || reply.settled) {
      this.runAction(held);
      return;
    }
    reply.actions.push(held);
    this.log.info(
      { action: action.type, reason: action.reason },
      'call action held until the reply is heard',
    );
  }

  private runAction({ action, context: ctx }: HeldAction): void {
    this.log.info({ action: action.type, reason: action.reason }, 'call action');
    this.deps.callControl.request(action, ctx).catch((err: unknown) => {
      this.log.error({ err, action: action.type }, 'call action failed');
      if (this.closed) return;
      if (action.type === 'hangup_requested') {
        // The call cannot be hung up through call control (no call record, ACS refused): end the media.
        this.deps.connection.close(1000, 'call ended');
      } else {
        // The transfer did not happen: the conversation goes on.
        this.ending = false;
        this.speakPhrase(PHRASES.transferFailed);
      }
    });
  }

  private voice(): VoiceSpec {
    const spec = this.state ? this.orchestrator!.agentSpec(this.state) : undefined;
    return this.deps.voiceFor(spec?.voice);
  }

  // ---- caller audio

  private audio(pcm: Buffer, samples: Int16Array): void {
    this.stt?.write(pcm);
    this.streamMs += FRAME_MS;
    const result = this.vad!.process(samples);
    if (result.event) this.onVadEvent(result.event);
  }

  /**
   * A frame in the decoder's scratch buffer. The decoder writes every frame into the same buffer, so
   * the byte and sample views of the previous frame are reused while buffer and length stay the same:
   * two objects fewer per frame (50 a second per call). A misaligned buffer is copied, never cached.
   */
  private scratchAudio(pcm: Buffer, byteLength: number): void {
    if (this.scratch !== pcm || this.scratchBytes.length !== byteLength) {
      const bytes = pcm.subarray(0, byteLength);
      const samples = int16View(bytes);
      if (samples.buffer !== pcm.buffer) {
        this.scratch = undefined;
        this.audio(bytes, samples);
        return;
      }
      this.scratch = pcm;
      this.scratchBytes = bytes;
      this.scratchSamples = samples;
    }
    this.audio(this.scratchBytes, this.scratchSamples);
  }

  /** From process() or, for batching drivers, a moment later: times are on the caller-audio timeline. */
  private readonly onVadEvent = (event: VadEvent): void => {
    if (this.closed) return;
    const agoMs = this.streamMs - event.atMs;
    const at = this.deps.clock.now() - agoMs;
    if (event.type === 'speech_start') this.onSpeechStart(at, event.atMs);
    else this.onSpeechEnd(at, event.durationMs);
  };

  private onSpeechStart(onsetAt: number, onsetStreamMs: number): void {
    const { clock, config, connection } = this.deps;
    this.callerSpeaking = true;
    this.speechOnsetMs = onsetStreamMs;
    // The STT has every frame up to streamMs (audio() writes it before the VAD sees the frame).
    this.stt?.speechStarted(this.streamMs - onsetStreamMs);
    this.clearTimer(this.finalTimer);
    this.clearTimer(this.silenceTimer);
    this.awaitingFinal = false;
    const reply = this.reply;
    const bargeIn = Boolean(reply && this.playout!.playing && !this.interruption);
    this.vadSpan = startSpan('vad.segment', SpanKind.INTERNAL, {
      parent: trace.setSpan(context.active(), connection.span),
      attributes: { 'rt.vad.barge_in': bargeIn },
    });
    if (reply && bargeIn) {
      // Barge-in: stop what ACS has queued at once, remember what the caller heard.
      connection.send(STOP_AUDIO);
      const cut = this.playout!.pause();
      this.bargeInMs = Math.round(clock.now() - onsetAt);
      this.interruption = {
        generation: reply.generation,
        heardMs: cut.heardMs,
        timer: clock.setTimeout(() => this.resumeAfterFalseAlarm('no words'), config.falseInterruptionMs),
      };
      this.log.info(
        { generation: reply.generation, heardMs: cut.heardMs, bargeInMs: this.bargeInMs },
        'barge-in: agent paused',
      );
    } else if (reply && reply.firstFrameAt === undefined && reply.kind !== 'greeting') {
      // The caller went on before the reply started: drop it; a turn is merged with what comes next.
      this.log.info({ generation: reply.generation }, 'caller resumed before the reply: merging utterances');
      this.cancelReply('caller resumed speaking', { merge: true });
    }
  }

  private onSpeechEnd(endAt: number, durationMs: number): void {
    this.callerSpeaking = false;
    this.speechEndAt = endAt;
    if (this.vadSpan) {
      this.vadSpan.setAttribute('rt.vad.duration_ms', durationMs);
      this.vadSpan.end();
      this.vadSpan = undefined;
    }
    // Ask for the final now, also during an interruption: its words decide whether the agent resumes.
    this.stt?.endUtterance();
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
      this.onSttFailure(event.error);
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
      if (reply.metrics) reply.metrics.bargein_ms = this.bargeInMs;
      this.settle(reply, interruption.heardMs, 'interrupted');
      this.abort(reply, 'caller interrupted');
      this.log.info({ generation: interruption.generation }, 'barge-in confirmed: reply cancelled');
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
      // Everything had been sent before the pause and nothing is left to replay: the reply is over.
      if (this.reply.done && !this.playout!.playing) this.settle(this.reply, this.reply.audioMs, 'played');
    }
  }

  private dtmf(digit: string): void {
    this.clearTimer(this.digitTimer);
    this.clearTimer(this.silenceTimer);
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

  // ---- speech recognition failures

  private onSttFailure(error: Error): void {
    const lost = this.callerSpeaking || this.awaitingFinal || Boolean(this.utterance || this.partial);
    this.log.error({ err: error, lostUtterance: lost }, 'speech recognition failed: reopening');
    const stt = this.stt;
    this.stt = undefined;
    void stt?.close().catch(() => undefined);
    this.utterance = '';
    this.partial = '';
    this.awaitingFinal = false;
    this.clearTimer(this.finalTimer);
    this.providerFailed('stt', lost);
    void this.reopenStt();
  }

  private async reopenStt(): Promise<void> {
    if (this.closed || this.stt) return;
    try {
      const stt = await this.openStt();
      if (this.closed) {
        await stt.close().catch(() => undefined);
        return;
      }
      this.attachStt(stt);
      this.log.info('speech recognition reopened');
    } catch (err) {
      if (this.closed) return;
      this.log.error({ err }, 'speech recognition could not be reopened');
      this.providerFailed('stt', false);
      if (!this.ending)
        this.sttReopenTimer = this.deps.clock.setTimeout(() => void this.reopenStt(), STT_REOPEN_DELAY_MS);
    }
  }

  // ---- agent turns

  private commit(): void {
    this.clearTimer(this.finalTimer);
    this.awaitingFinal = false;
    const text = [this.carried, this.utterance, this.partial].filter(Boolean).join(' ').trim();
    this.utterance = '';
    this.partial = '';
    if (!text || !this.state || this.ending) {
      // Noise, or words nobody could make out: the silence clock starts again.
      if (!text && this.state && !this.ending) this.log.info('caller turn without words: no reply');
      if (!this.reply) this.armSilence();
      return;
    }
    this.cancelReply('new caller turn');
    this.clearTimer(this.silenceTimer);
    this.reprompts = 0;
    this.carried = text;
    const reply = this.newReply('turn');
    reply.messageStart = this.state.messages.length;
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
    // Provider spans (model, TTS) of this turn go beneath its span.
    void context.with(trace.setSpan(context.active(), reply.span), () =>
      this.runTurn(reply, text, committedAt),
    );
  }

  private async runTurn(reply: Reply, text: string, committedAt: number): Promise<void> {
    const orchestrator = this.orchestrator!;
    const signal = reply.controller.signal;
    const chunker = new TextChunker();
    let speaking: Promise<void> = Promise.resolve();
    reply.committedAt = committedAt;
    const say = (chunk: string) => {
      reply.firstChunkAt ??= this.deps.clock.now();
      speaking = speaking.then(async () => void (await this.synthesize(reply, chunk)));
    };
    reply.producing = true;
    try {
      for await (const event of orchestrator.runTurn(this.state!, text, signal, this.historySink(reply))) {
        if (signal.aborted) break;
        reply.lastProgressAt = this.deps.clock.now();
        if (event.type === 'text_delta') {
          if (reply.metrics && reply.metrics.llm_ttft_ms === undefined)
            reply.metrics.llm_ttft_ms = Math.round(this.deps.clock.now() - committedAt);
          for (const chunk of chunker.push(event.delta)) say(chunk);
        } else if (event.type === 'agent_text') {
          for (const chunk of chunker.flush()) say(chunk);
        } else if (event.type === 'tool_call') {
          // The turn has effects now: it can no longer be merged into the caller's next words.
          reply.toolCalls++;
        } else if (event.type === 'error') {
          this.log.warn({ err: event.error }, 'agent turn failed');
          reply.failure ??= 'llm';
        }
      }
      for (const chunk of chunker.flush()) say(chunk);
    } catch (err) {
      if (!signal.aborted) {
        this.log.error({ err }, 'agent turn failed');
        if (reply.span) recordSpanError(reply.span, err);
        reply.failure ??= 'llm';
      }
    } finally {
      reply.producing = false;
      // A cut reply's conversation edit waits for the orchestrator: it may have been mid-tool.
      if (reply.heard !== undefined) this.applyHeard(reply);
    }
    // The conversation is settled for this turn: what the caller is asked next decides the grammar of
    // their next utterance. Set now, before the reply plays (also when it was cut or failed), so that
    // no answer, however quick, is heard with the grammar of the previous question.
    if (!this.closed) this.stt?.setExpectedInput(orchestrator.expectedInput(this.state!));
    // Synthesis in flight finishes (or sees the abort) before anything else is said in this reply.
    await speaking;
    try {
      if (signal.aborted) return;
      if (reply.failure) {
        if (reply.span) reply.span.setAttribute('rt.failure', reply.failure);
        await this.respondToFailure(reply, reply.failure);
      }
    } finally {
      this.finishReply(reply);
    }
  }

  /** Counts a provider failure: what to say (an apology, or the escalation and its call action). */
  private failureResponse(source: FailureSource): { text: string; action?: CallAction } {
    this.failures++;
    const escalate = this.failures >= this.deps.config.maxProviderFailures && !this.ending;
    this.log.warn({ source, failures: this.failures, escalate }, 'provider failure');
    if (!escalate) return { text: PHRASES.apology };
    const target = this.deps.transferTarget;
    const reason = `${this.failures} consecutive provider failures (last: ${source})`;
    return target
      ? { text: PHRASES.failureTransfer, action: { type: 'transfer_requested', reason, target } }
      : { text: PHRASES.failureGoodbye, action: { type: 'hangup_requested', reason } };
  }

  /** A failed turn ends with an apology (or the escalation) inside the same reply. */
  private async respondToFailure(reply: Reply, source: FailureSource): Promise<void> {
    const { text, action } = this.failureResponse(source);
    if (action) this.holdAction(action, reply);
    reply.entries.push(this.agentEntry(text));
    await this.speakFixed(reply, text);
  }

  /** A failure outside a turn (STT, watchdog): the apology is a reply of its own when it matters. */
  private providerFailed(source: FailureSource, apologise: boolean): void {
    const { text, action } = this.failureResponse(source);
    if (action || apologise) this.speakPhrase(text, action);
  }

  /** Says one of the cascade's phrases as a reply of its own, optionally announcing a call action. */
  private speakPhrase(text: string, action?: CallAction): void {
    if (this.closed || !this.playout) return;
    this.cancelReply('cascade phrase');
    const reply = this.newReply('phrase');
    if (action) this.holdAction(action, reply);
    reply.entries.push(this.agentEntry(text));
    void this.speakFixed(reply, text).finally(() => this.finishReply(reply));
  }

  private agentEntry(text: string): HistoryEntry {
    return {
      role: 'agent',
      text,
      at: new Date().toISOString(),
      ...(this.state ? { agent: this.state.agent, turn: this.state.turn } : {}),
    };
  }

  private newReply(kind: ReplyKind): Reply {
    const reply: Reply = {
      generation: ++this.generation,
      kind,
      controller: new AbortController(),
      chunks: [],
      audioMs: 0,
      done: false,
      settled: false,
      entries: [],
      written: 0,
      messageStart: this.state?.messages.length ?? 0,
      toolCalls: 0,
      actions: [],
      producing: false,
      lastProgressAt: this.deps.clock.now(),
    };
    this.reply = reply;
    return reply;
  }

  /** History of a reply is held until it is known what the caller heard; late entries go straight out. */
  private historySink(reply: Reply): HistorySink {
    return (entry) => {
      if (!reply.settled) {
        reply.entries.push(entry);
        return;
      }
      // After a cut the heard words are on record already; what comes late is the tools that ran.
      if (entry.role !== 'agent') this.deps.writer.appendHistory(this.deps.connection.sessionId, entry);
      else if (entry.toolCalls?.length)
        this.deps.writer.appendHistory(this.deps.connection.sessionId, { ...entry, text: '' });
    };
  }

  /** Writes a reply's held entries up to (not including) `end`. */
  private writeEntries(reply: Reply, end: number): void {
    for (; reply.written < end; reply.written++)
      this.deps.writer.appendHistory(this.deps.connection.sessionId, reply.entries[reply.written]);
  }

  /** Greetings and phrases: from the cache when possible (so they play even while TTS fails). */
  private async speakFixed(reply: Reply, text: string): Promise<void> {
    const voice = this.voice();
    const key = this.deps.phrases.key(text, voice, this.sampleRate);
    const cached = this.deps.phrases.get(key);
    if (cached) {
      if (!reply.controller.signal.aborted && this.reply === reply) this.enqueueAudio(reply, text, cached);
      return;
    }
    const parts: Buffer[] = [];
    const ok = await this.synthesize(reply, text, (pcm) => parts.push(pcm), true);
    if (ok) this.deps.phrases.set(key, Buffer.concat(parts));
  }

  /** Synthesizes one chunk of a reply into the playout (stale generations are dropped). */
  private async synthesize(
    reply: Reply,
    text: string,
    tap?: (pcm: Buffer) => void,
    /** Said even after a chunk of this reply failed (the apology gets its own try). */
    always = false,
  ): Promise<boolean> {
    const signal = reply.controller.signal;
    if (signal.aborted || (reply.failure === 'tts' && !always)) return false;
    const started = this.deps.clock.now();
    let first = true;
    try {
      for await (const pcm of this.deps.tts.synthesize({
        text,
        voice: this.voice(),
        sampleRate: this.sampleRate as 16000 | 24000,
        signal,
      })) {
        if (signal.aborted || this.reply !== reply) return false;
        if (first) {
          first = false;
          reply.ttsTtfbMs ??= Math.round(this.deps.clock.now() - started);
          reply.chunks.push({ text, offsetMs: reply.audioMs });
        }
        tap?.(pcm);
        this.enqueueAudio(reply, undefined, pcm);
      }
      return !signal.aborted;
    } catch (err) {
      if (signal.aborted) return false;
      this.log.error({ err }, 'speech synthesis failed');
      if (reply.span) recordSpanError(reply.span, err);
      reply.failure ??= 'tts';
      return false;
    }
  }

  private enqueueAudio(reply: Reply, text: string | undefined, pcm: Buffer): void {
    if (text !== undefined) reply.chunks.push({ text, offsetMs: reply.audioMs });
    reply.audioMs += (pcm.length / 2 / this.sampleRate) * 1000;
    reply.lastProgressAt = this.deps.clock.now();
    // Handed over: TTS chunks are never written again (TextToSpeech contract), nor are cached phrases.
    this.playout!.enqueue(pcm, { generation: reply.generation, chunkIndex: reply.chunks.length - 1 }, true);
  }

  private finishReply(reply: Reply): void {
    if (reply.done) return;
    reply.done = true;
    if (reply.settled || reply.controller.signal.aborted || this.reply !== reply) return;
    this.playout?.finish(reply.generation);
    // Nothing (left) to play: the reply is over now, otherwise when the playout goes idle.
    if (!this.interruption && !this.playout?.playing)
      this.settle(reply, reply.audioMs, reply.audioMs > 0 || !reply.failure ? 'played' : 'failed');
  }

  /**
   * Cancels the current reply. What the caller heard of it is recorded; with `merge` (the caller went
   * on before it started) a turn without effects is taken back so both utterances become one turn.
   */
  private cancelReply(why: string, options: { merge?: boolean } = {}): void {
    const reply = this.reply;
    if (!reply) return;
    if (!reply.settled) {
      if (options.merge && reply.kind === 'turn' && reply.toolCalls === 0 && this.state) {
        this.orchestrator!.retractTurn(this.state, reply.messageStart);
        reply.entries.length = reply.written;
        reply.metrics = undefined;
        reply.span?.setAttribute('rt.merged', true);
      } else if (reply.kind === 'turn') {
        this.carried = '';
      }
      const heardMs = this.playout ? this.playout.heardMs(reply.generation) : 0;
      this.settle(reply, heardMs, reply.firstFrameAt === undefined ? 'cancelled' : 'interrupted');
    }
    this.abort(reply, why);
  }

  private abort(reply: Reply, why: string): void {
    if (this.reply === reply) this.reply = undefined;
    if (this.interruption?.generation === reply.generation) {
      // Nothing left to resume: the undecided barge-in ends with the reply.
      this.clearTimer(this.interruption.timer);
      this.interruption = undefined;
    }
    if (reply.controller.signal.aborted) return;
    reply.controller.abort(new Error(why));
    this.playout?.clear(reply.generation);
    if (reply.span) {
      reply.span.setAttribute('rt.cancelled', why);
      reply.span.end();
      reply.span = undefined;
    }
  }

  /**
   * The reply is over: its history is written as heard (cut to the words played when it did not play
   * to the end), the conversation keeps only what was heard, metrics are persisted, held call actions
   * run, and the silence timer starts.
   */
  private settle(reply: Reply, heardMs: number, outcome: Outcome): void {
    if (reply.settled) return;
    reply.settled = true;
    if (this.reply === reply) this.reply = undefined;
    const complete = outcome === 'played' && heardMs >= reply.audioMs;
    const pending = reply.entries.slice(reply.written);
    if (complete) {
      for (const e of pending) this.deps.writer.appendHistory(this.deps.connection.sessionId, e);
    } else {
      const heard = heardText(reply.chunks, heardMs, reply.audioMs);
      const heardWords = words(heard);
      const spoken = pending.filter((e) => e.role === 'agent');
      const { parts, left } = splitHeard(
        spoken.map((e) => e.text),
        heardWords.length,
      );
      // Words heard beyond the recorded messages: the model was cut off mid-message (not recorded yet).
      const unrecorded = heardWords.slice(heardWords.length - left).join(' ');
      for (const e of pending) {
        let entry = e;
        if (e.role === 'agent') {
          const cut = parts[spoken.indexOf(e)];
          if (cut.cut) entry = { ...e, text: cut.text, interrupted: true };
          if (!entry.text && !entry.toolCalls?.length) continue;
        }
        this.deps.writer.appendHistory(this.deps.connection.sessionId, entry);
      }
      if (unrecorded)
        this.deps.writer.appendHistory(this.deps.connection.sessionId, {
          ...this.agentEntry(unrecorded),
          interrupted: true,
        });
      if (this.state && reply.kind !== 'phrase') {
        reply.heard = heard;
        if (!reply.producing) this.applyHeard(reply);
      }
    }
    reply.written = reply.entries.length;
    if (reply.kind === 'turn' && complete && !reply.failure) {
      this.failures = 0;
      this.carried = '';
    }
    this.persistMetrics(reply);
    for (const held of reply.actions.splice(0)) this.runAction(held);
    if (outcome === 'played' || outcome === 'failed') this.armSilence();
  }

  /** The conversation keeps only what the caller heard of a cut reply (see Orchestrator.keepHeard). */
  private applyHeard(reply: Reply): void {
    const heard = reply.heard;
    reply.heard = undefined;
    if (heard !== undefined && this.state)
      this.orchestrator!.keepHeard(this.state, reply.messageStart, heard);
  }

  private onFirstFrame(generation: number, at: number): void {
    const reply = this.reply;
    if (!reply || reply.generation !== generation) return;
    reply.firstFrameAt = at;
    reply.lastProgressAt = at;
    if (reply.kind === 'turn') {
      // The caller is hearing the answer: the turn is final (no more merging), its caller line is written.
      this.carried = '';
      const firstAgent = reply.entries.findIndex((e, i) => i >= reply.written && e.role === 'agent');
      this.writeEntries(reply, firstAgent < 0 ? reply.entries.length : firstAgent);
    }
    if (reply.kind === 'greeting') {
      const greetingTtfb = Math.round(at - this.metadataAt);
      const metrics = { turn: 0, at: new Date().toISOString(), greeting_ttfb_ms: greetingTtfb };
      this.deps.writer.recordTurn(this.deps.connection.sessionId, metrics);
      this.deps.observeTurn?.(metrics);
      this.log.info({ greeting_ttfb_ms: greetingTtfb }, 'greeting started');
      return;
    }
    const m = reply.metrics;
    if (!m) return;
    if (reply.ttsTtfbMs !== undefined) m.tts_ttfb_ms = reply.ttsTtfbMs;
    if (this.speechEndAt !== undefined) {
      m.e2e_latency_ms = Math.round(at - this.speechEndAt);
      // The model's share runs to its first speakable clause (first token + the rest of that clause).
      const llm =
        reply.firstChunkAt !== undefined && reply.committedAt !== undefined
          ? reply.firstChunkAt - reply.committedAt
          : (m.llm_ttft_ms ?? 0);
      const providers = (m.eou_delay_ms ?? 0) + llm + (m.tts_ttfb_ms ?? 0);
      m.overhead_ms = Math.max(0, Math.round(m.e2e_latency_ms - providers));
    }
  }

  private onPlayoutIdle(): void {
    const reply = this.reply;
    if (reply && reply.done && !this.interruption) this.settle(reply, reply.audioMs, 'played');
  }

  private persistMetrics(reply: Reply): void {
    const m = reply.metrics;
    if (reply.span) {
      if (m)
        for (const [k, v] of Object.entries(m))
          if (typeof v === 'number') reply.span.setAttribute(`rt.${k}`, v);
      reply.span.end();
      reply.span = undefined;
    }
    if (!m) return;
    reply.metrics = undefined;
    this.deps.writer.recordTurn(this.deps.connection.sessionId, m);
    this.deps.observeTurn?.(m);
    this.log.info({ turnMetrics: m }, 'turn');
  }

  // ---- silence and the watchdog

  private armSilence(): void {
    this.clearTimer(this.silenceTimer);
    if (this.ending || this.closed) return;
    this.silenceTimer = this.deps.clock.setTimeout(
      () => this.onSilence(),
      this.deps.config.silenceRepromptMs,
    );
  }

  private onSilence(): void {
    this.silenceTimer = undefined;
    // A reply re-arms the timer when it ends; a caller who is speaking or typing gets a new period.
    if (this.closed || this.ending || this.reply) return;
    if (this.callerSpeaking || this.awaitingFinal || this.digits) {
      this.armSilence();
      return;
    }
    if (this.reprompts < this.deps.config.maxReprompts) {
      this.reprompts++;
      this.log.info({ reprompts: this.reprompts }, 'caller silent: re-prompting');
      this.speakPhrase(PHRASES.reprompt);
      return;
    }
    this.log.info({ reprompts: this.reprompts }, 'caller silent: ending the call');
    this.speakPhrase(PHRASES.silenceGoodbye, { type: 'hangup_requested', reason: 'caller silent' });
  }

  private armWatchdog(): void {
    this.watchdogTimer = this.deps.clock.setTimeout(() => this.checkWatchdog(), WATCHDOG_TICK_MS);
  }

  /** Recovers a reply that claims to be speaking but makes no progress (no text, no audio queued or sent). */
  private checkWatchdog(): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    const sent = this.playout?.sentFrames ?? 0;
    const reply = this.reply;
    if (reply && sent !== this.watchdogSentFrames) reply.lastProgressAt = now;
    this.watchdogSentFrames = sent;
    if (
      reply &&
      !reply.settled &&
      !this.interruption &&
      now - reply.lastProgressAt >= this.deps.config.watchdogMs
    ) {
      this.log.warn(
        { generation: reply.generation, kind: reply.kind, stalledMs: Math.round(now - reply.lastProgressAt) },
        'playout watchdog: the reply made no progress, abandoning it',
      );
      if (reply.span) reply.span.setAttribute('rt.failure', 'watchdog');
      const heardMs = this.playout ? this.playout.heardMs(reply.generation) : 0;
      this.settle(reply, heardMs, 'failed');
      this.abort(reply, 'playout watchdog');
      this.providerFailed('watchdog', true);
    }
    this.armWatchdog();
  }

  private clearTimer(timer: TimerHandle | undefined): void {
    if (timer !== undefined) this.deps.clock.clearTimeout(timer);
  }
}
