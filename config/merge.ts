/**
 * How the layers of config merge: defaults <- the target's preset <- the stack's values. Objects
 * merge key by key, but a list, or a map of labels or annotations, is replaced whole by the layer
 * above (a stack's pod selector must not keep the preset's labels).
 */
import deepmerge from "deepmerge";
import { DEFAULTS, TARGET_PRESETS } from "./presets";
import type { Target } from "./schema";

const REPLACED_MAPS = new Set(["podSelector", "authAnnotations", "ruleLabels"]);
export const MERGE_OPTIONS: deepmerge.Options = {
    arrayMerge: (_previous, next) => next,
    customMerge: (key) => (REPLACED_MAPS.has(key) ? (_previous: unknown, next: unknown) => next : undefined),
};

/** The defaults merged with a target's preset (the defaults alone without a target): what a stack gets without a value of its own. */
export function presetFor(target: Target | undefined): Record<string, unknown> {
    return deepmerge.all([DEFAULTS, ...(target ? TARGET_PRESETS[target] : [])], MERGE_OPTIONS) as Record<
        string,
        unknown
    >;
}

/** Defaults <- the target's preset <- the stack's values. */
export function mergeLayers(target: Target, stackValues: Record<string, unknown>): Record<string, unknown> {
    return deepmerge.all([DEFAULTS, ...TARGET_PRESETS[target], stackValues], MERGE_OPTIONS) as Record<string, unknown>;
}

/** The value at a path of keys, or undefined. */
export function valueAt(root: unknown, path: readonly string[]): unknown {
    let node = root;
    for (const segment of path) {
        if (node === null || typeof node !== "object" || !Object.prototype.hasOwnProperty.call(node, segment))
            return undefined;
        node = (node as Record<string, unknown>)[segment];
    }
    return node;
}
