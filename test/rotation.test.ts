/**
 * Zero-downtime trust-anchor rotation: every phase of a real rotation run through the program with
 * real certificates, in both issuer modes (the phase state machine: lib/rotation.test.ts).
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { ConfigError } from "../config";
import { one, ProgramRun, ProviderState } from "../tools/mockRuntime";
import { RotationError, RotationRecord } from "../lib/rotation";
import { runStack, runStackOk, secretData, trustRootsOf } from "./helpers";
import { IssuedSecret, issueAsCertManagerCa, linkerdCheckIdentity, linkerdLoadsIssuer } from "./x509Chain";

const HOUR = 3600_000;
const NOW = new Date("2026-11-22T12:00:00Z");
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR).toISOString();

/** Runs a rotation through the program, each phase fed the last one's outputs (26 h later). */
async function rotate(
    stack: string,
    extra: Record<string, unknown> = {},
): Promise<{ phase: string; run: ProgramRun }[]> {
    const state = new ProviderState();
    const steps: [string, number, number][] = [
        ["steady g1", 1, 0],
        ["phase 1", 1, 1],
        ["phase 2", 1, 2],
        ["phase 3", 1, 3],
        ["steady g2", 2, 0],
    ];
    const runs: { phase: string; run: ProgramRun }[] = [];
    let previousOutputs: Record<string, unknown> | undefined;
    for (const [phase, generation, rotationPhase] of steps) {
        const run = await runStackOk(
            stack,
            {
                "mtls.enabled": true,
                "identity.trustAnchor.generation": generation,
                "identity.trustAnchor.rotationPhase": rotationPhase,
                ...extra,
            },
            { state, previousOutputs },
        );
        runs.push({ phase, run });
        const record = run.outputs.trustAnchorRotation.value as RotationRecord;
        previousOutputs = { trustAnchorRotation: { ...record, since: new Date(Date.now() - 26 * HOUR).toISOString() } };
    }
    return runs;
}

function bundleOf(run: ProgramRun): crypto.X509Certificate[] {
    const pem = trustRootsOf(run);
    return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
        (p) => new crypto.X509Certificate(p),
    );
}

function anchorCert(run: ProgramRun, generation: number): crypto.X509Certificate {
    return new crypto.X509Certificate(
        one(run, "tls:index/selfSignedCert:SelfSignedCert", `akko-trust-anchor-g${generation}-cert`).state.certPem,
    );
}

/**
 * What cert-manager would write into the issuer Secret: its CA issuer over the CA Secret of the
 * namespaced Issuer the Certificate points at (test/x509Chain.ts), issuer then intermediate.
 */
async function issueLikeCertManager(run: ProgramRun): Promise<IssuedSecret> {
    const certificate = one(run, "kubernetes:cert-manager.io/v1:Certificate", "akko-identity-issuer-certificate");
    const namespace = certificate.inputs.metadata.namespace;
    assert.equal(certificate.inputs.spec.issuerRef.kind, "Issuer");
    const issuer = run.resources.find(
        (r) =>
            r.type === "kubernetes:cert-manager.io/v1:Issuer" &&
            r.inputs.metadata.name === certificate.inputs.spec.issuerRef.name &&
            r.inputs.metadata.namespace === namespace,
    );
    assert.ok(issuer, `Issuer ${namespace}/${certificate.inputs.spec.issuerRef.name} exists`);
    return issueAsCertManagerCa(secretData(run, issuer.inputs.spec.ca.secretName, namespace), {
        commonName: certificate.inputs.spec.commonName,
        isCA: certificate.inputs.spec.isCA,
        durationHours: parseInt(certificate.inputs.spec.duration, 10),
    });
}

