/**
 * Reads a `pulumi preview --refresh --json` of a stack and sorts its changes: certificates made
 * with `@pulumi/tls` that are due for renewal, what their renewal rewrites, and everything else
 * (drift). The nightly drift workflow fails on drift only, and hands due renewals to the deploy
 * workflow, which runs `pulumi up --target <certificate>… --target-dependents` (.github/workflows,
 * docs/ci.md). Any unprotected `@pulumi/tls` certificate with early renewal is covered: the
 * per-cluster intermediate CA (`identity.intermediate.renewBeforeHours`; what it re-signs, the
 * issuer in static mode or Secret `linkerd-intermediate-g<n>` with cert-manager, follows it), the
 * static issuer and the webhook serving certificates (test/renewals.test.ts).
 *
 * Upstream behaviour relied on:
 * - The tls provider marks a certificate `readyForRenewal` once fewer than `earlyRenewalHours`
 *   are left (or it expired), and that attribute forces a replacement (terraform-provider-tls
 *   internal/provider/common_cert.go `modifyPlanIfCertificateReadyForRenewal`, RequiresReplace;
 *   `modifyStateIfCertificateReadyForRenewal` on refresh). A preview then shows a replace whose
 *   only reason is `readyForRenewal`, every night until an `up` renews it.
 * - The preview digest (pulumi pkg/display/json.go `PreviewDigest`, `PreviewStep`;
 *   pkg/backend/display/json.go): one step per resource change with `op`, `urn`,
 *   `replaceReasons`, `diffReasons`, `detailedDiff` and the old and new state (type, protect,
 *   dependencies); unchanged resources are left out, and a refresh that found a difference is
 *   rewritten into an `update` or `delete`.
 * - `--expect-no-changes` counts every step but same, read, discard and read-replacement
 *   (pulumi pkg/engine/update.go `HasChanges`).
 */

export const RENEWABLE_CERTIFICATE_TYPES = [
    "tls:index/locallySignedCert:LocallySignedCert",
    "tls:index/selfSignedCert:SelfSignedCert",
];

/** The attribute the tls provider flips when a certificate is due. */
const RENEWAL_REASON = "readyForRenewal";

/** Steps that change nothing (pkg/engine/update.go `HasChanges`); a refresh that found nothing stays `refresh`. */
const NO_CHANGE = new Set(["same", "read", "discard", "read-replacement", "refresh"]);
const REPLACING = new Set(["replace", "create-replacement", "delete-replaced"]);

interface StepState {
    type?: string;
    protect?: boolean;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
}

export interface PreviewStep {
    op: string;
    urn: string;
    diffReasons?: string[];
    replaceReasons?: string[];
    detailedDiff?: Record<string, { kind: string }> | null;
    oldState?: StepState;
    newState?: StepState;
}

export interface PreviewDigest {
    steps?: PreviewStep[];
}

export interface PreviewVerdict {
    /** Certificates due for renewal: what `pulumi up --target` names. */
    renewals: string[];
    /** Changed resources that depend on a renewal (the Secrets and ConfigMaps holding it, …). */
    followers: string[];
    /** Every other change: drift, or a change nobody deployed. */
    drift: { urn: string; op: string }[];
}

/** The resource type of a URN (`urn:pulumi:<stack>::<project>::<parent types$type>::<name>`). */
export const typeOfUrn = (urn: string) => urn.split("::")[2]?.split("$").pop() ?? "";

const changedKeys = (step: PreviewStep) => [...(step.diffReasons ?? []), ...Object.keys(step.detailedDiff ?? {})];

/** Whether every step of this resource is its certificate's renewal, and at least one replaces it. */
function isRenewal(steps: PreviewStep[]): boolean {
    const state = steps.find((s) => s.oldState)?.oldState ?? steps[0].newState;
    if (!RENEWABLE_CERTIFICATE_TYPES.includes(state?.type ?? typeOfUrn(steps[0].urn))) return false;
    // A protected certificate (the trust anchor) is never renewed implicitly: its replacement is an alarm.
    if (steps.some((s) => s.oldState?.protect || s.newState?.protect)) return false;
    const onlyRenewal = (keys: string[]) => keys.every((key) => key === RENEWAL_REASON);
    const renewing = steps.filter((s) => REPLACING.has(s.op));
    return (
        renewing.some((s) => (s.replaceReasons ?? []).length > 0 && onlyRenewal(s.replaceReasons!)) &&
        renewing.every((s) => onlyRenewal(s.replaceReasons ?? [])) &&
        // The refresh that found the flag set (an update of readyForRenewal alone).
        steps.filter((s) => !REPLACING.has(s.op)).every((s) => s.op === "update" && onlyRenewal(changedKeys(s)))
    );
}

const dependenciesOf = (step: PreviewStep) =>
    [step.newState, step.oldState].flatMap((state) => [
        ...(state?.dependencies ?? []),
        ...Object.values(state?.propertyDependencies ?? {}).flat(),
    ]);

export function classifyPreview(digest: PreviewDigest): PreviewVerdict {
    const changes = new Map<string, PreviewStep[]>();
    for (const step of digest.steps ?? []) {
        if (NO_CHANGE.has(step.op)) continue;
        changes.set(step.urn, [...(changes.get(step.urn) ?? []), step]);
    }
    const renewals = [...changes].filter(([, steps]) => isRenewal(steps)).map(([urn]) => urn);
    // What a renewal rewrites, transitively: a changed resource that depends on a renewed or rewritten one.
    const explained = new Set(renewals);
    for (let grew = true; grew;) {
        grew = false;
        for (const [urn, steps] of changes) {
            if (explained.has(urn) || !steps.some((step) => dependenciesOf(step).some((d) => explained.has(d))))
                continue;
            explained.add(urn);
            grew = true;
        }
    }
    return {
        renewals: renewals.sort(),
        followers: [...explained].filter((urn) => !renewals.includes(urn)).sort(),
        drift: [...changes]
            .filter(([urn]) => !explained.has(urn))
            .flatMap(([urn, steps]) => steps.map((s) => ({ urn, op: s.op }))),
    };
}

/**
 * What a failed `pulumi up` left to remove, read from a preview taken right after it: the URNs of
 * resources the program no longer registers, when deleting them is every change the preview shows;
 * undefined when anything else changes (the `up` failed before its creates and updates were done).
 *
 * Why this is "finish it", not "something broke": the engine deletes what the program no longer
 * declares after the program has ended and after the stack's outputs were registered, and saves
 * those outputs even when a delete then fails (pulumi v3.259.0 pkg/resource/deploy/
 * deployment_executor.go `performPostSteps`, then the finalization of the stack outputs with
 * `errored`); a resource whose delete failed stays in the state, so the next `up` deletes it again
 * (step_generator.go: a resource in the old state that no registration names is deleted). The
 * records (meshState, trustAnchorRotation) already say what the run achieved: what is left is a
 * removal, which another `up` of the same program finishes.
 */
export function pendingRemovals(digest: PreviewDigest): string[] | undefined {
    const changes = new Map<string, PreviewStep[]>();
    for (const step of digest.steps ?? []) {
        if (NO_CHANGE.has(step.op)) continue;
        changes.set(step.urn, [...(changes.get(step.urn) ?? []), step]);
    }
    if (changes.size === 0) return undefined;
    // A delete with no new state: nothing registers that URN any more (a refresh that found an object
    // gone and a create that puts it back is drift, not a removal).
    const removal = (steps: PreviewStep[]) => steps.every((s) => s.op === "delete" && !s.newState);
    return [...changes.values()].every(removal) ? [...changes.keys()].sort() : undefined;
}
