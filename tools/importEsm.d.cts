/** Types of tools/importEsm.cjs. */
export declare function importEsm(specifier: string): Promise<Record<string, any>>;
