/**
 * Who the API server trusts for Linkerd's webhooks and viz's tap APIService, and that it keeps
 * trusting what the webhook pods serve through a renewal and through the move from cert-manager
 * (lib/webhookTrust.ts). The API server's decision is Go's crypto/x509 verification, followed by an
 * oracle (test/x509Go.ts); certificates are real, made by the program under mocks (tools/mockTls.ts).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dependsOn, ofType, one, ProgramRun, ProviderState } from "../tools/mockRuntime";
import { certRequestOutputs, locallySignedCertOutputs, privateKeyOutputs } from "../tools/mockTls";
import { anchor, Ca } from "./fakeCluster";
import { clusterServedByCertManager, runStack, runStackOk, secretData } from "./helpers";
import { apiServerAccepts, ecdsaKeys, goVerifyServing, selfSignedServing } from "./x509Go";

const CHART = "kubernetes:helm.sh/v4:Chart";
const JOB = "kubernetes:batch/v1:Job";
const INJECTOR = {
    key: "proxyInjector",
    service: "linkerd-proxy-injector",
    host: "linkerd-proxy-injector.linkerd.svc",
};

const chartValues = (run: ProgramRun, chart: string) => one(run, CHART, chart).inputs.values;

/** A serving certificate for `host` signed by `ca`, as cert-manager's CA issuer or the program makes one, and its key. */
async function serving(ca: Ca, host: string): Promise<Ca> {
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await certRequestOutputs({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: host },
        dnsNames: [host],
    });
    const cert = await locallySignedCertOutputs({
        certRequestPem: csr.certRequestPem,
        caCertPem: ca.certPem,
        caPrivateKeyPem: ca.privateKeyPem,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        validityPeriodHours: 720,
    });
    return { certPem: cert.certPem, privateKeyPem: key.privateKeyPem };
}
const servingCertificate = async (ca: Ca, host: string) => (await serving(ca, host)).certPem;

describe("the Go verifier oracle (what the API server decides)", () => {
    it("a leaf signed by the bundle's CA, for its host; not for another host, not from another CA, not a non-CA signer", async () => {
        const [ca, other] = await Promise.all([anchor(), anchor()]);
        const leaf = await serving(ca, INJECTOR.host);
        assert.ok(apiServerAccepts(leaf.certPem, ca.certPem, INJECTOR.host));
        assert.match(
            (goVerifyServing(leaf.certPem, ca.certPem, "linkerd-sp-validator.linkerd.svc") as { error: string }).error,
            /valid for linkerd-proxy-injector/,
        );
        assert.match(
            (goVerifyServing(leaf.certPem, other.certPem, INJECTOR.host) as { error: string }).error,
            /unknown authority/,
        );
        // Signed by a leaf (no basic constraints CA): refused even with that leaf as the root.
        const below = await servingCertificate(leaf, INJECTOR.host);
        assert.match(
            (goVerifyServing(below, leaf.certPem, INJECTOR.host) as { error: string }).error,
            /parent certificate cannot sign this kind of certificate/,
        );
    });
});

