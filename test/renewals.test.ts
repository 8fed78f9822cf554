/**
 * Scheduled renewal of the certificates the program makes with @pulumi/tls (tools/renewals.ts):
 * what the nightly drift check tolerates and hands to the deploy workflow, and proof on the real
 * program that a targeted `pulumi up --target <certificate> --target-dependents` reaches every
 * object a renewal rewrites.
 */
import { strict as assert } from "node:assert";
import { ProgramRun, ProviderState } from "../tools/mockRuntime";
import { classifyPreview, pendingRemovals, PreviewDigest, PreviewStep, RENEWABLE_CERTIFICATE_TYPES } from "../tools/renewals";
import { runStack, runStackOk } from "./helpers";

const urn = (type: string, name: string) => `urn:pulumi:k3d::akko-mtls::akko:mtls:MtlsMesh$${type}::${name}`;
const CERT = urn("tls:index/locallySignedCert:LocallySignedCert", "issuer-cert");
const ANCHOR = urn("tls:index/selfSignedCert:SelfSignedCert", "anchor");
const SECRET = urn("kubernetes:core/v1:Secret", "issuer-secret");
const JOB = urn("kubernetes:batch/v1:Job", "rollout");
const OTHER = urn("kubernetes:core/v1:ConfigMap", "rules");

/** The steps a preview shows for a certificate in its renewal window: the refresh, then the replace. */
const due = (certificate: string, protect = false): PreviewStep[] => [
    { op: "update", urn: certificate, diffReasons: ["readyForRenewal"], detailedDiff: { readyForRenewal: { kind: "update" } } },
    { op: "replace", urn: certificate, replaceReasons: ["readyForRenewal"], oldState: { type: certificate.split("$").pop()!.split("::")[0], protect } },
];
const update = (resource: string, dependencies: string[]): PreviewStep => ({ op: "update", urn: resource, diffReasons: ["data"], newState: { dependencies } });

describe("scheduled renewal: sorting a preview", () => {
    it("nothing changed: no renewal, no drift (unchanged and refreshed resources are no change)", () => {
        const digest: PreviewDigest = {
            steps: [
                { op: "same", urn: SECRET },
                { op: "refresh", urn: OTHER },
                { op: "read", urn: JOB },
            ],
        };
        assert.deepEqual(classifyPreview(digest), { renewals: [], followers: [], drift: [] });
        assert.deepEqual(classifyPreview({}), { renewals: [], followers: [], drift: [] });
    });

    it("a certificate in its window and what it feeds, transitively: a renewal, not drift", () => {
        const digest = { steps: [...due(CERT), update(SECRET, [CERT]), { ...update(JOB, []), newState: { propertyDependencies: { spec: [SECRET] } } }] };
        assert.deepEqual(classifyPreview(digest), { renewals: [CERT], followers: [JOB, SECRET].sort(), drift: [] });
    });

    it("anything no renewal explains is drift, renewal or not", () => {
        const digest = { steps: [...due(CERT), update(SECRET, [CERT]), update(OTHER, [])] };
        assert.deepEqual(classifyPreview(digest), { renewals: [CERT], followers: [SECRET], drift: [{ urn: OTHER, op: "update" }] });
    });

    it("never a renewal: a protected certificate (the trust anchor), another replace reason, another resource type", () => {
        assert.deepEqual(classifyPreview({ steps: due(ANCHOR, true) }).renewals, []);
        assert.equal(classifyPreview({ steps: due(ANCHOR, true) }).drift.length, 2);
        const subject: PreviewStep = {
            op: "replace",
            urn: CERT,
            replaceReasons: ["readyForRenewal", "subject"],
            oldState: { type: "tls:index/locallySignedCert:LocallySignedCert" },
        };
        assert.deepEqual(classifyPreview({ steps: [subject] }).renewals, []);
        const changedToo: PreviewStep = { op: "update", urn: CERT, diffReasons: ["readyForRenewal", "validityPeriodHours"] };
        assert.deepEqual(classifyPreview({ steps: [...due(CERT), changedToo] }).renewals, []);
        const secret: PreviewStep = { op: "replace", urn: SECRET, replaceReasons: ["readyForRenewal"] };
        assert.deepEqual(classifyPreview({ steps: [secret] }).renewals, []);
    });
});

describe("after a failed `up`: removals the engine left in the state", () => {
    const secret = "urn:pulumi:netcup::akko-mtls::akko:mtls:MtlsMesh$kubernetes:core/v1:Secret::old";
    const issuer = "urn:pulumi:netcup::akko-mtls::akko:mtls:MtlsMesh$kubernetes:cert-manager.io/v1:Issuer::old";
    it("only deletes of resources nothing registers any more: those, for the next `up` to finish", () => {
        const digest = {
            steps: [
                { op: "same", urn: "urn:x" },
                { op: "delete", urn: secret, oldState: { type: "kubernetes:core/v1:Secret" } },
                { op: "delete", urn: issuer, oldState: {} },
            ],
        };
        assert.deepEqual(pendingRemovals(digest), [issuer, secret].sort());
    });
    it("anything else (a create or update not done, an object gone and put back, no change at all): not a leftover removal", () => {
        const gone = { op: "delete", urn: secret, oldState: {} };
        assert.equal(pendingRemovals({ steps: [gone, { op: "update", urn: issuer, newState: {} }] }), undefined);
        assert.equal(
            pendingRemovals({
                steps: [
                    { op: "delete", urn: secret, oldState: {}, newState: {} },
                    { op: "create", urn: secret, newState: {} },
                ],
            }),
            undefined,
        );
        assert.equal(pendingRemovals({ steps: [{ op: "same", urn: secret }] }), undefined);
    });
});

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
                steps.push(...due(resource.urn).map((s) => (s.oldState ? { ...s, oldState: { type: resource.type, protect: resource.protect } } : s)));
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
