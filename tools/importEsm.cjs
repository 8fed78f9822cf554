/**
 * A real dynamic import, for the ES modules the tools load (kubernetes-models is ESM-only):
 * TypeScript's CommonJS output turns `import()` into `require()`, which Node 20 cannot use on an ES
 * module. A .cjs file is loaded as it is written.
 */
module.exports = { importEsm: (specifier) => import(specifier) };
