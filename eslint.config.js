import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The core must stay framework-free (design card: core <- adapters <- entry points).
    files: ['server-extension/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['express', 'socket.io', 'mongoose'] }],
    },
  },
  {
    // The LibreChat plugin uses the server extension only through its public entry (server-extension/src/index.ts).
    files: ['librechat-plugin/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/server-extension/**', '@solaris/server-extension/*'] }],
    },
  },
  {
    // Rules of hooks + exhaustive deps (the React Compiler rules of v7's "recommended" are left out: no compiler here).
    files: ['client-components/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    // The client imports no server code: only @solaris/wire is shared.
    files: ['client-components/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@solaris/server-extension*', '**/server-extension/**'] }],
    },
  },
);
