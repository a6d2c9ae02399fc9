import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as koffi from 'koffi';

/**
 * koffi bindings to the Debian build of pocketsphinx 5prealpha (libpocketsphinx.so.3). Only the
 * decoder worker imports this file: every call here is synchronous native code that can take tens of
 * milliseconds, which the main event loop must never wait for.
 */

export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

const APT_HINT = 'apt-get install libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us';

/** Native pointers are BigInts in koffi 3; null (or 0) means the C call failed. */
type Pointer = bigint;
type Nullable = Pointer | null;

interface Bindings {
  ps_args(): Pointer;
  cmd_ln_parse_r(inout: Nullable, defn: Pointer, argc: number, argv: string[], strict: number): Nullable;
  cmd_ln_free_r(config: Pointer): number;
  cmd_ln_set_float_r(config: Pointer, name: string, value: number): void;
  cmd_ln_float_r(config: Pointer, name: string): number;
  ps_init(config: Pointer): Nullable;
  ps_free(ps: Pointer): number;
  ps_get_config(ps: Pointer): Pointer;
  ps_set_jsgf_string(ps: Pointer, name: string, jsgf: string): number;
  ps_set_search(ps: Pointer, name: string): number;
  ps_get_search(ps: Pointer): string | null;
  ps_start_stream(ps: Pointer): number;
  ps_start_utt(ps: Pointer): number;
  ps_process_raw(ps: Pointer, data: Int16Array, samples: number, noSearch: number, fullUtt: number): number;
  ps_end_utt(ps: Pointer): number;
  ps_get_hyp(ps: Pointer, score: number[]): string | null;
  ps_seg_iter(ps: Pointer): Nullable;
  ps_seg_next(seg: Pointer): Nullable;
  ps_seg_word(seg: Pointer): string | null;
  ps_seg_frames(seg: Pointer, start: number[], end: number[]): void;
}

let bindings: Bindings | undefined;

/** Loads the shared libraries once per thread; the error names the Debian packages to install. */
function load(): Bindings {
  if (bindings) return bindings;
  let ps: koffi.LibraryHandle;
  let sb: koffi.LibraryHandle;
  try {
    // By soname, so the dynamic linker finds the packaged library wherever the distribution puts it.
    sb = koffi.load('libsphinxbase.so.3');
    ps = koffi.load('libpocketsphinx.so.3');
  } catch (err) {
    throw new Error(
      `pocketsphinx is not installed (${(err as Error).message}); install it with: ${APT_HINT}`,
      { cause: err },
    );
  }
  bindings = {
    ps_args: ps.func('void *ps_args(void)'),
    cmd_ln_parse_r: sb.func(
      'void *cmd_ln_parse_r(void *inout, void *defn, int32_t argc, const char **argv, int32_t strict)',
    ),
    cmd_ln_free_r: sb.func('int cmd_ln_free_r(void *config)'),
    cmd_ln_set_float_r: sb.func('void cmd_ln_set_float_r(void *config, const char *name, double value)'),
    cmd_ln_float_r: sb.func('double cmd_ln_float_r(void *config, const char *name)'),
    ps_init: ps.func('void *ps_init(void *config)'),
    ps_free: ps.func('int ps_free(void *ps)'),
    ps_get_config: ps.func('void *ps_get_config(void *ps)'),
    ps_set_jsgf_string: ps.func('int ps_set_jsgf_string(void *ps, const char *name, const char *jsgf)'),
    ps_set_search: ps.func('int ps_set_search(void *ps, const char *name)'),
    ps_get_search: ps.func('const char *ps_get_search(void *ps)'),
    ps_start_stream: ps.func('int ps_start_stream(void *ps)'),
    ps_start_utt: ps.func('int ps_start_utt(void *ps)'),
    ps_process_raw: ps.func(
      'int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)',
    ),
    ps_end_utt: ps.func('int ps_end_utt(void *ps)'),
    ps_get_hyp: ps.func('const char *ps_get_hyp(void *ps, _Out_ int32_t *score)'),
    ps_seg_iter: ps.func('void *ps_seg_iter(void *ps)'),
    ps_seg_next: ps.func('void *ps_seg_next(void *seg)'),
    ps_seg_word: ps.func('const char *ps_seg_word(void *seg)'),
    ps_seg_frames: ps.func('void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)'),
  } as Bindings;
  return bindings;
}

export interface NativeDecoderOptions {
  modelDir?: string;
}

/** A recognised word; frames are 10 ms, counted from the start of the utterance. */
export interface NativeSegment {
  word: string;
  startFrame: number;
  endFrame: number;
}

