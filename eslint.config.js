// ESLint over src/, test/ and bench/: the recommended JavaScript rules and typescript-eslint's type-checked
// recommended rules, with the few changes below (each says why).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'native/build/**', 'node_modules/**', 'eslint.config.js', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Interfaces such as Tun.close() and Bind.open() return promises; an implementation that happens to finish
      // synchronously (the in-memory ones, or a close that only releases an fd) is still correctly async.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter that an interface requires but this implementation does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
