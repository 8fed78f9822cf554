/**
 * Sorting a preview for the scheduled renewal (tools/renewals.ts): what the nightly drift check
 * tolerates and hands to the deploy workflow, and what a failed `up` left to delete.
 */
import { strict as assert } from "node:assert";
import { classifyPreview, pendingRemovals, PreviewDigest, PreviewStep } from "./renewals";

const urn = (type: string, name: string) => `urn:pulumi:k3d::akko-mtls::akko:mtls:MtlsMesh$${type}::${name}`;
const CERT = urn("tls:index/locallySignedCert:LocallySignedCert", "issuer-cert");
const ANCHOR = urn("tls:index/selfSignedCert:SelfSignedCert", "anchor");
const SECRET = urn("kubernetes:core/v1:Secret", "issuer-secret");
const JOB = urn("kubernetes:batch/v1:Job", "rollout");
const OTHER = urn("kubernetes:core/v1:ConfigMap", "rules");

/** The steps a preview shows for a certificate in its renewal window: the refresh, then the replace. */
const due = (certificate: string, protect = false): PreviewStep[] => [
    {
        op: "update",
        urn: certificate,
        diffReasons: ["readyForRenewal"],
        detailedDiff: { readyForRenewal: { kind: "update" } },
    },
    {
        op: "replace",
        urn: certificate,
        replaceReasons: ["readyForRenewal"],
        oldState: { type: certificate.split("$").pop()!.split("::")[0], protect },
    },
];
const update = (resource: string, dependencies: string[]): PreviewStep => ({
    op: "update",
    urn: resource,
    diffReasons: ["data"],
    newState: { dependencies },
});

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
        const digest = {
            steps: [
                ...due(CERT),
                update(SECRET, [CERT]),
                { ...update(JOB, []), newState: { propertyDependencies: { spec: [SECRET] } } },
            ],
        };
        assert.deepEqual(classifyPreview(digest), { renewals: [CERT], followers: [JOB, SECRET].sort(), drift: [] });
    });

    it("anything no renewal explains is drift, renewal or not", () => {
        const digest = { steps: [...due(CERT), update(SECRET, [CERT]), update(OTHER, [])] };
        assert.deepEqual(classifyPreview(digest), {
            renewals: [CERT],
            followers: [SECRET],
            drift: [{ urn: OTHER, op: "update" }],
        });
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
        const changedToo: PreviewStep = {
            op: "update",
            urn: CERT,
            diffReasons: ["readyForRenewal", "validityPeriodHours"],
        };
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
