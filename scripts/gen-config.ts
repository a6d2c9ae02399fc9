import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEnvExample, renderReadmeTable, valuesSchemaFragments } from './config-docs';

// Regenerates .env.example, the README configuration table and the Helm values-schema fragments.
const root = join(__dirname, '..');

writeFileSync(join(root, '.env.example'), renderEnvExample());

const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf('<!-- config-table:start -->');
const endMarker = '<!-- config-table:end -->';
const end = readme.indexOf(endMarker);
if (start < 0 || end < 0) throw new Error('README.md has no config-table markers');
writeFileSync(
  readmePath,
  readme.slice(0, start) + renderReadmeTable() + readme.slice(end + endMarker.length),
);

const schemaPath = join(root, 'helm', 'voxline', 'values.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as {
  properties: { config: unknown; secrets: { properties: { keys: unknown } } };
};
const fragments = valuesSchemaFragments();
schema.properties.config = fragments.config;
schema.properties.secrets.properties.keys = fragments.secretKeys;
writeFileSync(schemaPath, `${JSON.stringify(schema, null, 2)}\n`);
console.error('regenerated .env.example, README.md configuration table, helm/voxline/values.schema.json');