/** Word insertion penalty for grammar searches (default 0.65): stops "zero" turning into "zero oh". */
const GRAMMAR_WIP = 0.05;

/** One pocketsphinx decoder (~90 MB: acoustic model, dictionary and LM are not shared). */
export class NativeDecoder {
  private ps: Pointer | undefined;
  private readonly config: Pointer;
  private readonly lib: Bindings;
  /** Name of the n-gram search created by ps_init ("_default" in 5prealpha). */
  readonly lmSearch: string;

  constructor(options: NativeDecoderOptions = {}) {
    this.lib = load();
    const dir = options.modelDir ?? DEFAULT_MODEL_DIR;
    const hmm = join(dir, 'en-us');
    const lm = join(dir, 'en-us.lm.bin');
    const dict = join(dir, 'cmudict-en-us.dict');
    for (const path of [hmm, lm, dict]) {
      if (!existsSync(path))
        throw new Error(`pocketsphinx model file ${path} is missing; install it with: ${APT_HINT}`);
    }
    // Single pass (no flat-lexicon rescoring, no lattice best path): final 3-13 ms after end of speech
    // instead of 70 ms-1.3 s, for a small accuracy cost.
    const argv = [
      '-hmm',
      hmm,
      '-lm',
      lm,
      '-dict',
      dict,
      '-fwdflat',
      'no',
      '-bestpath',
      'no',
      '-logfn',
      '/dev/null',
    ];
    const config = this.lib.cmd_ln_parse_r(null, this.lib.ps_args(), argv.length, argv, 1);
    if (!config) throw new Error('pocketsphinx rejected its configuration');
    this.config = config;
    const ps = this.lib.ps_init(config);
    if (!ps) {
      this.lib.cmd_ln_free_r(config);
      throw new Error(`pocketsphinx could not load its model from ${dir}`);
    }
    this.ps = ps;
    this.lmSearch = this.lib.ps_get_search(ps) ?? '_default';
  }

  /** Compiles a JSGF grammar into a named search. Searches read the penalty when they are built. */
  addGrammar(name: string, jsgf: string): void {
    const ps = this.handle();
    const config = this.lib.ps_get_config(ps);
    const wip = this.lib.cmd_ln_float_r(config, '-wip');
    this.lib.cmd_ln_set_float_r(config, '-wip', GRAMMAR_WIP);
    try {
      if (this.lib.ps_set_jsgf_string(ps, name, jsgf) < 0)
        throw new Error(`pocketsphinx rejected grammar ${name}`);
    } finally {
      this.lib.cmd_ln_set_float_r(config, '-wip', wip);
    }
  }

  /**
   * Starts an utterance with the given search. Restarting the stream makes segment frames count from
   * this utterance's first sample (the caller adds the session offset).
   */
  startUtterance(search: string): void {
    const ps = this.handle();
    if (this.lib.ps_set_search(ps, search) < 0) throw new Error(`pocketsphinx has no search ${search}`);
    this.lib.ps_start_stream(ps);
    if (this.lib.ps_start_utt(ps) < 0) throw new Error('ps_start_utt failed');
  }

  process(pcm: Int16Array): void {
    if (this.lib.ps_process_raw(this.handle(), pcm, pcm.length, 0, 0) < 0)
      throw new Error('ps_process_raw failed');
  }

  /** Current best hypothesis ("" when nothing recognised yet). */
  hypothesis(): string {
    return this.lib.ps_get_hyp(this.handle(), [0]) ?? '';
  }

  endUtterance(): void {
    if (this.lib.ps_end_utt(this.handle()) < 0) throw new Error('ps_end_utt failed');
  }

  /** Words of the last hypothesis with their frames; fillers and silences are left out. */
  segments(): NativeSegment[] {
    const out: NativeSegment[] = [];
    const start = [0];
    const end = [0];
    // ps_seg_next frees the iterator when it returns null, so a full walk needs no ps_seg_free.
    for (let seg = this.lib.ps_seg_iter(this.handle()); seg; seg = this.lib.ps_seg_next(seg)) {
      const word = this.lib.ps_seg_word(seg);
      if (!word || word.startsWith('<') || word.startsWith('[') || word === '(NULL)') continue;
      this.lib.ps_seg_frames(seg, start, end);
      out.push({ word: word.replace(/\(\d+\)$/, ''), startFrame: start[0], endFrame: end[0] });
    }
    return out;
  }

  free(): void {
    if (this.ps === undefined) return;
    this.lib.ps_free(this.ps);
    this.lib.cmd_ln_free_r(this.config);
    this.ps = undefined;
  }

  private handle(): Pointer {
    if (this.ps === undefined) throw new Error('pocketsphinx decoder already freed');
    return this.ps;
  }
}
