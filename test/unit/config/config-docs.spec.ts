import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../../../src/config';
import { renderEnvExample, renderReadmeTable, valuesSchemaFragments } from '../../../scripts/config-docs';

const root = join(__dirname, '..', '..', '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

// `npm run gen:config` rewrites all three from the schema; these tests fail when someone forgets.
describe('configuration documentation stays in step with the schema', () => {
  it('.env.example lists every setting exactly as generated', () => {
    expect(read('.env.example')).toBe(renderEnvExample());
    for (const s of SETTINGS) expect(read('.env.example')).toMatch(new RegExp(`^#? ?${s.name}=`, 'm'));
  });

  it('the README configuration table lists every setting exactly as generated', () => {
    const readme = read('README.md');
    const start = readme.indexOf('<!-- config-table:start -->');
    const end = readme.indexOf('<!-- config-table:end -->');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(readme.slice(start, end + '<!-- config-table:end -->'.length)).toBe(renderReadmeTable());
  });

  it('the Helm values schema accepts exactly the non-secret settings in config and the secret ones as secret keys', () => {
    const schema = JSON.parse(read('helm/voxline/values.schema.json')) as {
      properties: { config: unknown; secrets: { properties: { keys: unknown } } };
    };
    const expected = valuesSchemaFragments();
    expect(schema.properties.config).toEqual(expected.config);
    expect(schema.properties.secrets.properties.keys).toEqual(expected.secretKeys);
  });
});
