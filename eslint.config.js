// Lint rules for the whole repository. The layering rules are the point of this file:
// layers import only downward (see CONTRIBUTING.md), and the build fails when one doesn't.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

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

const zones = serverLayers.flatMap((layer) =>
  forbidden[layer].map((above) => ({
    target: `./${server}/${layer}`,
    from: `./${server}/${above}`,
    message: `layer '${layer}' may not import '${above}': layers import only downward (CONTRIBUTING.md)`,
  })),
);

const onlyPackages = (allowed, all) => ({
  'no-restricted-imports': ['error', {
    patterns: all.filter((p) => !allowed.includes(p)).map((p) => ({
      group: [`@shed/${p}`, `@shed/${p}/*`],
      message: `this package may import only ${allowed.map((a) => '@shed/' + a).join(', ') || 'no other shed package'}`,
    })),
  }],
});
const pkgs = ['protocol', 'server', 'sdk', 'cli'];

export default tseslint.config(
  { ignores: ['**/dist/**', 'build/**', 'node_modules/**', 'agent/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error',
        { selector: 'ExportAllDeclaration', message: 'name exports explicitly (no export *)' },
        { selector: "CatchClause > Identifier[typeAnnotation.typeAnnotation.type='TSAnyKeyword']", message: 'catch (e: any) is not the error model' },
      ],
    },
  },
  { files: ['packages/protocol/**'], rules: onlyPackages([], pkgs) },
  { files: ['packages/sdk/**'], rules: onlyPackages(['protocol'], pkgs) },
  { files: ['packages/cli/**'], rules: onlyPackages(['sdk'], pkgs) },
  { files: ['packages/server/**'], rules: onlyPackages(['protocol'], pkgs) },
);
