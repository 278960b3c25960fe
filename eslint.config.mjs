// Import layers of src/, one folder each, lowest first. A folder may import its own files and
// the folders of lower-numbered rows; folders of one row may not import each other.
// scripts/check-imports.js enforces this table (its LAYERS) and refuses import cycles, in CI
// (scripts/test.sh) and in `npm run lint`. It is not an eslint rule because it must also see
// lazy `require()` and `import()`, which no-restricted-imports does not, and cycles, which need
// eslint-plugin-import.
//
//   0  units, errors          byte units; the error taxonomy and the exit codes it maps to
//   1  config, directives     etcd settings; #DW/#BB parsing (pure)
//   2  logging, metrics       log files and levels; the Prometheus endpoint: usable from keystore up
//   3  keystore               the Keystore interface and its etcd and in-memory stores
//   4  registry               the domain model (records, buffer paths, pool views) and its API
//   5  lifecycle, pfsprovider Slurm steps and waiting for dacd; filesystem providers (which
//                             take registry records, and need no lifecycle rule)
//   6  dacd, cli              the entry points: the daemon and the CLI programs
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.run/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    // dacd reaches etcd only through the registry (its watches, claims and writes): only its
    // main builds the EtcdKeystore, and hands it to the Registry.
    files: ['src/dacd/**/*.ts'],
    ignores: ['src/dacd/main.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/keystore/*'],
              message: 'dacd uses the Registry (src/registry/registry.ts), not the keystore',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain CommonJS scripts (CI helpers, test worker processes).
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-console': 'off' },
  },
);
