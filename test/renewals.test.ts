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
    async function renewalPreview(
        stack: string,
        overrides: Record<string, unknown>,
        dueOnly?: (name: string) => boolean,
    ) {
        const state = new ProviderState();
        const steady = await runStackOk(stack, overrides, { state });
        const previousOutputs = Object.fromEntries(Object.entries(steady.outputs).map(([k, v]) => [k, v.value]));
        const renewable = steady.resources.filter(
            (r) =>
                RENEWABLE_CERTIFICATE_TYPES.includes(r.type) &&
                !r.protect &&
                Number(r.inputs.earlyRenewalHours ?? 0) > 0 &&
                (dueOnly?.(r.name) ?? true),
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
                    {
                        op: "update",
                        urn: resource.urn,
                        diffReasons: ["readyForRenewal"],
                        detailedDiff: { readyForRenewal: { kind: "update" } },
                    },
                    {
                        op: "replace",
                        urn: resource.urn,
                        replaceReasons: ["readyForRenewal"],
                        oldState: { type: resource.type, protect: resource.protect },
                    },
                );
            } else if (before.get(resource.urn) !== JSON.stringify(resource.inputs)) {
                steps.push({
                    op: "update",
                    urn: resource.urn,
                    newState: { type: resource.type, dependencies: resource.dependencies },
                });
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
        assert.ok(
            names.filter((n) => n.includes("webhooks")).length >= 5,
            `three Linkerd and two viz webhooks: ${names.join(", ")}`,
        );
        const verdict = classifyPreview(digest);
        assert.deepEqual(verdict.renewals, renewable.map((r) => r.urn).sort());
        assert.deepEqual(verdict.drift, [], "every object a renewal rewrites is reached by --target-dependents");
        const rewritten = preview.resources.filter((r) => verdict.followers.includes(r.urn));
        const secrets = rewritten
            .filter((r) => r.type === "kubernetes:core/v1:Secret")
            .map((r) => r.inputs.metadata.name);
        for (const name of [
            "linkerd-identity-issuer",
            "linkerd-proxy-injector-k8s-tls",
            "linkerd-sp-validator-k8s-tls",
            "linkerd-policy-validator-k8s-tls",
        ]) {
            assert.ok(secrets.includes(name), `${name} in ${secrets.join(", ")}`);
        }
        assert.ok(
            rewritten.some((r) => r.type === "kubernetes:batch/v1:Job"),
            "the rollout Job that restarts the control plane on new serving certificates",
        );
        assert.ok(
            !rewritten.some((r) => r.type === "kubernetes:helm.sh/v4:Chart"),
            "no chart values hold a renewed certificate",
        );
    });

    for (const [stack, mode, rewrites] of [
        ["netcup", "certManager", ["Secret linkerd-intermediate-g1"]],
        ["k3d", "static", ["Secret linkerd-identity-issuer"]],
    ] as const) {
        it(`${stack} (${mode}): a due intermediate CA is a renewal, and what it re-signs (${rewrites.join(", ")}) follows it, not drift`, async () => {
            const { digest, renewable, preview } = await renewalPreview(
                stack,
                { "mtls.enabled": true },
                (name) => name === "akko-intermediate-g1-cert",
            );
            assert.deepEqual(
                renewable.map((r) => r.name),
                ["akko-intermediate-g1-cert"],
                "the intermediate is an unprotected @pulumi/tls certificate with an early-renewal window",
            );
            assert.equal(Number(renewable[0].inputs.earlyRenewalHours), 2160, "identity.intermediate.renewBeforeHours");
            const verdict = classifyPreview(digest);
            assert.deepEqual(verdict.renewals, [renewable[0].urn]);
            assert.deepEqual(verdict.drift, [], "everything the re-signed intermediate rewrites depends on it");
            const rewritten = preview.resources
                .filter((r) => verdict.followers.includes(r.urn))
                .map((r) => `${r.type.split(":").pop()} ${r.inputs?.metadata?.name ?? r.name}`);
            for (const object of rewritten.length > 0 ? rewrites : ["(none)"])
                assert.ok(rewritten.includes(object), `${object} in ${rewritten.join(", ")}`);
            // The oracle can fail: the same preview with the intermediate protected (as the anchor is) is no renewal.
            const protectedDigest = {
                steps: digest.steps!.map((step) =>
                    step.oldState ? { ...step, oldState: { ...step.oldState, protect: true } } : step,
                ),
            };
            assert.deepEqual(classifyPreview(protectedDigest).renewals, []);
        });
    }
});
