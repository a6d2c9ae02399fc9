// Jest transform for the @echogarden emscripten builds (ESM only). Node itself loads them with
// require(esm); Jest's CommonJS runtime needs them rewritten the way Node would see them
// (`module.require`, because the emscripten code declares its own `var require` in that scope).
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');

const SELF = readFileSync(__filename, 'utf8');

module.exports = {
  process(source) {
    const code = source
      .replace(/import\.meta\.url/g, 'module.require("url").pathToFileURL(__filename).href')
      .replace(/await import\(("module"|'module')\)/g, 'module.require("module")')
      .replace(/export default (\w+);?/, 'module.exports = { __esModule: true, default: $1 };');
    return { code };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(SELF).update(filename).update(source).digest('hex');
  },
};
