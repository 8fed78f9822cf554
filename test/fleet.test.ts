/**
 * Fleet trust under mocks (issue 21): the real program for the trust stack (Pulumi.trust.yaml) and
 * for members reading its outputs through the mock runtime's StackReferences (secret outputs stay
 * secret: tools/mockRuntime.ts). Chains are real X.509 from the tls mocks, checked with the
 * oracles of test/x509Chain.ts: what Linkerd's identity controller loads and what a proxy of another
 * member verifies against its own bundle.
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { TRUST_OUTPUTS } from "../lib/stackOutputs";
import { bundleSha256 } from "../lib/fleet";
import { kubernetesObjects, ofType, one, ProgramRun, ProviderState, ResolvedOutput } from "../tools/mockRuntime";
import { runStack, secretData, trustRootsOf } from "./helpers";
import {
    certificatesOf,
    issueAsCertManagerCa,
    keyMatches,
    linkerdLoadsIssuer,
    pathLength,
    verifyPath,
} from "./x509Chain";

type Outputs = Record<string, ResolvedOutput>;
const HOUR = 3600_000;
const plain = (value: unknown): ResolvedOutput => ({ value, secret: false, dependencies: [] });
/** A member stack's outputs as the trust stack reads them: its rotation record (and mesh state). */
const memberOutputs = (record: unknown): Outputs =>
    record === undefined ? {} : { trustAnchorRotation: plain(record) };
/** The outputs a finished run leaves, as the next run reads them back through its self-reference. */
const previousOf = (run: ProgramRun) => Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.value]));
/** A record moved back in time, as if the run had happened `hours` ago (the floor between phases). */
const aged = (record: any, hours: number) => ({
    ...record,
    since: new Date(new Date(record.since).getTime() - hours * HOUR).toISOString(),
});

async function ok(run: Promise<ProgramRun>): Promise<ProgramRun> {
    const done = await run;
    if (done.error) throw done.error;
    return done;
}

/** The trust stack, its members answering with these outputs (none: created, never deployed). */
function runTrust(
    overrides: Record<string, unknown> = {},
    members: Record<string, Outputs> = {},
    more: { previous?: ProgramRun; state?: ProviderState } = {},
) {
    return runStack("trust", overrides, {
        stacks: { netcup: {}, eks: {}, gke: {}, k3d: {}, ...members },
        previousOutputs: more.previous ? previousOf(more.previous) : undefined,
        state: more.state,
    });
}

/** A member stack with `fleetStack: trust`, reading this trust run's outputs. */
function runMember(
    stack: string,
    trust: Outputs,
    overrides: Record<string, unknown> = {},
    more: { previousOutputs?: any; state?: ProviderState } = {},
) {
    return runStack(
        stack,
        { "identity.trustAnchor.fleetStack": "trust", "mtls.enabled": true, ...overrides },
        { stacks: { trust }, ...more },
    );
}

/**
 * The identity issuer Linkerd would load on a member: in certManager mode what cert-manager's CA
 * issuer writes from the Issuer the Certificate names (test/x509Chain.ts issueAsCertManagerCa); in
 * static mode the program's Secret.
 */
async function identityIssuerOf(run: ProgramRun): Promise<{ "tls.crt": string; "tls.key": string }> {
    if (run.outputs.identityIssuerMode.value === "static")
        return secretData(run, "linkerd-identity-issuer", "linkerd") as any;
    const spec = one(run, "kubernetes:cert-manager.io/v1:Certificate", "akko-identity-issuer-certificate").inputs.spec;
    return issueAsCertManagerCa(secretData(run, spec.issuerRef.name, "linkerd"), {
        commonName: spec.commonName,
        isCA: true,
        durationHours: 48,
    });
}

const TRUST_MEMBERS = ["netcup", "eks", "gke"];

