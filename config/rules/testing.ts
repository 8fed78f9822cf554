/**
 * Test helpers for the rules: a valid parsed config to start from, and the issues a rule reports
 * on it. Used by the co-located `*.test.ts` files only.
 */
import deepmerge from "deepmerge";
import { MERGE_OPTIONS, mergeLayers } from "../merge";
import { configObject, Target } from "../schema";
import type { ConfigRule, ConfigShape, RuleIssue } from "./types";

/**
 * A config as `configObject` parses the target's defaults and preset, with `overrides` (a nested
 * partial, merged like a stack's values) on top; mutable, for a test to change further.
 */
export function validConfig(target: Target = "k3s", overrides: Record<string, unknown> = {}): ConfigShape {
    const stack = deepmerge({ target, cluster: { context: "test" } }, overrides, MERGE_OPTIONS);
    return configObject.parse(mergeLayers(target, stack));
}

/** What a rule reports on a config, as [dotted path, message] pairs. */
export function issuesOf(rule: ConfigRule, config: ConfigShape): [string, string][] {
    const issues: RuleIssue[] = [];
    rule(config, { addIssue: (issue) => issues.push(issue) });
    return issues.map((issue) => [issue.path.join("."), issue.message]);
}
