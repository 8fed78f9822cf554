// Lint: ESLint's and typescript-eslint's recommended rules; formatting is Prettier's (npm run format).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", ".cache/", "bin/", "test/fixtures/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: {
            globals: {
                console: "readonly",
                process: "readonly",
                require: "readonly",
                module: "readonly",
                __dirname: "readonly",
                Buffer: "readonly",
                URL: "readonly",
                URLSearchParams: "readonly",
                fetch: "readonly",
                AbortSignal: "readonly",
                SharedArrayBuffer: "readonly",
                Atomics: "readonly",
                Int32Array: "readonly",
                setTimeout: "readonly",
                clearTimeout: "readonly",
                structuredClone: "readonly",
            },
        },
        rules: {
            // Kubernetes objects and chart values are untyped JSON: `any` is the honest type there.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
    {
        // CommonJS helpers loaded by tools (the fake kubectl is a string, not a file).
        files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    prettier,
);
