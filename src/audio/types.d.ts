// The @echogarden emscripten builds ship no type declarations.
declare module '@echogarden/speex-resampler-wasm/simd' {
  const factory: () => Promise<unknown>;
  export default factory;
}
declare module '@echogarden/fvad-wasm' {
  const factory: () => Promise<unknown>;
  export default factory;
}
declare module '@echogarden/espeak-ng-emscripten' {
  const factory: (options?: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