for (const [stack, mode] of [
    ["k3d", "static"],
    ["netcup", "certManager"],
] as const) {
    describe(`a full rotation on ${stack} (${mode} issuer), with real certificates`, () => {
        let runs: { phase: string; run: ProgramRun }[];
        before(async () => {
            runs = await rotate(stack);
        });

        /** The issuer Secret Linkerd reads: the program's (static), or what cert-manager writes. */
        const issuerSecretOf = async (run: ProgramRun) =>
            mode === "static"
                ? (secretData(run, "linkerd-identity-issuer") as unknown as IssuedSecret)
                : issueLikeCertManager(run);

        it("bundle and issuer per phase: [g1] g1 → [g1,g2] g1 → [g1,g2] g2 → [g2] g2 → [g2] g2", async () => {
            const g1 = anchorCert(runs[0].run, 1).fingerprint256;
            const g2 = anchorCert(runs[1].run, 2).fingerprint256;
            const expected: [string[], string][] = [
                [[g1], g1],
                [[g1, g2], g1],
                [[g1, g2], g2],
                [[g2], g2],
                [[g2], g2],
            ];
            for (const [i, { phase, run }] of runs.entries()) {
                const bundle = bundleOf(run);
                assert.deepEqual(
                    bundle.map((c) => c.fingerprint256),
                    expected[i][0],
                    `${phase}: bundle`,
                );
                const secret = await issuerSecretOf(run);
                // What the identity controller does with it: verify the chain against the live trust roots.
                const path = linkerdLoadsIssuer(secret["tls.crt"], secret["tls.key"], trustRootsOf(run));
                assert.equal(path.length, 3, `${phase}: issuer -> intermediate -> anchor`);
                assert.match(
                    path[1].subject,
                    new RegExp(`^CN=intermediate-g${expected[i][1] === g1 ? 1 : 2}\\.${stack}\\.`),
                    `${phase}: that anchor's intermediate`,
                );
                assert.equal(path[2].fingerprint256, expected[i][1], `${phase}: the issuer's anchor`);
                assert.deepEqual(linkerdCheckIdentity(secret), [], `${phase}: linkerd check`);
                assert.equal(
                    run.outputs.trustAnchorFingerprintSha256.value,
                    expected[i][1],
                    `${phase}: output names the signing anchor`,
                );
            }
        });

        it("an intermediate per anchor in the bundle; the issuer's moves to the new one in phase 2, the old one leaves in phase 3", () => {
            const intermediates = runs.map(({ run }) =>
                run.resources
                    .filter(
                        (r) =>
                            r.type === "tls:index/locallySignedCert:LocallySignedCert" &&
                            /intermediate-g\d-cert$/.test(r.name),
                    )
                    .map((r) => r.name)
                    .sort(),
            );
            const g = (...n: number[]) => n.map((x) => `akko-intermediate-g${x}-cert`);
            assert.deepEqual(intermediates, [g(1), g(1, 2), g(1, 2), g(2), g(2)]);
            if (mode !== "certManager") return;
            // cert-manager re-issues when the issuerRef changes (trigger policy SecretIssuerAnnotationsMismatch,
            // v1.21.1 internal/controller/certificates/policies/checks.go), not when a CA Secret does.
            const issuerRefs = runs.map(
                ({ run }) =>
                    one(run, "kubernetes:cert-manager.io/v1:Certificate", "akko-identity-issuer-certificate").inputs
                        .spec.issuerRef,
            );
            assert.deepEqual(
                issuerRefs.map((ref) => `${ref.kind}/${ref.name}`),
                [
                    "Issuer/linkerd-intermediate-g1",
                    "Issuer/linkerd-intermediate-g1",
                    "Issuer/linkerd-intermediate-g2",
                    "Issuer/linkerd-intermediate-g2",
                    "Issuer/linkerd-intermediate-g2",
                ],
            );
            const issuers = runs.map(({ run }) =>
                run.resources
                    .filter(
                        (r) =>
                            r.type === "kubernetes:cert-manager.io/v1:Issuer" &&
                            r.inputs.metadata.namespace === "linkerd" &&
                            r.inputs.spec.ca?.secretName?.startsWith("linkerd-intermediate"),
                    )
                    .map((r) => r.inputs.metadata.name)
                    .sort(),
            );
            const i = (...n: number[]) => n.map((x) => `linkerd-intermediate-g${x}`);
            assert.deepEqual(issuers, [i(1), i(1, 2), i(1, 2), i(2), i(2)]);
        });

        it("the anchors stay the same certificates throughout (never re-generated)", () => {
            const g1 = anchorCert(runs[0].run, 1).fingerprint256;
            for (const { run } of runs.slice(0, 4)) assert.equal(anchorCert(run, 1).fingerprint256, g1);
            const g2 = anchorCert(runs[1].run, 2).fingerprint256;
            for (const { run } of runs.slice(1)) assert.equal(anchorCert(run, 2).fingerprint256, g2);
        });

        it("anchors are protected while trusted; the old one is released in phase 3 and gone after", () => {
            const cert = (run: ProgramRun, g: number) =>
                run.resources.find((r) => r.name === `akko-trust-anchor-g${g}-cert`);
            assert.equal(cert(runs[2].run, 1)!.protect, true, "phase 2: g1 still protected");
            assert.equal(cert(runs[3].run, 1)!.protect, false, "phase 3: g1 released");
            assert.equal(cert(runs[3].run, 2)!.protect, true);
            assert.equal(cert(runs[4].run, 1), undefined, "finished: g1 leaves state");
        });

        it("the bundle changes exactly in phases 1 and 3; a rollout Job runs in phases 1, 2 and 3", () => {
            // The control plane reads the bundle only at start (controller/cmd/identity/main.go:68); it is not in
            // the chart values (unknown at preview in phase 1), so the rollout Job, named after it, restarts it.
            // Phase 2 has its own: it proves the issuer was re-issued from the new anchor and reloads identity.
            const changed = (values: string[]) => values.map((v, i) => i > 0 && v !== values[i - 1]);
            const bundles = runs.map(({ run }) => trustRootsOf(run));
            assert.deepEqual(changed(bundles), [false, true, false, true, false]);
            const jobs = runs.map(
                ({ run }) =>
                    one(run, "kubernetes:batch/v1:Job", "akko-maintenance-rollout").inputs.metadata.name as string,
            );
            assert.deepEqual(changed(jobs), [false, true, true, true, false]);
            const charts = runs.map(({ run }) =>
                JSON.stringify(one(run, "kubernetes:helm.sh/v4:Chart", "akko-linkerd-control-plane").inputs),
            );
            assert.deepEqual(changed(charts), [false, false, false, false, false], "the chart never sees the bundle");
        });

        it("the outputs record the phase for the next deployment", () => {
            assert.deepEqual(
                runs.map(({ run }) => {
                    const { generation, phase } = run.outputs.trustAnchorRotation.value as RotationRecord;
                    return [generation, phase];
                }),
                [
                    [1, 0],
                    [1, 1],
                    [1, 2],
                    [1, 3],
                    [2, 0],
                ],
            );
        });
    });
}

