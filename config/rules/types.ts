/** What a cross-key rule is: a function of the parsed config that reports problems at their keys. */
import type { ConfigShape } from "../schema";

export type { ConfigShape };

/** One problem: the path of the key it names, and what is wrong. */
export type RuleIssue = {
    code: "custom";
    path: (string | number)[];
    message: string;
};

/** Where a rule reports (zod's refinement context, or a collector in tests). */
export interface RuleContext {
    addIssue(issue: RuleIssue): void;
}

/**
 * A cross-key rule. Rules run even when a value failed a format check (zod reports those without
 * aborting), so a rule must not assume that every string is well formed.
 */
export type ConfigRule = (config: ConfigShape, ctx: RuleContext) => void;
