/**
 * A stack file (`Pulumi.<stack>.yaml`) read as the Pulumi CLI hands its config to the program, for
 * the tools that run without the stack's passphrase (`npm run plan`, the tests).
 *
 * How the CLI stores and hands over secrets, from pulumi/pulumi sdk/go/common/resource/config
 * (read at the commit after v3.259.0; the behaviour is older than 3.113):
 * - object.go `isSecureValue`: a map with the single key `secure` and a text value is a ciphertext,
 *   wherever it is: a whole top-level value (`pulumi config set --secret <key>`), or nested in maps
 *   and lists (`pulumi config set --secret --path a.b[0] …`);
 * - object.go `Secure` and map.go `SecureKeys`: a top-level key holding a ciphertext anywhere is
 *   secret as a whole; those are the keys the program's `isConfigSecret` reports;
 * - object.go `decrypt`: a ciphertext decrypts to text, never to a boolean or a number.
 *
 * Nothing here decrypts. Each ciphertext is replaced by a stand-in the config accepts at that
 * place (`[secret]` where any text will do, a URL where a URL is expected, …), so the plan checks
 * and plans everything else; the real value is checked by `pulumi preview`, which has the
 * passphrase. What the plan prints shows `[secret]` there ({@link redact}).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { mergeLayers, valueAt } from "../config/merge";
import { configSchema } from "../config/contract";
import { TARGETS, Target } from "../config/schema";
import type { PathSegment } from "../config/configPath";

/** What a secret value is shown as. */
export const SECRET_SHOWN = "[secret]";

/** One encrypted value of the stack file: its config key, where it is inside it, and the stand-in used. */
export interface SecretValue {
    key: string;
    path: PathSegment[];
    standIn: string;
}

export interface StackFile {
    /** Every config key as the CLI hands it to the program (objects as JSON text), stand-ins for ciphertexts. */
    config: Record<string, string>;
    /** Config keys holding a ciphertext anywhere: secret for the program (`pulumi config set --secret`). */
    secretKeys: string[];
    secrets: SecretValue[];
}

/** A stack file the tools cannot use without its passphrase. */
export class StackFileError extends Error {}

/** `{secure: "v1:…"}`: a ciphertext (pulumi object.go isSecureValue). */
export function isCiphertext(value: unknown): boolean {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    const keys = Object.keys(value);
    return keys.length === 1 && keys[0] === "secure" && typeof (value as { secure: unknown }).secure === "string";
}

/** Where the ciphertexts are in a value, each path relative to it. */
function ciphertextPaths(value: unknown, at: PathSegment[] = []): PathSegment[][] {
    if (isCiphertext(value)) return [at];
    if (Array.isArray(value)) return value.flatMap((item, i) => ciphertextPaths(item, [...at, i]));
    if (value !== null && typeof value === "object")
        return Object.entries(value).flatMap(([k, v]) => ciphertextPaths(v, [...at, k]));
    return [];
}

function setAt(root: unknown, at: PathSegment[], value: unknown): unknown {
    if (at.length === 0) return value;
    const [head, ...rest] = at;
    if (Array.isArray(root)) return root.map((item, i) => (i === head ? setAt(item, rest, value) : item));
    const object = root as Record<string, unknown>;
    return { ...object, [head]: setAt(object[head], rest, value) };
}

/**
 * Stand-ins tried in order at a secret's place in the project's config: the first the config
 * accepts there is used. Reserved names and documentation addresses (RFC 2606 `.invalid`,
 * RFC 5737 192.0.2.0/24, RFC 3849 2001:db8::/32), so a stand-in can never reach a real system.
 */
function standIns(trustDomain: string): string[] {
    return [
        SECRET_SHOWN,
        "https://secret.invalid/",
        "secret.invalid",
        "secret",
        "192.0.2.0/24",
        "2001:db8::/32",
        `secret.secret.serviceaccount.identity.linkerd.${trustDomain}`,
    ];
}

const samePath = (a: readonly PropertyKey[], b: readonly PathSegment[]) =>
    a.length >= b.length && b.every((segment, i) => a[i] === segment);

