/** Types of cluster/contract.cjs: the names come from contract.json itself, so neither side can name one the other does not know. */
type Data = typeof import("./contract.json");

/** A task of the script. */
export type Task = keyof Data["tasks"];
/** A variable a Job hands the script. */
export type VariableName = keyof Data["variables"];
/** A test hook no Job sets. */
export type OverrideName = keyof Data["overrides"];

export declare const about: Data["about"];
export declare const tasks: Data["tasks"];
export declare const variables: Data["variables"];
export declare const overrides: Data["overrides"];
export declare const annotations: Data["annotations"];
export declare const partOf: Data["partOf"];
export declare const meshPolicies: Data["meshPolicies"];

/** Every task, in the order the script runs them. */
export declare const TASK_NAMES: readonly Task[];
/** Tasks that restart something: each needs the certificate check in the same run. */
export declare const RESTARTING_TASKS: readonly Task[];

export declare class ContractError extends Error {}

/** Every variable a run of these tasks reads, in the contract's order. */
export declare function variablesFor(tasks: readonly string[]): VariableName[];

/** The run's settings from an environment; throws a ContractError naming a missing or malformed value. */
export declare function read(env: Readonly<Record<string, string | undefined>>): { tasks: Task[]; values: Record<string, unknown> };
