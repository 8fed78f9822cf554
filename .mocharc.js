// Test files run in parallel worker processes (each runs the program under its own mock runtime,
// so nothing is shared but the on-disk cache, which is written atomically). At least two workers:
// Mocha's default (cores - 1) would be one on a two-core runner.
const os = require("node:os");

module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    // Integration tests (the program under the mock runtime, real renders, the tools' CLIs) in test/; unit tests of a
    // pure module next to it (test/layout.test.ts checks both).
    spec: [
        "test/**/*.test.ts",
        "config/**/*.test.ts",
        "lib/**/*.test.ts",
        "tools/**/*.test.ts",
        "cluster/**/*.test.ts",
    ],
    timeout: 30000,
    slow: 3000,
    parallel: true,
    jobs: Math.max(2, os.cpus().length - 1),
};
