/**
 * An existing certManager stack, deployed with the previous layout (the anchor as a CA ClusterIssuer
 * over a Secret in cert-manager's namespace), moves to the per-cluster intermediate in one `pulumi up`,
 * with no moment without a valid issuer, and the anchor's key leaves the cluster.
 *
 * The previous layout is what the previous program registered, recorded by the plan snapshot
 * (test/fixtures/certmanager-clusterissuer-layout.json: netcup with the mesh on, at db72b21). The new
 * program runs against that stack's outputs; what the engine then does follows its real order:
 * - a resource registered again under its URN is updated in place (or replaced, create first),
 *   a new URN is created, and each registration returns only once its step is done
 *   (pulumi v3.259.0 pkg/resource/deploy/source_eval.go `RegisterResource`: "block waiting for the
 *   operation to finish"); the Node SDK waits for every registration before the program ends
 *   (sdk/nodejs/runtime/settings.ts `waitForRPCs`);
 * - only then are the resources the program no longer registers deleted
 *   (pkg/resource/deploy/deployment_executor.go: `performPostSteps` once the source has ended);
 * - deleting a protected resource fails the update (pkg/resource/deploy/step.go `deleteProtectedError`).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { dependsOn, one, ProgramRun, ProviderState, PROJECT_ROOT } from "../tools/mockRuntime";
import { anchor } from "./fakeCluster";
import { clusterServedByCertManager, runStackOk, secretData, trustRootsOf } from "./helpers";
import {
    issueAsCertManagerCa,
    keyMatches,
    linkerdCheckIdentity,
    linkerdLoadsIssuer,
    certificatesOf,
} from "./x509Chain";

interface Recorded {
    urn: string;
    /** Read with `.get()`: not the stack's to delete (the engine only drops a read from state). */
    read: boolean;
    protect: boolean;
    inputs?: any;
}

const previous: { resources: Recorded[]; outputs: Record<string, any> } = JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "test", "fixtures", "certmanager-clusterissuer-layout.json"), "utf8"),
);
const nameOf = (urn: string) => urn.split("::").pop()!;
const typeOf = (urn: string) => urn.split("::")[2].split("$").pop()!;

