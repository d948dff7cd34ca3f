// ESLint (flat config): the recommended JavaScript and typescript-eslint rules over every TypeScript file;
// formatting is Prettier's (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (express's 4-argument error handlers, skipped tuple slots).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Input validation matches control characters on purpose, to refuse them (names, addresses, queries).
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/demo-*.ts'],
    rules: {
      // Tests and demos read a few fields of loosely typed JSON answers.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
