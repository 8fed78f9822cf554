/**
 * The stack's outputs, by name, in one list: what index.ts exports and reads back of its own last
 * deployment (through a StackReference to itself), and what the tools (`npm run plan -- --previous`,
 * the e2e run, the plan snapshot), the workflows (`pulumi stack output …`) and the runbooks read.
 * TypeScript readers take the names from here through {@link StackOutputValues}; the workflows and
 * the docs are checked against the list (test/workflows.test.ts, test/docsCommands.test.ts).
 */

export const STACK_OUTPUTS = [
    "target",
    "mtlsEnabled",
    // Records of what a run achieved, read back by the next run (lib/meshLifecycle.ts, lib/rotation.ts, lib/webhookTrust.ts).
    "meshState",
    "trustAnchorRotation",
    "webhookTrust",
    "identityIssuerMode",
    "trustAnchorPem",
    "trustAnchorFingerprintSha256",
    "trustAnchorNotAfter",
    "trustBundlePem",
    // Only where they apply.
    "identityIssuerNotAfter",
    "identityIntermediateNotAfter",
    "linkerdChartVersion",
    "certManagerChartVersion",
    "rotationJobSchedule",
    "vizDashboard",
    // Linked clusters (lib/multicluster.ts): what the members linking here read through a StackReference.
    "multicluster",
    "multiclusterRemoteAccessTokens",
] as const;

export type StackOutputName = (typeof STACK_OUTPUTS)[number];

/** A deployment's outputs as read back (`pulumi stack output --json`, a StackReference): any may be missing or malformed. */
export type StackOutputValues = Partial<Record<StackOutputName, unknown>>;

/**
 * What each run reads back of the last deployment: the records its steps are checked against
 * (rotation phase, mesh phase, webhook trust) and what says which objects it deployed.
 */
export const READ_BACK_OUTPUTS = [
    "trustAnchorRotation",
    "meshState",
    "mtlsEnabled",
    "linkerdChartVersion",
    "identityIssuerMode",
    "certManagerChartVersion",
    "webhookTrust",
    "vizDashboard",
] as const satisfies readonly StackOutputName[];

/** Whether a name is one of the stack's outputs. */
export function isStackOutput(name: string): name is StackOutputName {
    return (STACK_OUTPUTS as readonly string[]).includes(name);
}

/**
 * The trust stack's outputs (`akko-mtls:target: trust`, components/fleetTrust.ts): what its members
 * read through a StackReference (`fleet-trust`) and what `pulumi stack output --stack trust` shows.
 * Only {@link TRUST_OUTPUTS}.memberIntermediateKeys holds keys, and it is a secret output.
 */
export const TRUST_OUTPUTS = {
    target: "target",
    /** The fleet's rotation record, {generation, phase, since}: what every member applies. */
    fleetRotation: "fleetRotation",
    /** The member stacks, as `fleet.clusters` lists them. */
    fleetMembers: "fleetMembers",
    /** Every anchor the fleet's proxies trust, PEM. */
    trustBundlePem: "trustBundlePem",
    /** The fleet's anchors: generation, whether in the bundle and signing, certificate, fingerprint, expiry. */
    trustAnchors: "trustAnchors",
    /** Per member, its intermediate CA of each anchor in the bundle: generation, certificate, expiry (public). */
    memberIntermediates: "memberIntermediates",
    /** Per member, each intermediate's private key by generation (a secret output). */
    memberIntermediateKeys: "memberIntermediateKeys",
    /** Where each member stands, as this run of the trust stack read it (lib/fleet.ts memberStatus). */
    fleetState: "fleetState",
} as const;

export type TrustOutputName = (typeof TRUST_OUTPUTS)[keyof typeof TRUST_OUTPUTS];

/** A trust stack's outputs as read back: any may be missing or malformed. */
export type TrustOutputValues = Partial<Record<TrustOutputName, unknown>>;

/** Whether a name is one of the trust stack's outputs. */
export function isTrustOutput(name: string): name is TrustOutputName {
    return (Object.values(TRUST_OUTPUTS) as string[]).includes(name);
}
