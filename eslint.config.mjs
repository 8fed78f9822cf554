// Lint: ESLint's and typescript-eslint's recommended rules, the type-aware ones on TypeScript; formatting is Prettier's (npm run format).
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
        // Type-aware rules, on the TypeScript sources (tsconfig.json's project). Promises are handed
        // around as dependencies here (settled records, readiness): one not awaited, or given where a
        // callback's result is ignored, would let a failure pass unseen.
        files: ["**/*.ts"],
        extends: [tseslint.configs.recommendedTypeCheckedOnly],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        rules: {
            "@typescript-eslint/no-floating-promises": [
                "error",
                {
                    // pulumi.log.* returns a promise that never rejects (a failed delivery goes to stderr) and keeps
                    // the run alive until the engine has the message (pulumi v3.259.0 sdk/nodejs/log/index.ts, `log`:
                    // rpcKeepAlive, lastLog.catch; the same in the installed 3.270.0): a message is sent, never awaited.
                    allowForKnownSafeCalls: [
                        { from: "package", package: "@pulumi/pulumi", name: ["debug", "info", "warn", "error"] },
                    ],
                },
            ],
            // Untyped JSON (Kubernetes objects, chart values) is `any` on purpose (no-explicit-any is off above):
            // these rules would flag every read of it.
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
    {
        // CommonJS helpers loaded by tools (the fake kubectl is a string, not a file).
        files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    prettier,
);