/** The first stand-in the project's config accepts at `at` (a path from the namespace's root), given the other values. */
function fittingStandIn(values: Record<string, unknown>, at: PathSegment[]): string {
    const target = TARGETS.includes(values.target as Target) ? (values.target as Target) : undefined;
    if (!target) return SECRET_SHOWN;
    const trustDomain =
        (valueAt(mergeLayers(target, values), ["identity", "trustDomain"]) as string | undefined) ?? "cluster.local";
    for (const candidate of standIns(trustDomain)) {
        const tried = setAt(values, at, candidate) as Record<string, unknown>;
        const parsed = configSchema.safeParse(mergeLayers(target, tried));
        if (parsed.success || !parsed.error.issues.some((issue) => samePath(issue.path, at))) return candidate;
    }
    // Nothing fits (a boolean or a number kept as a secret): the program refuses it, as it would
    // refuse the decrypted text (a ciphertext decrypts to text).
    return SECRET_SHOWN;
}

/** Reads `Pulumi.<stack>.yaml` without its passphrase: ciphertexts become stand-ins, their keys secret. */
export function readStackFile(file: string, namespace: string): StackFile {
    const document = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const name = path.basename(file);
    const entries = Object.entries<unknown>(document.config ?? {});
    const secrets: { key: string; path: PathSegment[] }[] = entries.flatMap(([key, value]) =>
        ciphertextPaths(value).map((at) => ({ key, path: at })),
    );
    const prefix = `${namespace}:`;

    // The project's own values, as one namespace object, stand-ins first all "[secret]".
    let values: Record<string, unknown> = {};
    for (const [key, value] of entries) if (key.startsWith(prefix)) values[key.slice(prefix.length)] = value;
    for (const secret of secrets) {
        if (!secret.key.startsWith(prefix)) continue;
        const topLevel = secret.key.slice(prefix.length);
        if (secret.path.length === 0 && topLevel !== "target") {
            throw new StackFileError(
                `${name}: ${secret.key} is encrypted as a whole, so its keys cannot be planned without the passphrase. ` +
                    `Encrypt only the values that are secret: pulumi config rm ${secret.key}, then pulumi config set --secret --path ${topLevel}.<key> <value> for each`,
            );
        }
        values = setAt(values, [topLevel, ...secret.path], SECRET_SHOWN) as Record<string, unknown>;
    }
    const placed: SecretValue[] = [];
    for (const secret of secrets) {
        if (!secret.key.startsWith(prefix)) {
            placed.push({ ...secret, standIn: SECRET_SHOWN });
            continue;
        }
        const at = [secret.key.slice(prefix.length), ...secret.path];
        const standIn = fittingStandIn(values, at);
        values = setAt(values, at, standIn) as Record<string, unknown>;
        placed.push({ ...secret, standIn });
    }

    const config: Record<string, string> = {};
    for (const [key, raw] of entries) {
        let value = key.startsWith(prefix) ? values[key.slice(prefix.length)] : raw;
        for (const secret of placed)
            if (secret.key === key && !key.startsWith(prefix)) value = setAt(value, secret.path, secret.standIn);
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { config, secretKeys: [...new Set(secrets.map((s) => s.key))].sort(), secrets: placed };
}

/**
 * The namespace's values for display: each stand-in still in place shown as `[secret]` (a value
 * `--set` replaced is the operator's own, shown as given).
 */
export function redact(
    values: Record<string, unknown>,
    secrets: readonly SecretValue[],
    namespace: string,
): Record<string, unknown> {
    let shown = values;
    for (const secret of secrets) {
        if (!secret.key.startsWith(`${namespace}:`)) continue;
        const at = [secret.key.slice(namespace.length + 1), ...secret.path];
        let node: unknown = shown;
        for (const segment of at)
            node =
                node !== null && typeof node === "object" ? (node as Record<PathSegment, unknown>)[segment] : undefined;
        if (node === secret.standIn) shown = setAt(shown, at, SECRET_SHOWN) as Record<string, unknown>;
    }
    return shown;
}