describe("webhook trust: the program's CA in both modes, no window at a renewal", () => {
    for (const stack of ["netcup", "k3d"]) {
        it(`${stack}: every webhook serves a certificate the chart's bundle verifies, before and after its renewal; the bundle does not change`, async () => {
            const run = await runStackOk(stack, { "mtls.enabled": true });
            for (const [chart, prefix, namespace, webhooks] of [
                [
                    "akko-linkerd-control-plane",
                    "akko-linkerd-webhooks",
                    "linkerd",
                    {
                        proxyInjector: "linkerd-proxy-injector",
                        profileValidator: "linkerd-sp-validator",
                        policyValidator: "linkerd-policy-validator",
                    },
                ],
                ["akko-viz-chart", "akko-viz-webhooks", "linkerd-viz", { tap: "tap", tapInjector: "tap-injector" }],
            ] as const) {
                const values = chartValues(run, chart);
                const ca: Ca = {
                    certPem: one(run, "tls:index/selfSignedCert:SelfSignedCert", `${prefix}-ca`).state.certPem,
                    privateKeyPem: one(run, "tls:index/privateKey:PrivateKey", `${prefix}-ca-key`).state.privateKeyPem,
                };
                for (const [key, service] of Object.entries(webhooks)) {
                    const host = `${service}.${namespace}.svc`;
                    const bundle = values[key].caBundle;
                    assert.equal(bundle, ca.certPem, `${stack} ${key}: the bundle is the program's webhook CA`);
                    const served = secretData(run, `${service}-k8s-tls`, namespace)["tls.crt"];
                    assert.ok(apiServerAccepts(served, bundle, host), `${stack} ${key}`);
                    // The tls provider renews the leaf (same request, same CA); the Secret is updated in place and the
                    // pod reloads it a minute later: both certificates verify against the one bundle.
                    const request = one(run, "tls:index/certRequest:CertRequest", `${prefix}-${service}-csr`).state
                        .certRequestPem;
                    const renewed = await locallySignedCertOutputs({
                        certRequestPem: request,
                        caCertPem: ca.certPem,
                        caPrivateKeyPem: ca.privateKeyPem,
                        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
                        validityPeriodHours: 8760,
                    });
                    assert.ok(apiServerAccepts(renewed.certPem, bundle, host), `${stack} ${key}: renewed`);
                }
            }
        });
    }

    it("why not self-signed webhook certificates that cert-manager renews keeping their key: Go refuses either one under the other's bundle", async () => {
        const keys = await ecdsaKeys();
        const before = await selfSignedServing(INJECTOR.host, keys, new Date(Date.now() - 480 * 3600_000));
        const renewed = await selfSignedServing(INJECTOR.host, keys);
        assert.ok(apiServerAccepts(before, before, INJECTOR.host) && apiServerAccepts(renewed, renewed, INJECTOR.host));
        // cainjector has written the renewed one, the pod still serves the previous one (kubelet's refresh), or the reverse.
        for (const [served, bundle] of [
            [before, renewed],
            [renewed, before],
        ]) {
            assert.match(
                (goVerifyServing(served, bundle, INJECTOR.host) as { error: string }).error,
                /unknown authority/,
                "same subject, key and names: already in the chain",
            );
        }
    });
});

