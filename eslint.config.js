import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.tributary/**', 'coverage/**', 'bench/.out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      'no-console': 'error',
    },
  },
  {
    // One room per feature: a module reaches another only through its `.module.ts` service and
    // types, never its repository, so each table is read and written by the module that owns it.
    files: ['apps/server/src/modules/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*/*.repo.js', '../*/*.repo'],
              message: "Another module's repository is private: use its service (see modules/module.ts).",
            },
          ],
        },
      ],
    },
  },
  {
    // The HTTP layer mounts what the modules offer and imports none of them.
    files: ['apps/server/src/http/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../modules/*/*', '../../modules/*/*'],
              message: 'http/ imports no module: modules hand their routes over in their manifests.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests and benchmarks read untyped JSON responses; strictness there buys casts, not safety.
    files: ['**/*.test.ts', 'apps/*/test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      'no-console': 'off',
    },
  },
  { files: ['*.js', '*.config.ts', 'apps/*/bin/*.js'], ...tseslint.configs.disableTypeChecked },
)