describe("fleet trust: the trust stack alone (Pulumi.trust.yaml)", () => {
    let trust: ProgramRun;
    before(async () => {
        trust = await ok(runTrust());
    });

    it("needs no cluster: no Kubernetes provider, no Kubernetes object; it reads only stacks", () => {
        assert.deepEqual(kubernetesObjects(trust), []);
        assert.deepEqual(
            trust.resources.filter((r) => r.type.startsWith("pulumi:providers:")),
            [],
        );
        assert.deepEqual(
            trust.resources.filter((r) => r.read).map((r) => r.name),
            ["organization/akko-mtls/trust", ...TRUST_MEMBERS.map((m) => `fleet-member-${m}`)],
        );
        assert.deepEqual(
            trust.resources.filter((r) => r.custom && !r.read && r.protect).map((r) => r.name),
            ["fleet-trust-anchor-g1-key", "fleet-trust-anchor-g1-cert"],
            "the anchor is protected, as a stack's own",
        );
    });

    it("exports exactly its outputs (names from lib/stackOutputs.ts); only the keys are secret, and no output holds the anchor's key", () => {
        assert.deepEqual(Object.keys(trust.outputs).sort(), Object.values(TRUST_OUTPUTS).sort());
        assert.deepEqual(
            Object.entries(trust.outputs)
                .filter(([, o]) => o.secret)
                .map(([k]) => k),
            [TRUST_OUTPUTS.memberIntermediateKeys],
        );
        const anchor = new crypto.X509Certificate(String(trust.outputs.trustBundlePem.value));
        for (const [name, output] of Object.entries(trust.outputs)) {
            const text = JSON.stringify(output.value);
            if (!output.secret) assert.doesNotMatch(text, /PRIVATE KEY/, name);
            for (const key of text.match(/-----BEGIN EC PRIVATE KEY-----[^"]*?-----END EC PRIVATE KEY-----/g) ?? []) {
                assert.ok(!keyMatches(JSON.parse(`"${key}"`), anchor), `${name} holds the anchor's key`);
            }
        }
    });

    it("signs one intermediate per member: a CA of path length 1, valid a year, chaining to the anchor, its key the one exported", () => {
        const anchor = certificatesOf(String(trust.outputs.trustBundlePem.value));
        assert.equal(anchor.length, 1);
        const intermediates = trust.outputs.memberIntermediates.value as Record<
            string,
            { generation: number; certPem: string }[]
        >;
        const keys = trust.outputs.memberIntermediateKeys.value as Record<string, Record<string, string>>;
        assert.deepEqual(Object.keys(intermediates), TRUST_MEMBERS);
        const seen = new Set<string>();
        for (const member of TRUST_MEMBERS) {
            assert.deepEqual(
                intermediates[member].map((i) => i.generation),
                [1],
            );
            const cert = new crypto.X509Certificate(intermediates[member][0].certPem);
            assert.ok(cert.ca && pathLength(cert) === 1, member);
            assert.match(cert.subject, new RegExp(`CN=intermediate-g1\\.${member}\\.linkerd\\.cluster\\.local`));
            assert.deepEqual(verifyPath(cert, [], anchor).length, 2);
            assert.ok((new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / HOUR <= 8760 + 1);
            assert.ok(keyMatches(keys[member]["1"], cert), `${member}: the exported key is its intermediate's`);
            seen.add(cert.fingerprint256);
        }
        assert.equal(seen.size, TRUST_MEMBERS.length, "one intermediate each");
    });

    it("shows the fleet's state member by member", () => {
        assert.deepEqual(trust.outputs.fleetState.value, {
            netcup: { status: "never deployed", state: "never deployed as a member" },
            eks: { status: "never deployed", state: "never deployed as a member" },
            gke: { status: "never deployed", state: "never deployed as a member" },
        });
    });
});

describe("fleet trust: members read the trust stack's outputs", function () {
    this.timeout(120_000);
    let trust: ProgramRun;
    let netcup: ProgramRun;
    let gke: ProgramRun;
    before(async () => {
        trust = await ok(runTrust({ "fleet.clusters": ["netcup", "eks", "gke", "k3d"] }));
        netcup = await ok(runMember("netcup", trust.outputs));
        gke = await ok(runMember("gke", trust.outputs));
    });

    it("reads StackReference fleet-trust = organization/akko-mtls/trust, and registers no anchor of its own", () => {
        for (const run of [netcup, gke]) {
            const reference = run.resources.find((r) => r.read && r.name === "fleet-trust");
            assert.equal(reference?.inputs.name, "organization/akko-mtls/trust");
            assert.deepEqual(ofType(run, "akko:mtls:TrustAnchor"), []);
            assert.deepEqual(
                ofType(run, "tls:index/selfSignedCert:SelfSignedCert").filter((r) => !/webhooks-ca$/.test(r.name)),
                [],
            );
            assert.deepEqual(ofType(run, "akko:mtls:IntermediateCa"), [], "the trust stack signs it");
            assert.equal(trustRootsOf(run).trim(), String(trust.outputs.trustBundlePem.value).trim());
        }
    });

    it("the fleet intermediate's key reaches the cluster only as a secret (the namespaced Issuer's Secret)", () => {
        const secret = one(netcup, "kubernetes:core/v1:Secret", "akko-identity-issuer-intermediate-fleet-g1");
        assert.deepEqual(secret.inputs.metadata, {
            name: "linkerd-intermediate-fleet-g1",
            namespace: "linkerd",
            labels: { "app.kubernetes.io/part-of": "akko-mtls" },
        });
        assert.ok(
            secret.secretPaths.some((p) => p === "stringData" || p === "stringData.tls.key"),
            secret.secretPaths.join(),
        );
        const keys = trust.outputs.memberIntermediateKeys.value as Record<string, Record<string, string>>;
        assert.equal(secret.inputs.stringData["tls.key"], keys.netcup["1"]);
        const issuer = one(
            netcup,
            "kubernetes:cert-manager.io/v1:Issuer",
            "akko-identity-issuer-intermediate-fleet-g1",
        );
        assert.deepEqual(issuer.inputs.spec, { ca: { secretName: "linkerd-intermediate-fleet-g1" } });
        for (const [name, output] of Object.entries(netcup.outputs)) {
            if (!output.secret) assert.doesNotMatch(JSON.stringify(output.value), /PRIVATE KEY/, name);
        }
    });

    it("each member's identity issuer chains to the fleet anchor through its own intermediate, and verifies against every member's bundle", async () => {
        const k3d = await ok(runMember("k3d", trust.outputs));
        const members = { netcup, gke, k3d };
        const intermediates = trust.outputs.memberIntermediates.value as Record<string, { certPem: string }[]>;
        for (const [stack, run] of Object.entries(members)) {
            const issued = await identityIssuerOf(run);
            const path = linkerdLoadsIssuer(issued["tls.crt"], issued["tls.key"], trustRootsOf(run));
            assert.deepEqual(
                path.map((c) => c.fingerprint256),
                [
                    path[0].fingerprint256,
                    new crypto.X509Certificate(intermediates[stack][0].certPem).fingerprint256,
                    new crypto.X509Certificate(String(trust.outputs.trustBundlePem.value)).fingerprint256,
                ],
                `${stack}: issuer → its intermediate → the fleet anchor`,
            );
            for (const [other, otherRun] of Object.entries(members)) {
                // A proxy of `other` verifies a peer of `stack` against its own bundle.
                assert.doesNotThrow(
                    () => verifyPath(path[0], path.slice(1, -1), certificatesOf(trustRootsOf(otherRun))),
                    `${stack} → ${other}`,
                );
            }
        }
    });

    it("records its evidence for the trust stack: the fleet's phase and the bundle it applied", () => {
        assert.deepEqual(
            { ...(netcup.outputs.trustAnchorRotation.value as object), since: "-" },
            {
                generation: 1,
                phase: 0,
                since: "-",
                fleet: "trust",
                bundleSha256: bundleSha256(String(trust.outputs.trustBundlePem.value)),
            },
        );
    });

    it("fails naming the output when the trust stack's keys cannot be read (elided undecryptable secrets), are not secret, or sign nothing for it", async () => {
        // What the engine hands over for a secret it cannot decrypt: an empty object, still secret (pulumi v3.259.0
        // pkg/backend/secrets.go errorCatchingSecretsManager); and an output that is not there at all.
        const undecryptable = {
            ...trust.outputs,
            [TRUST_OUTPUTS.memberIntermediateKeys]: { value: {}, secret: true, dependencies: [] },
        };
        const without = { ...trust.outputs };
        delete without[TRUST_OUTPUTS.memberIntermediateKeys];
        for (const outputs of [undecryptable, without]) {
            const elided = await runMember("netcup", outputs);
            assert.match(String(elided.error?.message), /output memberIntermediateKeys/);
            assert.match(String(elided.error?.message), /secrets provider/);
            assert.deepEqual(kubernetesObjects(elided), [], "before any resource is registered");
            assert.deepEqual(ofType(elided, "akko:mtls:MtlsMesh"), [], "before the mesh");
        }
        const exposed = await runMember("netcup", {
            ...trust.outputs,
            memberIntermediateKeys: { ...trust.outputs.memberIntermediateKeys, secret: false },
        });
        assert.match(String(exposed.error?.message), /as a plain output: refusing/);
        const notListed = await runMember("netcup", (await ok(runTrust({ "fleet.clusters": ["eks"] }))).outputs);
        assert.match(
            String(notListed.error?.message),
            /signs no intermediate for the stack "netcup": add it to its fleet\.clusters/,
        );
        // An output in another shape (an older program, a hand edit) is refused naming it, never trusted as typed.
        for (const output of [
            TRUST_OUTPUTS.trustAnchors,
            TRUST_OUTPUTS.memberIntermediates,
            TRUST_OUTPUTS.fleetMembers,
        ]) {
            const malformed = await runMember("netcup", {
                ...trust.outputs,
                [output]: { value: [{ generation: "one" }], secret: false, dependencies: [] },
            });
            assert.match(String(malformed.error?.message), new RegExp(`output ${output}`), output);
            assert.deepEqual(kubernetesObjects(malformed), [], `${output}: before any resource is registered`);
        }
        const itself = await runStack("netcup", { "identity.trustAnchor.fleetStack": "netcup" });
        assert.match(String(itself.error?.message), /identity\.trustAnchor\.fleetStack: names this stack itself/);
    });
});

describe("fleet trust: a standalone stack joins as a rotation, never a swap", function () {
    this.timeout(120_000);
    it("phase 1 adds the fleet anchor to its bundle, 2 issues from the fleet intermediate, 3 drops its own, 0 finishes: every step loads", async () => {
        const trust = await ok(runTrust());
        const state = new ProviderState();
        const standalone = await ok(runStack("netcup", { "mtls.enabled": true }, { state }));
        const ownAnchor = String(standalone.outputs.trustAnchorPem.value).trim();
        const fleetAnchor = String(trust.outputs.trustBundlePem.value).trim();

        const swap = await runMember("netcup", trust.outputs, {}, { previousOutputs: previousOf(standalone), state });
        assert.match(
            String(swap.error?.message),
            /^akko-mtls:identity\.trustAnchor\.fleetStack: this stack runs its own trust anchor .* in one step would break every proxy/,
        );
        assert.deepEqual(kubernetesObjects(swap), [], "refused before any resource is registered");

        let previous = previousOf(standalone);
        const expected: [0 | 1 | 2 | 3, string[], string][] = [
            [1, [ownAnchor, fleetAnchor], "linkerd-intermediate-g1"],
            [2, [ownAnchor, fleetAnchor], "linkerd-intermediate-fleet-g1"],
            [3, [fleetAnchor], "linkerd-intermediate-fleet-g1"],
            [0, [fleetAnchor], "linkerd-intermediate-fleet-g1"],
        ];
        for (const [phase, bundle, issuerRef] of expected) {
            const run = await ok(
                runMember(
                    "netcup",
                    trust.outputs,
                    { "identity.trustAnchor.rotationPhase": phase },
                    { previousOutputs: previous, state },
                ),
            );
            const label = `join phase ${phase}`;
            assert.deepEqual(
                certificatesOf(trustRootsOf(run)).map((c) => c.toString().trim()),
                bundle.map((p) => new crypto.X509Certificate(p).toString().trim()),
                label,
            );
            assert.equal(
                one(run, "kubernetes:cert-manager.io/v1:Certificate", "akko-identity-issuer-certificate").inputs.spec
                    .issuerRef.name,
                issuerRef,
                label,
            );
            const issued = await identityIssuerOf(run);
            assert.ok(linkerdLoadsIssuer(issued["tls.crt"], issued["tls.key"], trustRootsOf(run)).length === 3, label);
            const ownKey = ofType(run, "tls:index/privateKey:PrivateKey").find(
                (r) => r.name === "akko-trust-anchor-g1-key",
            );
            if (phase === 3) assert.equal(ownKey?.protect, false, "phase 3 lifts the own anchor's protection");
            if (phase === 0) assert.equal(ownKey, undefined, "finishing removes the own anchor");
            else assert.ok(ownKey, label);
            previous = { ...previousOf(run), trustAnchorRotation: aged(run.outputs.trustAnchorRotation.value, 30) };
        }
        assert.deepEqual(
            { ...(previous.trustAnchorRotation as object), since: "-" },
            {
                generation: 1,
                phase: 0,
                since: "-",
                fleet: "trust",
                bundleSha256: bundleSha256(fleetAnchor),
            },
        );
    });
});

describe("fleet trust: a fleet rotation gated on the members' evidence", function () {
    // Some twenty runs of the program: seconds alone, longer next to the suite's other workers.
    this.timeout(180_000);
    it("the trust stack refuses to leave a phase until every member has applied it, naming the laggards, before any resource", async () => {
        const state = new ProviderState();
        const trust = await ok(runTrust({}, {}, { state }));
        const netcup = await ok(runMember("netcup", trust.outputs));
        const refused = await runTrust(
            { "identity.trustAnchor.rotationPhase": 1 },
            { netcup: netcup.outputs, eks: memberOutputs({ generation: 3, phase: 0, since: "2026-01-01T00:00:00Z" }) },
            { previous: trust, state },
        );
        const message = String(refused.error?.message);
        assert.match(message, /the fleet cannot leave generation 1 steady until every member has applied it/);
        assert.match(
            message,
            /Laggards: eks \(runs its own anchor \(generation 3 steady\): not joined yet\); gke \(never deployed as a member\)\./,
        );
        assert.doesNotMatch(message, /netcup/);
        assert.deepEqual(
            refused.resources.filter((r) => !r.read && r.type !== "pulumi:pulumi:Stack"),
            [],
            "only the stack and its reads",
        );
    });

    it("one config change starts it; each member's run applies the phase and records evidence; the trust stack moves on that evidence", async () => {
        const state = new ProviderState();
        const memberStates = { netcup: new ProviderState(), k3d: new ProviderState() };
        const fleet = { "fleet.clusters": ["netcup", "k3d"] };
        let trust = await ok(runTrust(fleet, {}, { state }));
        const members: Record<string, ProgramRun> = {};
        const deployMembers = async () => {
            for (const stack of ["netcup", "k3d"] as const) {
                const previousOutputs = members[stack] ? previousOf(members[stack]) : undefined;
                members[stack] = await ok(
                    runMember(stack, trust.outputs, {}, { previousOutputs, state: memberStates[stack] }),
                );
            }
        };
        await deployMembers();
        const steps: [number, 0 | 1 | 2 | 3, number, number][] = [
            // generation, phase, anchors in the bundle, generation the issuer chains to
            [1, 1, 2, 1],
            [1, 2, 2, 2],
            [1, 3, 1, 2],
            [2, 0, 1, 2],
        ];
        for (const [generation, phase, bundled, signer] of steps) {
            const memberOutputsNow = Object.fromEntries(
                Object.entries(members).map(([stack, run]) => [
                    stack,
                    { ...run.outputs, trustAnchorRotation: plain(aged(run.outputs.trustAnchorRotation.value, 30)) },
                ]),
            );
            const trustPrevious = {
                ...trust,
                outputs: { ...trust.outputs, fleetRotation: plain(aged(trust.outputs.fleetRotation.value, 30)) },
            };
            trust = await ok(
                runTrust(
                    {
                        ...fleet,
                        "identity.trustAnchor.generation": generation,
                        "identity.trustAnchor.rotationPhase": phase,
                    },
                    memberOutputsNow,
                    {
                        previous: trustPrevious,
                        state,
                    },
                ),
            );
            const label = `fleet generation ${generation} phase ${phase}`;
            assert.equal(certificatesOf(String(trust.outputs.trustBundlePem.value)).length, bundled, label);
            // The members have not applied it yet: the next step would be refused, naming both.
            const early = await runTrust(
                { ...fleet, ...nextConfig(generation, phase) },
                Object.fromEntries(Object.entries(members).map(([s, r]) => [s, r.outputs])),
                {
                    previous: {
                        ...trust,
                        outputs: {
                            ...trust.outputs,
                            fleetRotation: plain(aged(trust.outputs.fleetRotation.value, 30)),
                        },
                    },
                    state: cloneState(state),
                },
            );
            assert.match(
                String(early.error?.message),
                /Laggards: netcup .*; k3d /,
                `${label}: ${early.error?.message}`,
            );
            await deployMembers();
            const signerAnchor = (trust.outputs.trustAnchors.value as { generation: number; certPem: string }[]).find(
                (a) => a.generation === signer,
            )!;
            for (const [stack, run] of Object.entries(members)) {
                assert.deepEqual(
                    { ...(run.outputs.trustAnchorRotation.value as object), since: "-", bundleSha256: "-" },
                    { generation, phase, since: "-", fleet: "trust", bundleSha256: "-" },
                    `${stack}, ${label}`,
                );
                assert.equal(
                    trustRootsOf(run).trim(),
                    String(trust.outputs.trustBundlePem.value).trim(),
                    `${stack}, ${label}`,
                );
                const issued = await identityIssuerOf(run);
                const path = linkerdLoadsIssuer(issued["tls.crt"], issued["tls.key"], trustRootsOf(run));
                assert.equal(
                    path[path.length - 1].fingerprint256,
                    new crypto.X509Certificate(signerAnchor.certPem).fingerprint256,
                    `${stack}, ${label}`,
                );
                for (const other of Object.values(members))
                    verifyPath(path[0], path.slice(1, -1), certificatesOf(trustRootsOf(other)));
            }
        }
    });
});

/** The trust config of the step after (generation, phase). */
function nextConfig(generation: number, phase: number): Record<string, unknown> {
    return phase === 3
        ? { "identity.trustAnchor.generation": generation + 1, "identity.trustAnchor.rotationPhase": 0 }
        : { "identity.trustAnchor.generation": generation, "identity.trustAnchor.rotationPhase": phase + 1 };
}

/** A copy of provider state, for a run whose effects must not carry over. */
function cloneState(state: ProviderState): ProviderState {
    const copy = new ProviderState();
    for (const [key, value] of state.outputs) copy.outputs.set(key, value);
    return copy;
}
