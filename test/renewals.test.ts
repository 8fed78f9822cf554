/**
 * Scheduled renewal of the certificates the program makes with @pulumi/tls (tools/renewals.ts;
 * sorting a preview: tools/renewals.test.ts): proof on the real program that a targeted
 * `pulumi up --target <certificate> --target-dependents` reaches every object a renewal rewrites.
 */
import { strict as assert } from "node:assert";
import { ProgramRun, ProviderState } from "../tools/mockRuntime";
import { classifyPreview, PreviewDigest, PreviewStep, RENEWABLE_CERTIFICATE_TYPES } from "../tools/renewals";
import { runStack, runStackOk } from "./helpers";

describe("scheduled renewal on the real program", () => {
    /**
     * The engine's preview of a renewal, emulated: a steady `up`, then a preview in which the
     * renewable certificates are new (their state dropped, as a replacement is), so what they feed
     * gets unknown inputs — the resources whose inputs change are the ones a real preview shows.
     */
    async function renewalPreview(stack: string, overrides: Record<string, unknown>) {
        const state = new ProviderState();
        const steady = await runStackOk(stack, overrides, { state });
        const previousOutputs = Object.fromEntries(Object.entries(steady.outputs).map(([k, v]) => [k, v.value]));
        const renewable = steady.resources.filter(
            (r) => RENEWABLE_CERTIFICATE_TYPES.includes(r.type) && !r.protect && Number(r.inputs.earlyRenewalHours ?? 0) > 0,
        );
        for (const certificate of renewable) state.outputs.delete(`${certificate.type}::${certificate.name}`);
        const preview: ProgramRun = await runStack(stack, overrides, { state, previousOutputs, preview: true });
        if (preview.error) throw preview.error;
        const before = new Map(steady.resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
        const steps: PreviewStep[] = [];
        for (const resource of preview.resources.filter((r) => !r.read)) {
            if (renewable.some((c) => c.urn === resource.urn)) {
                // What a preview shows for a certificate in its renewal window: the refresh, then the replace.
                steps.push(
                    { op: "update", urn: resource.urn, diffReasons: ["readyForRenewal"], detailedDiff: { readyForRenewal: { kind: "update" } } },
                    { op: "replace", urn: resource.urn, replaceReasons: ["readyForRenewal"], oldState: { type: resource.type, protect: resource.protect } },
                );
            } else if (before.get(resource.urn) !== JSON.stringify(resource.inputs)) {
                steps.push({ op: "update", urn: resource.urn, newState: { type: resource.type, dependencies: resource.dependencies } });
            }
        }
        return { digest: { steps } as PreviewDigest, renewable, preview };
    }

    it("k3d (static issuer): the issuer and every webhook certificate are renewable, and everything they rewrite depends on them", async () => {
        const { digest, renewable, preview } = await renewalPreview("k3d", { "mtls.enabled": true });
        const names = renewable.map((r) => r.name);
        assert.ok(
            names.some((n) => n.startsWith("akko-identity-issuer")),
            names.join(", "),
        );
        assert.ok(names.filter((n) => n.includes("webhooks")).length >= 5, `three Linkerd and two viz webhooks: ${names.join(", ")}`);
        const verdict = classifyPreview(digest);
        assert.deepEqual(verdict.renewals, renewable.map((r) => r.urn).sort());
        assert.deepEqual(verdict.drift, [], "every object a renewal rewrites is reached by --target-dependents");
        const rewritten = preview.resources.filter((r) => verdict.followers.includes(r.urn));
        const secrets = rewritten.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => r.inputs.metadata.name);
        for (const name of ["linkerd-identity-issuer", "linkerd-proxy-injector-k8s-tls", "linkerd-sp-validator-k8s-tls", "linkerd-policy-validator-k8s-tls"]) {
            assert.ok(secrets.includes(name), `${name} in ${secrets.join(", ")}`);
        }
        assert.ok(
            rewritten.some((r) => r.type === "kubernetes:batch/v1:Job"),
            "the rollout Job that restarts the control plane on new serving certificates",
        );
        assert.ok(!rewritten.some((r) => r.type === "kubernetes:helm.sh/v4:Chart"), "no chart values hold a renewed certificate");
    });
});
