/**
 * Config marked secret stays secret. Pulumi marks secrecy per top-level key: a value set with
 * `pulumi config set --secret --path viz.dashboard.ingress.host …` makes all of `akko-mtls:viz`
 * secret to the program (pulumi sdk/go/common/resource/config v3.259.0: `Map.SecureKeys` lists a
 * key whose object holds any `secure` value, and the engine hands the program those keys,
 * pkg/resource/deploy/source_eval.go `configSecretKeys`). The program reads its config as plain
 * data (it drives the plan), so what must stay secret is decided here:
 *
 * - the secret texts: every string the stack file holds under a key marked secret, except the
 *   choices of an enumeration (`bundled`, `strict`: what they choose is visible in the plan
 *   anyway). Booleans and numbers shape the plan (which objects exist, how many replicas) and are
 *   not hidden. Values from the defaults and presets are public (they are in this repository);
 * - where they may go: every resource input that contains one is re-wrapped as a Pulumi secret by
 *   one stack-wide transform; outputs built from a secret key are secrets; warnings and errors
 *   show `[secret]` in their place;
 * - where they may not go: Pulumi names, URNs and Kubernetes object names and namespaces (the
 *   provider's resource IDs) are kept in the open in Pulumi state. A key whose text would name a
 *   resource is refused ({@link secretNameProblems} in config/index.ts).
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Values this short (e.g. "7d", "on", "1") are too common to be told apart from non-secret text
 * inside a longer text. A secret text shorter than this is accepted, not refused: Pulumi marks a
 * whole top-level key secret, so such texts are the key's ordinary settings (`viz.prometheus.
 * retention: 7d` beside a secret dashboard host), not secrets anyone chose (and a secret of 1–3
 * characters would be no secret). They follow two rules, each erring on its safe side:
 * - inputs and outputs ({@link ConfigSecrets.contains}, {@link ConfigSecrets.mark}): a string is
 *   marked secret when it is the short text itself, not when it merely contains it (else nearly
 *   every string would be, "7d" being in "17d" and "on" in every other word);
 * - messages ({@link ConfigSecrets.redact}): the short text is replaced wherever it stands alone
 *   as a word, so a refusal never quotes it; a message may then show `[secret]` for an unrelated
 *   word equal to it, which costs some clarity and leaks nothing.
 */
export const MIN_SECRET_LENGTH = 4;

/** The text shown in place of a secret value. */
export const REDACTED = "[secret]";

import type { ConfigPath } from "./configPath";

/** Every string leaf under the given top-level config keys (as the stack holds them), with its path. */
function stringLeaves(stackValues: Record<string, unknown>, secretKeys: readonly string[]): [ConfigPath, string][] {
    const found: [ConfigPath, string][] = [];
    const walk = (node: unknown, path: (string | number)[]) => {
        if (typeof node === "string") found.push([path, node]);
        else if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...path, i]));
        else if (node !== null && typeof node === "object")
            for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    };
    for (const key of secretKeys) walk(stackValues[key], [key]);
    return found;
}

/**
 * What the stack marked secret, and the program's one way to keep it so: which keys, which texts,
 * and the redaction and marking every message and output goes through.
 */
export class ConfigSecrets {
    /** No key marked secret. */
    static readonly none = new ConfigSecrets([], []);

    /**
     * The secrets of a stack's values: `secretKeys` are the top-level keys marked secret; `isChoice`
     * says whether a path is an enumeration's (whose value is not a secret text).
     */
    static from(
        stackValues: Record<string, unknown>,
        secretKeys: readonly string[],
        isChoice: (path: ConfigPath) => boolean = () => false,
    ): ConfigSecrets {
        const texts = stringLeaves(stackValues, secretKeys)
            .filter(([path, text]) => text.length > 0 && !isChoice(path))
            .map(([, text]) => text);
        return new ConfigSecrets(secretKeys, texts);
    }

    /** The secret texts, longest first (a secret inside another is redacted with it). */
    readonly texts: readonly string[];

    private constructor(
        /** Top-level keys marked secret, without the namespace (`viz`). */
        readonly keys: readonly string[],
        texts: readonly string[],
    ) {
        this.texts = [...new Set(texts)].sort((a, b) => b.length - a.length || a.localeCompare(b));
    }

    /** Whether the key at `path` (top-level key first) is under a key marked secret. */
    isSecretPath(path: ConfigPath): boolean {
        return path.length > 0 && this.keys.includes(String(path[0]));
    }

    /** Whether a stack value at `path` is one of the secret texts. */
    isSecretText(path: ConfigPath, value: unknown): boolean {
        return this.isSecretPath(path) && typeof value === "string" && this.texts.includes(value);
    }

    /** Whether `text` contains a secret text: anywhere for the long ones, as the whole text for the short ones. */
    contains(text: string): boolean {
        return this.texts.some((secret) =>
            secret.length >= MIN_SECRET_LENGTH ? text.includes(secret) : text === secret,
        );
    }

    /**
     * `text` with every secret text in it replaced by `[secret]`: a long one anywhere, a short one
     * only where it stands alone (not inside a word), so that "1" does not blank every digit.
     */
    redact(text: string): string {
        let result = text;
        for (const secret of this.texts) {
            if (secret.length >= MIN_SECRET_LENGTH) {
                result = result.split(secret).join(REDACTED);
            } else {
                const escaped = secret.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
                result = result.replace(
                    new RegExp(`(?<![\\p{L}\\p{N}_-])${escaped}(?![\\p{L}\\p{N}_-])`, "gu"),
                    REDACTED,
                );
            }
        }
        return result;
    }

    /**
     * A value for a resource input or output, built from the key at `path`: a Pulumi secret when
     * that key is marked secret (everything derived from it then stays secret, as Pulumi propagates
     * secrecy through `apply` and `interpolate`).
     */
    keep<T>(path: ConfigPath, value: T): pulumi.Input<T> {
        return this.isSecretPath(path) ? (pulumi.secret(value) as pulumi.Input<T>) : value;
    }

    /** An output that becomes a secret when its value contains a secret text (for stack outputs built from several keys). */
    guard<T>(output: pulumi.Input<T>): pulumi.Output<T> {
        if (this.texts.length === 0) return pulumi.output(output) as pulumi.Output<T>;
        return pulumi
            .output(output)
            .apply((value) =>
                this.contains(JSON.stringify(value) ?? "") ? pulumi.secret(value) : value,
            ) as pulumi.Output<T>;
    }

    /** A stack-wide resource transform keeping the secret texts secret in every resource's inputs. */
    transform(): pulumi.ResourceTransform {
        return (args) => {
            const { value, changed } = this.mark(args.props);
            return changed ? { props: value as Record<string, unknown>, opts: args.opts } : undefined;
        };
    }

    /** Marks every string of `value` that contains a secret text as a secret. */
    mark(value: unknown): { value: unknown; changed: boolean } {
        let changed = false;
        const walk = (node: unknown): unknown => {
            if (typeof node === "string") {
                if (this.contains(node)) {
                    changed = true;
                    return pulumi.secret(node);
                }
                return node;
            }
            if (pulumi.Output.isInstance(node)) return node;
            if (Array.isArray(node)) return node.map(walk);
            if (node !== null && typeof node === "object")
                return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
            return node;
        };
        const result = walk(value);
        return { value: result, changed };
    }
}