describe("webhook trust: a stack cert-manager served moves to the program's CA in two runs, every webhook trusted throughout", function () {
    this.timeout(120_000);
    let oldCa: Ca;
    let oldLeaf: string;
    let handover: ProgramRun;
    let settled: ProgramRun;
    const previousOutputs = {
        meshState: { phase: "on", namespaces: ["akko"], mode: "permissive" },
        identityIssuerMode: "certManager",
        mtlsEnabled: true,
        trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" },
        vizDashboard: "linkerd viz dashboard --context netcup",
    };
    before(async () => {
        oldCa = await anchor();
        oldLeaf = await servingCertificate(oldCa, INJECTOR.host);
        const cluster = clusterServedByCertManager(oldCa.certPem);
        const state = new ProviderState();
        handover = await runStack("netcup", { "mtls.enabled": true }, { previousOutputs, cluster, state });
        if (handover.error) throw handover.error;
        const recorded = Object.fromEntries(Object.entries(handover.outputs).map(([k, v]) => [k, v.value]));
        settled = await runStackOk("netcup", { "mtls.enabled": true }, { previousOutputs: recorded, cluster, state });
    });

    it("run 1: a Job removes cert-manager's webhook objects and its CA key first; the program's Secrets wait for it; the record asks for run 2", () => {
        for (const [namespace, services] of [
            ["linkerd", ["linkerd-proxy-injector", "linkerd-sp-validator", "linkerd-policy-validator"]],
            ["linkerd-viz", ["tap", "tap-injector"]],
        ] as const) {
            const prefix = namespace === "linkerd" ? "akko-linkerd-webhooks" : "akko-viz-webhooks";
            const job = one(handover, JOB, `${prefix}-handover-job`);
            assert.equal(job.inputs.metadata.namespace, namespace);
            const role = one(handover, "kubernetes:rbac.authorization.k8s.io/v1:Role", `${prefix}-handover-role`);
            assert.deepEqual(role.inputs.rules, [
                {
                    apiGroups: ["cert-manager.io"],
                    resources: ["certificates"],
                    resourceNames: [...services, "webhook-ca"],
                    verbs: ["delete"],
                },
                {
                    apiGroups: ["cert-manager.io"],
                    resources: ["issuers"],
                    resourceNames: ["webhook-ca", "webhook-selfsigned"],
                    verbs: ["delete"],
                },
                { apiGroups: [""], resources: ["secrets"], resourceNames: ["webhook-ca"], verbs: ["delete"] },
            ]);
            const chart = one(
                handover,
                CHART,
                namespace === "linkerd" ? "akko-linkerd-control-plane" : "akko-viz-chart",
            );
            for (const service of services) {
                const secret = one(handover, "kubernetes:core/v1:Secret", `${prefix}-${service}-secret`);
                assert.ok(
                    dependsOn(handover, secret, job),
                    `${service}-k8s-tls is written only once cert-manager no longer manages it`,
                );
                // ... and once the webhooks trust the program's CA too: a pod that reloads it must be accepted.
                assert.ok(
                    dependsOn(handover, secret, chart),
                    `${service}-k8s-tls is written after the bundles that trust it`,
                );
                assert.ok(
                    !dependsOn(handover, chart, secret),
                    "the chart's pods mount cert-manager's Secrets meanwhile",
                );
            }
        }
        // The rollout restarts the control plane (its webhook certificates changed) once they are written.
        const rollout = one(handover, JOB, "akko-maintenance-rollout");
        assert.ok(
            dependsOn(
                handover,
                rollout,
                one(handover, "kubernetes:core/v1:Secret", "akko-linkerd-webhooks-linkerd-proxy-injector-secret"),
            ),
        );
        assert.equal(handover.outputs.webhookTrust.value, "handover");
        assert.match(String((handover.outputs.meshState.value as any).nextRun), /drop cert-manager's webhook CA/);
        assert.ok(
            handover.warnings.some((w) =>
                /admission webhooks move from cert-manager's webhook CA to the program's/.test(w),
            ),
        );
        assert.deepEqual(
            ofType(handover, "kubernetes:cert-manager.io/v1:Certificate").map((c) => c.name),
            ["akko-identity-issuer-certificate"],
        );
    });

    it("run 1's Job, run with a fake kubectl: deletes the Certificates, then the Issuers and the CA's Secret, by name, reading nothing", () => {
        const job = one(handover, JOB, "akko-linkerd-webhooks-handover-job");
        const container = job.inputs.spec.template.spec.containers[0];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "handover-"));
        try {
            fs.writeFileSync(path.join(dir, "kubectl"), `#!/bin/sh\necho "$*" >> "${dir}/calls"\n`, { mode: 0o755 });
            const result = spawnSync(container.command[0], container.command.slice(1), {
                env: { PATH: `${dir}:/usr/bin:/bin`, NAMESPACE: "linkerd" },
                encoding: "utf8",
            });
            assert.equal(result.status, 0, result.stderr);
            assert.deepEqual(fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"), [
                "delete certificates.cert-manager.io -n linkerd --ignore-not-found --wait=false linkerd-proxy-injector linkerd-sp-validator linkerd-policy-validator webhook-ca",
                "delete issuers.cert-manager.io -n linkerd --ignore-not-found --wait=false webhook-ca webhook-selfsigned",
                "delete secret -n linkerd --ignore-not-found --wait=false webhook-ca",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("run 1 trusts both CAs: the API server accepts cert-manager's certificate, still served until the kubelet refreshes the Secret, and the program's", async () => {
        for (const [chart, key, service, namespace] of [
            ["akko-linkerd-control-plane", "proxyInjector", "linkerd-proxy-injector", "linkerd"],
            ["akko-viz-chart", "tapInjector", "tap-injector", "linkerd-viz"],
        ]) {
            const host = `${service}.${namespace}.svc`;
            const bundle = chartValues(handover, chart)[key].caBundle;
            const oldServed = await servingCertificate(oldCa, host);
            const newServed = secretData(handover, `${service}-k8s-tls`, namespace)["tls.crt"];
            assert.ok(apiServerAccepts(oldServed, bundle, host), `${key}: cert-manager's leaf, before the pod reloads`);
            assert.ok(apiServerAccepts(newServed, bundle, host), `${key}: the program's leaf, after`);
        }
    });

    it("run 2 trusts the program's CA alone, and is settled; cert-manager's leaf would no longer be accepted (why run 1 keeps both)", () => {
        const bundle = chartValues(settled, "akko-linkerd-control-plane").proxyInjector.caBundle;
        assert.equal(
            bundle,
            one(settled, "tls:index/selfSignedCert:SelfSignedCert", "akko-linkerd-webhooks-ca").state.certPem,
        );
        assert.ok(!apiServerAccepts(oldLeaf, bundle, INJECTOR.host));
        assert.ok(
            apiServerAccepts(
                secretData(settled, "linkerd-proxy-injector-k8s-tls", "linkerd")["tls.crt"],
                bundle,
                INJECTOR.host,
            ),
        );
        assert.deepEqual(
            ofType(settled, JOB).filter((j) => /handover/.test(j.name)),
            [],
        );
        assert.equal(settled.outputs.webhookTrust.value, "program-ca");
        assert.equal((settled.outputs.meshState.value as any).nextRun, undefined);
        // The program's CA, leaves and Secrets keep their URNs from run 1: nothing re-issued.
        assert.equal(
            secretData(settled, "linkerd-proxy-injector-k8s-tls", "linkerd")["tls.crt"],
            secretData(handover, "linkerd-proxy-injector-k8s-tls", "linkerd")["tls.crt"],
        );
    });
});
