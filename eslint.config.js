// Lint rules for the whole repository. The layering rules are the point of this file:
// layers import only downward (see CONTRIBUTING.md), and the build fails when one doesn't.
import tseslint from 'typescript-eslint';

const server = 'packages/server/src';
const serverLayers = ['core', 'store', 'images', 'net', 'drivers', 'api', 'daemon'];
// What each server layer may NOT import (everything above it, and its siblings).
const forbidden = {
  core: ['store', 'images', 'net', 'drivers', 'api', 'daemon'],
  store: ['images', 'net', 'drivers', 'api', 'daemon'],
  images: ['store', 'net', 'drivers', 'api', 'daemon'],
  net: ['store', 'images', 'drivers', 'api', 'daemon'],
  drivers: ['store', 'images', 'net', 'api', 'daemon'],
  api: ['daemon'],
  daemon: [],
};

// Server layers import each other by relative path ('../store/db.js'); a folder name in the
// path is what identifies the layer, so a pattern per forbidden folder is enough.
const layerRule = (layer) => ({
  files: [`${server}/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        ...forbidden[layer].map((above) => ({
          group: [`**/${above}/*`, `**/${above}/**`, `../${above}`, `../../${above}`],
          message: `layer '${layer}' may not import '${above}': layers import only downward (CONTRIBUTING.md)`,
        })),
        ...shedPackages(['protocol']),
      ],
    }],
  },
});

const pkgs = ['protocol', 'server', 'sdk', 'cli'];
const shedPackages = (allowed) =>
  pkgs.filter((p) => !allowed.includes(p)).map((p) => ({
    group: [`@shed/${p}`, `@shed/${p}/*`],
    message: `this package may import only ${allowed.map((a) => '@shed/' + a).join(', ') || 'no other shed package'}`,
  }));
const onlyPackages = (allowed) => ({ 'no-restricted-imports': ['error', { patterns: shedPackages(allowed) }] });

export default tseslint.config(
  { ignores: ['**/dist/**', 'build/**', 'node_modules/**', 'agent/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error',
        { selector: 'ExportAllDeclaration', message: 'name exports explicitly (no export *)' },
        { selector: "CatchClause > Identifier[typeAnnotation.typeAnnotation.type='TSAnyKeyword']", message: 'catch (e: any) is not the error model' },
      ],
    },
  },
  { files: ['packages/protocol/**'], rules: onlyPackages([]) },
  { files: ['packages/sdk/**'], rules: onlyPackages(['protocol']) },
  { files: ['packages/cli/**'], rules: onlyPackages(['sdk']) },
  { files: ['packages/server/**'], rules: onlyPackages(['protocol']) },
  // After the package rule, so a layer's own rule (which repeats the package patterns) wins.
  ...serverLayers.map(layerRule),
);
