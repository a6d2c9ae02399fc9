// e2e tests run the built service and CLI (dist/). `npm test` builds first; when a developer runs the
// e2e project alone, build here if dist/ is missing.
const { existsSync } = require('node:fs');
const { execSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  const root = join(__dirname, '..', '..');
  if (!existsSync(join(root, 'dist', 'main.js')) || !existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    execSync('npm run build', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
};
