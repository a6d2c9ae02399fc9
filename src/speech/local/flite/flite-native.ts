import * as koffi from 'koffi';

/**
 * koffi bindings to Debian's libflite (package libflite1, pulled in by `flite`). Only the flite worker
 * synthesizes (the main thread at most checks that the libraries load): `flite_text_to_wave` is synchronous native code taking 10–50 ms per clause, which
 * the main event loop must never wait for. In process, a clause costs only the synthesis itself — no
 * process start, voice load or temp file, which were a third of the CLI's time to first audio.
 */

export const FLITE_APT_HINT = 'apt-get install flite';

/** Debian's 16 kHz flite voices, by the name the voice catalogue uses (kal, at 8 kHz, is left out). */
export const FLITE_VOICES = ['slt', 'rms', 'awb', 'kal16'] as const;
export type FliteVoice = (typeof FLITE_VOICES)[number];

export function isFliteVoice(name: string): name is FliteVoice {
  return (FLITE_VOICES as readonly string[]).includes(name);
}

/** True when libflite and the default voice's library load (checked at boot to pick the local TTS). */
export function fliteInstalled(library = 'libflite.so.1'): boolean {
  try {
    koffi.load(library);
    koffi.load('libflite_cmu_us_slt.so.1');
    return true;
  } catch {
    return false;
  }
}

/** Native pointers are BigInts in koffi 3; null means the C call failed. */
type Pointer = bigint;

interface Bindings {
  flite_text_to_wave(text: string, voice: Pointer): Pointer | null;
  delete_wave(wave: Pointer): void;
  feat_own_string(features: Pointer, name: string): Pointer;
  flite_feat_set_float(features: Pointer, name: Pointer, value: number): void;
}

// Anonymous types: koffi's type names are process-wide, and Jest loads this module once per test file.
const Wave = koffi.struct({
  type: 'const char *',
  sample_rate: 'int',
  num_samples: 'int',
  num_channels: 'int',
  samples: 'void *',
});
/** The head of cst_voice: the voice's feature set is its second field. */
const Voice = koffi.struct({ name: 'const char *', features: 'void *' });

export interface FliteWave {
  /** A fresh copy of the samples (owned by JS, transferable). */
  pcm: Int16Array;
  sampleRate: number;
}

/** libflite with its voices registered on first use. One instance per worker thread. */
export class NativeFlite {
  private readonly lib: Bindings;
  private readonly voices = new Map<FliteVoice, { voice: Pointer; features: Pointer; stretchKey: Pointer }>();
  /**
   * The loaded libraries. koffi unloads a library whose handle is garbage-collected, and a voice's
   * data (feature names included) lives in its library: losing the handle crashes the next synthesis.
   */
  private readonly libraries: koffi.LibraryHandle[] = [];
  private readonly srand: (seed: number) => void;

  constructor(library = 'libflite.so.1') {
    let lib: koffi.LibraryHandle;
    try {
      // By soname, so the dynamic linker finds the packaged library wherever the distribution puts it.
      lib = koffi.load(library);
    } catch (err) {
      throw new Error(
        `libflite is not installed (${(err as Error).message}); install it with: ${FLITE_APT_HINT}`,
        {
          cause: err,
        },
      );
    }
    this.libraries.push(lib);
    const init = lib.func('int flite_init(void)');
    const libc = koffi.load('libc.so.6');
    this.libraries.push(libc);
    this.srand = libc.func('void srand(unsigned int seed)') as (seed: number) => void;
    this.lib = {
      flite_text_to_wave: lib.func('void *flite_text_to_wave(const char *text, void *voice)'),
      delete_wave: lib.func('void delete_wave(void *w)'),
      feat_own_string: lib.func('void *feat_own_string(void *f, const char *name)'),
      // The name is a pointer: a feature set keeps the name's pointer, not a copy, so it must outlive
      // the call (koffi's temporary string would not; the voice would then ignore the feature).
      flite_feat_set_float: lib.func('void flite_feat_set_float(void *f, void *name, float v)'),
    };
    init();
  }

  /** Loads and registers a voice (its own shared library); later calls reuse it. */
  voice(name: FliteVoice): { voice: Pointer; features: Pointer; stretchKey: Pointer } {
    const known = this.voices.get(name);
    if (known) return known;
    let lib: koffi.LibraryHandle;
    try {
      lib = koffi.load(`libflite_cmu_us_${name}.so.1`);
    } catch (err) {
      throw new Error(
        `the flite voice ${name} is not installed (${(err as Error).message}); ${FLITE_APT_HINT}`,
        {
          cause: err,
        },
      );
    }
    this.libraries.push(lib);
    const register = lib.func(`void *register_cmu_us_${name}(const char *voxdir)`) as (
      voxdir: null,
    ) => Pointer | null;
    const voice = register(null);
    if (!voice) throw new Error(`the flite voice ${name} failed to register`);
    const { features } = koffi.decode(voice, Voice) as { features: Pointer };
    // Owned by the voice's feature set, so it lives as long as the voice.
    const entry = { voice, features, stretchKey: this.lib.feat_own_string(features, 'duration_stretch') };
    this.voices.set(name, entry);
    return entry;
  }

  /** Synthesizes one unit of text. `durationStretch` > 1 speaks slower. */
  synthesize(text: string, voiceName: FliteVoice, durationStretch = 1): FliteWave {
    const { voice, features, stretchKey } = this.voice(voiceName);
    // A voice feature: set on every call, so one request's rate never leaks into the next.
    this.lib.flite_feat_set_float(features, stretchKey, durationStretch);
    // The voices' excitation noise comes from libc's rand(): reseeded, a text sounds the same every
    // time, as it did when each synthesis was a fresh flite process (reproducible tests and caches).
    this.srand(1);
    const wave = this.lib.flite_text_to_wave(text, voice);
    if (!wave) throw new Error('flite_text_to_wave failed');
    try {
      const head = koffi.decode(wave, Wave) as {
        sample_rate: number;
        num_samples: number;
        num_channels: number;
        samples: Pointer | null;
      };
      if (head.num_channels !== 1) throw new Error(`flite produced ${head.num_channels} channels`);
      const pcm = new Int16Array(head.num_samples);
      if (head.num_samples > 0 && head.samples) {
        pcm.set(koffi.decode(head.samples, 'int16_t', head.num_samples) as Int16Array);
      }
      return { pcm, sampleRate: head.sample_rate };
    } finally {
      this.lib.delete_wave(wave);
    }
  }
}