describe("a skipped phase stops the program before anything is registered", () => {
    it("steady → phase 2 is refused with the next phase named", async () => {
        const run = await runStack(
            "netcup",
            { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 2 },
            { previousOutputs: { trustAnchorRotation: { generation: 1, phase: 0, since: at(500) } } },
        );
        assert.ok(run.error instanceof RotationError, String(run.error));
        assert.match(
            run.error.message,
            /akko-mtls:identity\.trustAnchor\.rotationPhase: cannot go from generation 1, steady.*next phase is: set rotationPhase=1/,
        );
        assert.deepEqual(
            run.resources.filter((r) => !["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"].includes(r.type)),
            [],
            "only the read of the last outputs happened",
        );
    });

    it("the phase floor cannot go under the one derived from the proxies' certificate lifetime", async () => {
        for (const hours of [23, 25]) {
            const run = await runStack("netcup", { "identity.trustAnchor.minHoursBetweenPhases": hours });
            assert.ok(run.error instanceof ConfigError, String(hours));
            assert.ok(
                run.error.problems.some(
                    (p) =>
                        p.key === "akko-mtls:identity.trustAnchor.minHoursBetweenPhases" &&
                        /at least 25 h 0 min 40 s/.test(p.message),
                ),
            );
        }
        const short = await runStack("k3d", {
            "identity.issuer.issuanceLifetime": "2m",
            "identity.trustAnchor.minMinutesBetweenPhases": 3,
        });
        assert.ok(short.error instanceof ConfigError);
        assert.ok(
            short.error.problems.some(
                (p) =>
                    p.key === "akko-mtls:identity.trustAnchor.minMinutesBetweenPhases" &&
                    /at least 3 min 40 s/.test(p.message),
            ),
        );
        const typo = await runStack("k3d", { "identity.issuer.issuanceLifetime": "1d" });
        assert.ok(typo.error instanceof ConfigError);
        assert.ok(
            typo.error.problems.some(
                (p) => p.key === "akko-mtls:identity.issuer.issuanceLifetime" && /a Go duration/.test(p.message),
            ),
        );
    });

    it("a short issuance lifetime reaches the control-plane chart; Linkerd's default leaves the chart's values as they were", async () => {
        const chartValues = async (overrides: Record<string, unknown>) => {
            const run = await runStackOk("k3d", { "mtls.enabled": true, ...overrides });
            const chart = run.resources.find(
                (r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.inputs.chart === "linkerd-control-plane",
            )!;
            return chart.inputs.values.identity.issuer;
        };
        assert.deepEqual(await chartValues({ "identity.issuer.issuanceLifetime": "2m" }), {
            scheme: "kubernetes.io/tls",
            issuanceLifetime: "2m",
        });
        assert.deepEqual(await chartValues({}), { scheme: "kubernetes.io/tls" });
    });

    it("a bad config is still reported as such, before the rotation check", async () => {
        const run = await runStack("netcup", { "identity.trustAnchor.rotationPhase": 5 });
        assert.ok(run.error instanceof ConfigError);
    });
});