describe("migrating a certManager stack from the anchor ClusterIssuer to the intermediate, in one `pulumi up`", () => {
    let run: ProgramRun;
    let created: string[];
    let deleted: Recorded[];
    before(async () => {
        // The stack's state: its anchor, made by an earlier run (same URNs in both layouts).
        const state = new ProviderState();
        await runStackOk("netcup", {}, { state });
        const previousOutputs = {
            ...previous.outputs,
            trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" },
        };
        // Its webhooks were cert-manager's too: this run also takes them over (test/webhookTrust.test.ts), reading their bundles.
        const cluster = clusterServedByCertManager((await anchor()).certPem);
        run = await runStackOk("netcup", { "mtls.enabled": true }, { state, previousOutputs, cluster });
        const before = new Set(previous.resources.map((r) => r.urn));
        const now = new Set(run.resources.filter((r) => !r.read).map((r) => r.urn));
        created = [...now].filter((urn) => !before.has(urn));
        deleted = previous.resources.filter((r) => !r.read && !now.has(r.urn));
    });

    it("the previous layout is what the issue describes: a CA ClusterIssuer over the anchor's key in cert-manager's namespace", () => {
        const clusterIssuer = previous.resources.find(
            (r) => typeOf(r.urn) === "kubernetes:cert-manager.io/v1:ClusterIssuer",
        )!;
        assert.deepEqual(clusterIssuer.inputs.spec, { ca: { secretName: "linkerd-trust-anchor-g1" } });
        const secret = previous.resources.find(
            (r) =>
                typeOf(r.urn) === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === "linkerd-trust-anchor-g1",
        )!;
        assert.equal(secret.inputs.metadata.namespace, "cert-manager");
        assert.match(secret.inputs.stringData["tls.key"], /^<pem:EC PRIVATE KEY>\s*$/);
    });

    it("nothing protected is deleted: the anchor keeps its URN (a delete would fail the update)", () => {
        const protectedBefore = previous.resources.filter((r) => r.protect).map((r) => r.urn);
        assert.deepEqual(protectedBefore.map(nameOf).sort(), ["akko-trust-anchor-g1-cert", "akko-trust-anchor-g1-key"]);
        assert.deepEqual(
            deleted.filter((r) => r.protect),
            [],
        );
    });

    it("deleted, after everything else: the ClusterIssuer and the anchor's Secret, and the API check moved out of linkerd", () => {
        // (Of the identity chain's resources: keys, certificates, issuers, Secrets; the webhooks' move is tested on its own.)
        const identityChain = deleted.filter(
            (r) =>
                /cert-manager\.io|core\/v1:Secret|^tls:|TrustAnchor|IdentityIssuer|IntermediateCa/.test(
                    typeOf(r.urn),
                ) && !/-webhooks-/.test(nameOf(r.urn)),
        );
        assert.deepEqual(
            identityChain.map((r) => `${typeOf(r.urn)} ${nameOf(r.urn)}`).sort(),
            [
                "kubernetes:cert-manager.io/v1:ClusterIssuer akko-identity-issuer-anchor-g1",
                "kubernetes:core/v1:Secret akko-identity-issuer-anchor-g1",
            ].sort(),
        );
        // The API check keeps its URNs and changes namespace: replaced, the new one created first (other namespace, no clash).
        const check = one(run, "kubernetes:batch/v1:Job", "akko-cert-manager-api-check");
        const before = previous.resources.find((r) => r.urn === check.urn);
        assert.ok(before, "same URN");
        assert.equal(check.inputs.metadata.namespace, "cert-manager");
    });

    it("created first: the intermediate (Pulumi state), its Secret and Issuer in linkerd; the Certificate is updated in place to use it", () => {
        assert.deepEqual(
            created
                .map((urn) => `${typeOf(urn)} ${nameOf(urn)}`)
                .filter((t) => /intermediate|Issuer|Secret/.test(t) && !/-webhooks-/.test(t))
                .sort(),
            [
                "akko:mtls:IntermediateCa akko-intermediate-g1",
                "kubernetes:cert-manager.io/v1:Issuer akko-identity-issuer-intermediate-g1",
                "kubernetes:core/v1:Secret akko-identity-issuer-intermediate-g1",
                "tls:index/certRequest:CertRequest akko-intermediate-g1-csr",
                "tls:index/locallySignedCert:LocallySignedCert akko-intermediate-g1-cert",
                "tls:index/privateKey:PrivateKey akko-intermediate-g1-key",
            ].sort(),
        );
        const certificate = one(run, "kubernetes:cert-manager.io/v1:Certificate", "akko-identity-issuer-certificate");
        const before = previous.resources.find((r) => r.urn === certificate.urn)!;
        assert.ok(before, "the Certificate keeps its URN: an update, never a delete of the issuer's Certificate");
        assert.deepEqual(before.inputs.spec.issuerRef, {
            name: "linkerd-trust-anchor-g1",
            kind: "ClusterIssuer",
            group: "cert-manager.io",
        });
        assert.deepEqual(certificate.inputs.spec.issuerRef, {
            name: "linkerd-intermediate-g1",
            kind: "Issuer",
            group: "cert-manager.io",
        });
        const { issuerRef: _old, ...restBefore } = before.inputs.spec;
        const { issuerRef: _new, ...restNow } = certificate.inputs.spec;
        assert.deepEqual(restNow, restBefore, "only the issuerRef changes: same Secret, same key policy");
        // The update waits for the new Issuer (Ready), and then for the Certificate to be Ready again, i.e. re-issued:
        // pulumi-kubernetes waits for the condition at the new generation (provider/pkg/await/condition/kubectl.go),
        // cert-manager keeps Ready False while the Secret names the old issuer (readiness policy chain,
        // SecretIssuerAnnotationsMismatch) and only then triggers, re-issues and overwrites the Secret.
        const issuer = one(run, "kubernetes:cert-manager.io/v1:Issuer", "akko-identity-issuer-intermediate-g1");
        assert.ok(dependsOn(run, certificate, issuer));
        assert.equal(issuer.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
        assert.equal(certificate.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    });

    it("no window without a valid issuer: the old issuer and the re-issued one both load in Linkerd against the unchanged trust roots", async () => {
        assert.equal(
            trustRootsOf(run).trim(),
            String(run.outputs.trustAnchorPem.value).trim(),
            "the bundle is the same anchor: no proxy restarts for trust",
        );
        const anchorKey = one(run, "tls:index/privateKey:PrivateKey", "akko-trust-anchor-g1-key").state.privateKeyPem;
        const anchorPem = String(run.outputs.trustAnchorPem.value);
        // Until cert-manager re-issues, the issuer Secret is the one the old ClusterIssuer wrote (signed by the anchor itself).
        const spec = one(run, "kubernetes:cert-manager.io/v1:Certificate", "akko-identity-issuer-certificate").inputs
            .spec;
        const request = { commonName: spec.commonName, isCA: spec.isCA, durationHours: 48 };
        const old = await issueAsCertManagerCa({ "tls.crt": anchorPem, "tls.key": anchorKey }, request);
        assert.equal(linkerdLoadsIssuer(old["tls.crt"], old["tls.key"], trustRootsOf(run)).length, 2);
        // Then the one from the intermediate's Issuer, issuer + intermediate, ca.crt the anchor.
        const renewed = await issueAsCertManagerCa(secretData(run, "linkerd-intermediate-g1", "linkerd"), request);
        assert.equal(certificatesOf(renewed["tls.crt"]).length, 2);
        assert.equal(linkerdLoadsIssuer(renewed["tls.crt"], renewed["tls.key"], trustRootsOf(run)).length, 3);
        assert.deepEqual(linkerdCheckIdentity(renewed), []);
        // Proxy certificates the old issuer signed keep verifying: they chain to the same anchor.
    });

    it("the anchor's key leaves the cluster: no Secret of the new run holds it", () => {
        const anchorCert = certificatesOf(String(run.outputs.trustAnchorPem.value))[0];
        for (const secret of run.resources.filter((r) => r.type === "kubernetes:core/v1:Secret")) {
            for (const value of Object.values<string>(secret.inputs.stringData ?? {})) {
                if (value.includes("PRIVATE KEY")) assert.ok(!keyMatches(value, anchorCert), secret.name);
            }
        }
    });
});
