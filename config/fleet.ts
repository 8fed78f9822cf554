/**
 * The trust stack's config (`akko-mtls:target: trust`): read, merged over the identity defaults,
 * validated (config/schema/fleet.ts, config/rules/fleet.ts), frozen. A bad config fails before any
 * resource is registered, naming the key, as the cluster config does (config/index.ts).
 */
import deepmerge from "deepmerge";
import {
    ConfigError,
    configKey,
    ConfigProblem,
    OMIT,
    readConfigNamespace,
    secretConfigKeys,
    unsafeKeyProblems,
} from "./index";
import { MERGE_OPTIONS } from "./merge";
import { DEFAULTS } from "./presets";
import { validateFleetClusters, validateFleetIntermediates } from "./rules/fleet";
import { validatePhaseFloor } from "./rules/identity";
import type { RuleIssue } from "./rules/types";
import { TRUST_TARGET, trustStackConfig, TrustStackShape } from "./schema/fleet";
import { ConfigSecrets } from "./secrets";

export { TRUST_TARGET };
export type TrustConfig = Readonly<TrustStackShape>;

/** What a trust stack gets without a value of its own: the cluster stacks' identity defaults (one anchor policy for all). */
function trustDefaults(): Record<string, unknown> {
    const { trustDomain, trustAnchor, intermediate, issuer } = DEFAULTS.identity ?? {};
    return {
        identity: { trustDomain, trustAnchor, intermediate, issuer: { issuanceLifetime: issuer?.issuanceLifetime } },
    };
}

/** Whether the stack's values say it is a trust stack (read before either config is validated). */
export function isTrustStack(stackValues: Record<string, unknown>): boolean {
    return stackValues.target === TRUST_TARGET;
}

/** Merges the defaults under the stack's values and validates; `trustStack` is the stack's own name. Pure. */
export function resolveTrustConfig(
    stackValues: Record<string, unknown>,
    trustStack: string,
    secretKeys: readonly string[] = [],
): TrustConfig {
    const secrets = ConfigSecrets.from(stackValues, secretKeys);
    const unsafe = unsafeKeyProblems(stackValues);
    if (unsafe.length > 0) throw new ConfigError(unsafe, secrets);
    // A trust stack's keys name resources and stacks: none of them may be secret.
    const secret = secretKeys.map((key): ConfigProblem => ({
        key: configKey([key]),
        value: OMIT,
        message:
            "a trust stack holds no secret config (its keys name stacks and resources, which Pulumi keeps in the open): set it without --secret",
    }));
    if (secret.length > 0) throw new ConfigError(secret, secrets);
    const merged = deepmerge(trustDefaults(), stackValues, MERGE_OPTIONS) as Record<string, unknown>;
    const parsed = trustStackConfig.safeParse(merged);
    const problems: ConfigProblem[] = [];
    const at = (issue: { path: PropertyKey[] }) => issue.path.map((s) => (typeof s === "number" ? s : String(s)));
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            if (issue.code === "unrecognized_keys") {
                for (const unknown of issue.keys) {
                    problems.push({
                        key: configKey([...at(issue), unknown]),
                        value: OMIT,
                        message:
                            "unknown key for a trust stack (target: trust holds only identity.trustDomain, identity.trustAnchor, identity.intermediate, identity.issuer.issuanceLifetime and fleet.clusters)",
                    });
                }
            } else {
                problems.push({
                    key: configKey(at(issue)),
                    value: valueAtPath(merged, at(issue)),
                    message: issue.message,
                });
            }
        }
        throw new ConfigError(problems, secrets);
    }
    const issues: RuleIssue[] = [];
    const ctx = { addIssue: (issue: RuleIssue) => issues.push(issue) };
    validateFleetClusters(parsed.data, trustStack, ctx);
    validateFleetIntermediates(parsed.data, ctx);
    validatePhaseFloor(parsed.data, ctx);
    if (issues.length > 0) {
        throw new ConfigError(
            issues.map((issue) => ({
                key: configKey(issue.path),
                value: valueAtPath(parsed.data, issue.path),
                message: issue.message,
            })),
            secrets,
        );
    }
    return Object.freeze(parsed.data);
}

function valueAtPath(root: unknown, path: readonly (string | number)[]): unknown {
    let node = root;
    for (const segment of path) {
        if (node === null || typeof node !== "object") return undefined;
        node = (node as Record<string | number, unknown>)[segment];
    }
    return node;
}

/** The trust stack's config from the Pulumi runtime. */
export function loadTrustConfig(trustStack: string): TrustConfig {
    return resolveTrustConfig(readConfigNamespace(), trustStack, secretConfigKeys());
}
