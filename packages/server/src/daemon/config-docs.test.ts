// The documentation of shedd's settings stays true: the example file parses, and
// docs/config.md names every key the schema accepts.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseConfigText } from './config-file.js';
import { ConfigFileSchema } from './config-schema.js';

// dist/daemon/config-docs.test.js → the repository root is four levels up.
const DOCS = fileURLToPath(new URL('../../../../docs/', import.meta.url));

/** Every key path of the schema: top-level keys, section keys as section.key, named tables as section.<name>.key. */
function keyPaths(): string[] {
  return Object.entries(ConfigFileSchema.properties).flatMap(([k, v]) => {
    // A section is an object schema; a table of named entries ([pools.NAME]) a record, whose entry schema sits in patternProperties.
    const schema = v as { properties?: Record<string, unknown>; patternProperties?: Record<string, { properties?: Record<string, unknown> }> };
    const entry = Object.values(schema.patternProperties ?? {})[0]?.properties;
    if (entry !== undefined) return Object.keys(entry).map((p) => `${k}.<name>.${p}`);
    return schema.properties === undefined ? [k] : Object.keys(schema.properties).map((p) => `${k}.${p}`);
  });
}

describe('config docs', () => {
  it('docs/shedd.example.toml parses and validates', async () => {
    const c = parseConfigText(await readFile(`${DOCS}shedd.example.toml`, 'utf8'), 'docs/shedd.example.toml');
    assert.equal(c.socketMode, 0o660);
    assert.equal(c.tcp, '127.0.0.1:7420');
    assert.equal(c.container?.runtime, 'auto');
    assert.equal(c.images?.maxCacheBytes, 20 * 1024 ** 3);
    assert.deepEqual({ ...c.idMap }, { hostId: 100_000, size: 65_536 }); // smol-toml's tables have no prototype
    assert.equal(c.pools?.['py']?.targetFree, 2);
  });

  it('docs/config.md documents every key', async () => {
    const md = await readFile(`${DOCS}config.md`, 'utf8');
    const missing = keyPaths().filter((k) => !md.includes(`\`${k}\``));
    assert.deepEqual(missing, []);
  });
});
