/**
 * Who the API server trusts for Linkerd's admission webhooks and viz's tap APIService, and how a
 * stack deployed before moves to it.
 *
 * The trust: in both issuer modes the program signs every webhook serving certificate with its own
 * webhook CA (`@pulumi/tls`, components/webhookCertificates.ts), whose key stays in Pulumi state; the
 * charts get that CA's certificate as `caBundle` (it is never renewed early, so the value never
 * changes), the leaves are renewed by the scheduled renewals-only `pulumi up` (tools/renewals.ts) and
 * written in place, so the bundle keeps verifying them with no window. No CA key for the webhooks
 * sits in `linkerd` or `linkerd-viz`, and no cluster-wide issuer exists for them.
 *
 * Stacks deployed with cert-manager before this had a CA Issuer per namespace (`webhook-ca`, its key
 * in Secret `webhook-ca`) issuing each webhook's Certificate, and cainjector writing that CA into
 * the webhooks. Moving them costs two runs, each leaving every webhook trusted:
 *
 *   (cert-manager)  --handover-->  (both CAs trusted)  --program-->  (the program's CA only)
 *
 * - handover: a Job deletes cert-manager's webhook Certificates and Issuers and the `webhook-ca`
 *   Secret (cert-manager itself leaves a deleted Certificate's Secret: `--enable-certificate-owner-ref`
 *   is off in cert-manager v1.21.1's chart), and only then does the program write the serving Secrets
 *   (while a Certificate exists, cert-manager would re-issue over a Secret whose key differs from its
 *   request: internal/controller/certificates/policies `SecretPublicKeyDiffersFromCurrentCertificateRequest`).
 *   Each webhook's `caBundle` is the program's CA *and* the one cainjector had written, read from the
 *   live object: a webhook pod keeps serving cert-manager's certificate until the kubelet refreshes
 *   its Secret, and the API server must accept both meanwhile;
 * - program: the bundle is the program's CA alone.
 *
 * The record is the `webhookTrust` stack output; the deploy workflow runs the second step on its own
 * (`meshState.nextRun`).
 */
import type { StackOutputValues } from "./stackOutputs";

/** What the `webhookTrust` output records. */
export type WebhookTrustRecord = "program-ca" | "handover";

export interface WebhookTrustPlan {
    /** `handover` in the run that takes over from cert-manager, `program` otherwise. */
    step: "handover" | "program";
    /** Which charts' webhooks cert-manager served, in the handover (the viz ones only if viz was deployed). */
    handover?: { viz: boolean };
    record: WebhookTrustRecord;
    /** What another `pulumi up` must still do. */
    nextRun?: string;
}

/** What the last deployment's outputs say about its webhooks. */
export interface PreviousWebhooks {
    /** The `webhookTrust` output, if any. */
    record: unknown;
    /** `identityIssuerMode` output. */
    issuerMode: string | undefined;
    /** Whether that deployment had the mesh in the cluster (on, or draining). */
    meshDeployed: boolean;
    /** Whether it had viz (it exported `vizDashboard`). */
    viz: boolean;
}

export function readPreviousWebhooks(outputs: StackOutputValues, meshDeployed: boolean): PreviousWebhooks {
    return {
        record: outputs.webhookTrust,
        issuerMode: typeof outputs.identityIssuerMode === "string" ? outputs.identityIssuerMode : undefined,
        meshDeployed,
        viz: outputs.vizDashboard !== undefined,
    };
}

/** The step of this run; `deploying`: whether this run puts the mesh in the cluster. */
export function planWebhookTrust(previous: PreviousWebhooks, deploying: boolean): WebhookTrustPlan {
    const settled: WebhookTrustPlan = { step: "program", record: "program-ca" };
    if (!deploying) return settled;
    // A stack cert-manager served, never moved: its webhooks trust cert-manager's CA alone.
    if (previous.record === undefined && previous.meshDeployed && previous.issuerMode === "certManager") {
        return {
            step: "handover",
            handover: { viz: previous.viz },
            record: "handover",
            nextRun: "drop cert-manager's webhook CA from the webhooks' trust (the program's CA serves them now)",
        };
    }
    return settled;
}
