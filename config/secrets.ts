/**
 * Config marked secret stays secret all the way to resource inputs. The config is read as plain
 * data (it drives the plan); every string under a key marked secret is then re-wrapped as a
 * Pulumi secret wherever it reaches a resource input, annotations and chart values included,
 * by one resource transform registered for the whole stack.
 */
import * as pulumi from "@pulumi/pulumi";

/** Values this short (e.g. "true", "1") are too common to be told apart from non-secret text. */
const MIN_SECRET_LENGTH = 4;

/** Every string leaf under the given top-level config keys (as the stack holds them). */
export function secretConfigStrings(stackValues: Record<string, unknown>, secretKeys: readonly string[]): string[] {
    const found = new Set<string>();
    const walk = (node: unknown) => {
        if (typeof node === "string") {
            if (node.length >= MIN_SECRET_LENGTH) found.add(node);
        } else if (node !== null && typeof node === "object") {
            for (const child of Object.values(node)) walk(child);
        }
    };
    for (const key of secretKeys) walk(stackValues[key]);
    return [...found];
}

/** Marks every string of `value` that contains a secret as a secret; returns undefined when none does. */
export function markSecrets(value: unknown, secrets: readonly string[]): { value: unknown; changed: boolean } {
    let changed = false;
    const walk = (node: unknown): unknown => {
        if (typeof node === "string") {
            if (secrets.some((secret) => node.includes(secret))) {
                changed = true;
                return pulumi.secret(node);
            }
            return node;
        }
        if (pulumi.Output.isInstance(node)) return node;
        if (Array.isArray(node)) return node.map(walk);
        if (node !== null && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
        return node;
    };
    const result = walk(value);
    return { value: result, changed };
}

/** A stack-wide resource transform keeping secret config values secret in every resource's inputs. */
export function keepConfigSecrets(secrets: readonly string[]): pulumi.ResourceTransform {
    return (args) => {
        const { value, changed } = markSecrets(args.props, secrets);
        return changed ? { props: value as Record<string, unknown>, opts: args.opts } : undefined;
    };
}
