/**
 * What the real engine and provider do that plain mocks hide (issue "Meet the real engine"):
 * one regression test per behaviour, each failing on the program as it was before.
 * Sources are cited where the behaviour is relied on (components/, lib/).
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { API_CHECK_TIMING } from "../components/certManager";
import { AMBIENT_KUBECONFIG } from "../components/mtlsMesh";
import { gatewayApiVersionProblem } from "../components/gatewayApi";
import { awaitCaBundle, retainAndReadopt, retainCustomResourceDefinitions } from "../components/transforms";
import { ConfigError } from "../config";
import { planMesh, readPreviousMesh } from "../lib/meshLifecycle";
import {
    defaultCluster,
    dependsOn,
    kubernetesObjects,
    ofType,
    one,
    ProgramRun,
    PROJECT_ROOT,
    ProviderState,
    UNKNOWN,
} from "../tools/mockRuntime";
import { GATEWAY_API } from "../lib/registry";
import { RotationRecord } from "../lib/rotation";
import { readPreviousDeployment, refusedTransitions } from "../lib/transitions";
import { runStack, runStackOk, STACKS } from "./helpers";
import { diffProviderConfig } from "./providerConfig";
import { providerForcesCreate, serverSideApply } from "./serverSideApply";

const CHART = "kubernetes:helm.sh/v4:Chart";
const JOB = "kubernetes:batch/v1:Job";
const PROVIDER = "pulumi:providers:kubernetes";
const HOUR = 3600_000;

/** The outputs a run leaves for the next `pulumi up` (what a self StackReference returns). */
const outputsOf = (run: ProgramRun) => Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.value]));

describe("Gateway API CRDs never collide", () => {
    it("linkerd-crds never installs them; presets: present on k3d, k3s and GKE, install on EKS", async () => {
        const modes: Record<string, string> = {};
        for (const stack of STACKS) {
            const run = await runStackOk(stack, { "mtls.enabled": true });
            assert.equal(one(run, CHART, "akko-linkerd-crds").inputs.values.installGatewayAPI, false);
            modes[stack] = one(run, "akko:mtls:GatewayApiCrds", "akko-gateway-api").inputs.mode;
        }
        assert.deepEqual(modes, { eks: "install", gke: "present", k3d: "present", netcup: "present" });
    });

    it("present: a cluster without them fails the run (and its preview) before anything else is changed", async () => {
        const run = await runStack("k3d", { "mtls.enabled": true }, { cluster: { objects: {} } });
        assert.match(String(run.error), /resource 'httproutes\.gateway\.networking\.k8s\.io' does not exist/);
        const preview = await runStack("k3d", { "mtls.enabled": true }, { cluster: { objects: {} }, preview: true });
        assert.match(String(preview.error), /does not exist/, "a read runs during preview too");
    });

    it("present: a bundle version Linkerd does not list as supported is a warning", async () => {
        const cluster = defaultCluster();
        for (const object of Object.values(cluster.objects) as any[])
            object.metadata.annotations["gateway.networking.k8s.io/bundle-version"] = "v1.6.1";
        const run = await runStackOk("netcup", { "mtls.enabled": true }, { cluster });
        assert.equal(run.warnings.length, 1);
        assert.match(run.warnings[0], /bundle version v1\.6\.1; Linkerd's docs list v1\.2\.1 to v1\.5\.1/);
        assert.equal(gatewayApiVersionProblem("v1.2.1"), undefined);
        assert.equal(gatewayApiVersionProblem("v1.5.1"), undefined);
        assert.ok(gatewayApiVersionProblem("v1.1.0"));
    });

    it("install: the upstream standard CRDs at a pinned commit, retained, never force-applied", async () => {
        const run = await runStackOk("eks", { "mtls.enabled": true });
        const group = one(run, "kubernetes:yaml/v2:ConfigGroup", "akko-gateway-api-standard");
        assert.deepEqual(
            group.inputs.files,
            GATEWAY_API.files.map(
                (f) =>
                    `https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/a8fe5c8732a37ef471d86afaf570ff8ad0ef0221/${f.path}`,
            ),
        );
        assert.deepEqual(
            group.transformNames,
            ["retainCustomResourceDefinitions"],
            "retained, and no pulumi.com/patchForce",
        );
        const crd = {
            type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
            name: "x",
            custom: true,
            props: { metadata: {} },
            opts: {},
        };
        const transformed = retainCustomResourceDefinitions(crd) as any;
        assert.equal(transformed.opts.retainOnDelete, true);
        assert.equal(
            transformed.props.metadata.annotations,
            undefined,
            "another owner's CRDs make the apply conflict instead of being overwritten",
        );
    });
});

describe("objects that outlive their stack entry are adopted again", () => {
    it("the provider upserts (server-side apply), mutates ConfigMaps and Secrets in place, never forces provider-wide", async () => {
        for (const stack of STACKS) {
            const provider = one(await runStackOk(stack, { "mtls.enabled": true }), PROVIDER, "akko-kubernetes");
            assert.equal(provider.inputs.upsertExistingObjects, "true", stack);
            assert.equal(provider.inputs.enableConfigMapMutable, "true");
            assert.equal(provider.inputs.enableSecretMutable, "true");
            assert.equal(provider.inputs.enablePatchForce, undefined);
            assert.equal(provider.inputs.deleteUnreachable, undefined, "only when removing everything at once");
        }
    });

    it("Linkerd's CRDs and the cert-manager this stack installs are retained and taken back with pulumi.com/patchForce", async () => {
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        assert.deepEqual(one(run, CHART, "akko-linkerd-crds").transformNames, ["retainAndReadopt"]);
        assert.deepEqual(one(run, CHART, "akko-cert-manager-chart").transformNames, ["retainAndReadopt"]);
        assert.equal(one(run, "kubernetes:core/v1:Namespace", "akko-cert-manager-namespace").retainOnDelete, true);
        const child = {
            type: "kubernetes:apps/v1:Deployment",
            name: "cert-manager",
            custom: true,
            props: { metadata: { annotations: { a: "b" } } },
            opts: {},
        };
        const adopted = retainAndReadopt(child) as any;
        assert.equal(adopted.opts.retainOnDelete, true);
        assert.deepEqual(adopted.props.metadata.annotations, { a: "b", "pulumi.com/patchForce": "true" });
        assert.equal(
            retainAndReadopt({ ...child, type: "kubernetes:helm.sh/v4:Chart", custom: false } as any),
            undefined,
            "not the chart itself",
        );
    });
});

describe("the provider's kubeconfig is the running machine's, never a path in state (pulumi-kubernetes#3217)", () => {
    const RUNNER = "/home/runner/work/_temp/kubeconfig";
    const LAPTOP = "/home/alice/.kube/config";
    /** A kubeconfig whose context `akko-eks` points at `server`. */
    const kubeconfig = (server: string) =>
        YAML.stringify({
            apiVersion: "v1",
            kind: "Config",
            "current-context": "akko-eks",
            clusters: [{ name: "eks", cluster: { server } }],
            contexts: [{ name: "akko-eks", context: { cluster: "eks", user: "u" } }],
            users: [{ name: "u", user: {} }],
        });
    // The same cluster, reached by CI through its private endpoint and by a laptop through the public one.
    const runner = { [RUNNER]: kubeconfig("https://10.0.0.1") };
    const laptop = { [LAPTOP]: kubeconfig("https://eks.example.com") };
    /** The provider's inputs of a run on a machine whose $KUBECONFIG is `kubeconfigEnv`. */
    const providerInputs = async (kubeconfigEnv: string, overrides: Record<string, unknown> = {}) => {
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = kubeconfigEnv;
        try {
            // Never a shared run: they are cached regardless of the environment.
            const run = await runStack("eks", { "mtls.enabled": true, ...overrides });
            if (run.error) throw run.error;
            return one(run, PROVIDER, "akko-kubernetes").inputs;
        } finally {
            if (saved === undefined) delete process.env.KUBECONFIG;
            else process.env.KUBECONFIG = saved;
        }
    };

    it("whatever $KUBECONFIG says, the provider's inputs hold no path; an explicit cluster.kubeconfig is passed as written", async () => {
        const inputs = await providerInputs(RUNNER);
        assert.equal(inputs.kubeconfig, AMBIENT_KUBECONFIG);
        assert.equal(inputs.context, "akko-eks");
        assert.ok(!JSON.stringify(inputs).includes("/home/"), JSON.stringify(inputs));
        assert.equal(
            (await providerInputs(RUNNER, { "cluster.kubeconfig": "~/.kube/akko" })).kubeconfig,
            "~/.kube/akko",
        );
    });

    it("CI then a laptop, a laptop then CI: the provider's config has no diff, so the preview neither fails nor replaces", async () => {
        const ci = await providerInputs(RUNNER);
        const alice = await providerInputs(LAPTOP);
        for (const machine of [runner, laptop])
            assert.deepEqual(diffProviderConfig(ci, alice, machine), { changed: [], replaces: [] });
        assert.deepEqual(diffProviderConfig(alice, ci, runner), { changed: [], replaces: [] });
    });

    it("what the SDK stored before (the runner's path) fails a laptop's preview, and migrates in place where it exists", async () => {
        const now = await providerInputs(RUNNER);
        const stored = { ...now, kubeconfig: RUNNER }; // @pulumi/kubernetes provider.js: `args.kubeconfig ?? $KUBECONFIG`
        // The reported failure: the laptop cannot find the path and parses it as a kubeconfig.
        assert.throws(
            () => diffProviderConfig(stored, { ...now, kubeconfig: LAPTOP }, laptop),
            /failed to parse kubeconfig/,
        );
        // Passing the laptop's own path instead would replace the provider, hence every Kubernetes resource.
        assert.deepEqual(
            diffProviderConfig(stored, { ...now, kubeconfig: LAPTOP }, { ...runner, ...laptop }).replaces,
            ["kubeconfig"],
        );
        // The migration, run by CI where the stored path exists: an update of the provider, nothing replaced.
        assert.deepEqual(diffProviderConfig(stored, now, runner), { changed: ["kubeconfig"], replaces: [] });
    });
});

describe("the mesh's namespace annotations: what the preview shows is what `up` applies", () => {
    const PATCH = "kubernetes:core/v1:NamespacePatch";
    const annotationFields = (annotations: Record<string, string>) =>
        Object.fromEntries(Object.entries(annotations).map(([key, value]) => [`metadata.annotations.${key}`, value]));
    // An operator opted `akko` out by hand and its chart labelled the namespace; the stack meshes it, strict.
    const live = {
        fields: { "metadata.annotations.linkerd.io/inject": "disabled", "metadata.annotations.team": "data" },
        owners: {
            "metadata.annotations.linkerd.io/inject": ["kubectl-annotate"],
            "metadata.annotations.team": ["helm"],
        },
    };

    it("an annotation set with kubectl annotate is taken over at the first `up`, as the preview said, and nothing else", async () => {
        const run = await runStackOk("eks", {
            "mtls.enabled": true,
            "mtls.mode": "strict",
            "mtls.ingress.enabled": true,
            "mtls.ingress.namespace": "ingress-nginx",
        });
        const patches = ofType(run, PATCH);
        assert.ok(patches.length >= 2, "akko and the ingress controller's namespace");
        for (const patch of patches) {
            const annotations = patch.inputs.metadata.annotations;
            const apply = (preview: boolean) =>
                serverSideApply(live, {
                    manager: "pulumi-kubernetes-abc123",
                    fields: annotationFields(annotations),
                    force: providerForcesCreate(annotations, /* the provider's enablePatchForce */ false, preview),
                });
            const preview = apply(true);
            const up = apply(false);
            assert.ok("object" in preview, `${patch.name}: the preview forces every create`);
            assert.deepEqual(up, preview, `${patch.name}: the first up does what the preview showed`);
            if (!("object" in up)) continue;
            assert.equal(up.object.fields["metadata.annotations.linkerd.io/inject"], annotations["linkerd.io/inject"]);
            assert.deepEqual(up.object.owners["metadata.annotations.team"], ["helm"], "other fields keep their owner");
        }
    });

    it("the oracle: without the force annotation the same `up` fails with a field conflict the preview hid", () => {
        const annotations = { "linkerd.io/inject": "enabled" };
        const apply = (preview: boolean) =>
            serverSideApply(live, {
                manager: "pulumi-kubernetes-abc123",
                fields: annotationFields(annotations),
                force: providerForcesCreate(annotations, false, preview),
            });
        assert.ok("object" in apply(true));
        assert.deepEqual(apply(false), { conflicts: ["metadata.annotations.linkerd.io/inject"] });
        // The same value is no conflict: ownership is shared.
        const same = serverSideApply(live, {
            manager: "m",
            fields: { "metadata.annotations.linkerd.io/inject": "disabled" },
            force: false,
        });
        assert.deepEqual("object" in same && same.object.owners["metadata.annotations.linkerd.io/inject"], [
            "kubectl-annotate",
            "m",
        ]);
    });
});

describe("a failed `up` never advances a record", () => {
    it("meshState and trustAnchorRotation wait for the rollout Job: if it fails, the stack registers no new record", async () => {
        const ok = await runStackOk("netcup", { "mtls.enabled": true });
        assert.equal((ok.registeredOutputs?.meshState as any)?.phase, "on", "a successful run records its state");
        const failed = await runStack("netcup", { "mtls.enabled": true }, { failing: ["akko-maintenance-rollout"] });
        assert.ok(failed.error, "the run fails");
        for (const key of ["meshState", "trustAnchorRotation"]) {
            assert.equal(failed.registeredOutputs?.[key], undefined, `${key}: the engine keeps the previous value`);
        }
    });

    it("meshState and trustAnchorRotation depend on every resource the run registers, custom or remote (charts), not on the rollout Job alone", async () => {
        for (const [stack, overrides] of [
            ["netcup", { "mtls.enabled": true }],
            ["k3d", { "mtls.enabled": true, "mtls.mode": "strict", "viz.enabled": true }],
            ["gke", { "mtls.enabled": true }],
            ["netcup", { "mtls.enabled": false }],
        ] as const) {
            const run = await runStackOk(stack, overrides);
            const registered = run.resources.filter((r) => !r.read && (r.custom || r.remote));
            assert.ok(
                registered.length >= (overrides["mtls.enabled"] ? 50 : 2),
                `${stack}: ${registered.length} resources`,
            );
            for (const key of ["meshState", "trustAnchorRotation"]) {
                const waitsFor = new Set(run.outputs[key].dependencies);
                const missed = registered.filter((r) => !waitsFor.has(r.urn)).map((r) => `${r.type} ${r.name}`);
                assert.deepEqual(
                    missed,
                    [],
                    `${stack} ${JSON.stringify(overrides)}: ${key} resolves before these complete`,
                );
            }
        }
    });

    for (const sibling of [
        "akko-maintenance-cronjob",
        "akko-maintenance-restart-only",
        "akko-viz-chart",
        "akko-viz-prometheus-rules",
    ]) {
        it(`a sibling the rollout Job does not wait for fails (${sibling}): no record is registered, the previous ones stay`, async () => {
            const run = await runStack("netcup", { "mtls.enabled": true }, { failing: [sibling] });
            assert.ok(run.error, "the run fails");
            assert.ok(
                ofType(run, JOB).some((j) => j.name === "akko-maintenance-rollout") ||
                    sibling === "akko-maintenance-restart-only",
                "the rollout itself completed (unless it waits for the failed one)",
            );
            for (const key of ["meshState", "trustAnchorRotation"]) {
                assert.equal(run.registeredOutputs?.[key], undefined, `${key}: the engine keeps the previous value`);
            }
        });
    }

    it("a rotation phase whose rollout fails leaves the previous phase recorded", async () => {
        const state = new ProviderState();
        const steady = await runStackOk("k3d", { "mtls.enabled": true }, { state });
        const previousOutputs = {
            ...outputsOf(steady),
            trustAnchorRotation: { generation: 1, phase: 0, since: new Date(Date.now() - 100 * HOUR).toISOString() },
        };
        const phase1 = await runStack(
            "k3d",
            { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 1 },
            { state, previousOutputs, failing: ["akko-maintenance-rollout"] },
        );
        assert.ok(phase1.error);
        assert.equal(phase1.registeredOutputs?.trustAnchorRotation, undefined);
    });

    it("a stack that was meshed but whose record cannot be read drains (fails closed) instead of deleting at once", async () => {
        const ingress = { enabled: false, controller: "in-namespace" as const, mode: "enabled" as const };
        const settings = {
            enabled: false,
            namespaces: ["akko"],
            mode: "permissive" as const,
            drainOnDisable: true,
            ingress,
        };
        for (const outputs of [
            { mtlsEnabled: true },
            { mtlsEnabled: true, meshState: { phase: "sideways" } },
            { linkerdChartVersion: "2026.8.3" },
        ]) {
            const previous = readPreviousMesh(outputs, settings);
            assert.deepEqual(
                previous.state,
                { phase: "on", namespaces: ["akko"], mode: "strict" },
                JSON.stringify(outputs),
            );
            assert.ok(previous.assumed);
            assert.equal(planMesh(settings, previous.state).phase, "draining-policy");
        }
        assert.deepEqual(readPreviousMesh({}, settings), { state: undefined }, "a stack never deployed");
        const run = await runStackOk(
            "netcup",
            { "mtls.enabled": false },
            {
                previousOutputs: {
                    mtlsEnabled: true,
                    trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" },
                },
            },
        );
        assert.equal((run.outputs.meshState.value as any).phase, "draining-policy");
        assert.ok(
            ofType(run, CHART).some((c) => c.name === "akko-linkerd-control-plane"),
            "the control plane stays",
        );
        assert.ok(run.warnings.some((w) => /recorded no meshState; the stack was meshed/.test(w)));
    });
});

describe("Jobs don't wedge the stack", () => {
    const minutes = (duration: string) => Number(/^(\d+)m$/.exec(duration)?.[1]);

    it("the rollout Job: re-run when unready, its deadline inside Pulumi's wait, the script's budget equal to the deadline", async () => {
        for (const overrides of [
            {},
            { "rotationJob.deadlineMinutes": 120, "rotationJob.rolloutTimeoutSeconds": 1800 },
        ]) {
            const run = await runStackOk("netcup", { "mtls.enabled": true, ...overrides });
            const job = one(run, JOB, "akko-maintenance-rollout");
            assert.equal(job.inputs.metadata.annotations["pulumi.com/replaceUnready"], "true");
            const deadline = job.inputs.spec.activeDeadlineSeconds;
            assert.equal(deadline, ((overrides as any)["rotationJob.deadlineMinutes"] ?? 50) * 60);
            assert.equal(
                minutes(job.customTimeouts.create) * 60,
                deadline + 300,
                "Pulumi waits 5 minutes longer than the Job may run",
            );
            assert.equal(job.customTimeouts.update, job.customTimeouts.create);
            const env = Object.fromEntries(
                job.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
            );
            assert.equal(Number(env.DEADLINE_SECONDS), deadline);
            assert.ok(Number(env.ROLLOUT_TIMEOUT_SECONDS) + 60 <= deadline);
            const cron = one(run, "kubernetes:batch/v1:CronJob", "akko-maintenance-cronjob").inputs.spec.jobTemplate
                .spec;
            assert.equal(cron.activeDeadlineSeconds, deadline);
        }
    });

    it("cert-manager's API check: cmctl gives up before the Job's deadline, which ends before Pulumi stops waiting", async () => {
        const job = one(await runStackOk("netcup", { "mtls.enabled": true }), JOB, "akko-cert-manager-api-check");
        assert.equal(job.inputs.metadata.annotations["pulumi.com/replaceUnready"], "true");
        assert.equal(job.inputs.spec.backoffLimit, 0);
        const wait = Number(/--wait=(\d+)m/.exec(job.inputs.spec.template.spec.containers[0].args.join(" "))![1]);
        assert.ok(wait * 60 < job.inputs.spec.activeDeadlineSeconds);
        assert.ok(job.inputs.spec.activeDeadlineSeconds < minutes(job.customTimeouts.create) * 60);
        assert.equal(job.inputs.spec.activeDeadlineSeconds, API_CHECK_TIMING.deadlineSeconds);
    });

    it("a restart timeout that cannot fit the deadline is refused", async () => {
        const run = await runStack("netcup", { "rotationJob.rolloutTimeoutSeconds": 3000 });
        assert.ok(run.error instanceof ConfigError);
        assert.match(
            run.error.message,
            /rotationJob\.rolloutTimeoutSeconds: must leave a minute inside rotationJob\.deadlineMinutes \(50 min\)/,
        );
    });
});

describe("previews stay complete: every existing chart's values are known at preview", () => {
    /** Deploys, then previews a change with the deployment's state: new or changed resources have unknown outputs. */
    async function previewAfter(
        stack: string,
        change: Record<string, unknown>,
        tamper?: (state: ProviderState) => void,
    ) {
        const state = new ProviderState();
        const deployed = await runStackOk(stack, { "mtls.enabled": true }, { state });
        const previousOutputs = {
            ...outputsOf(deployed),
            trustAnchorRotation: {
                ...(deployed.outputs.trustAnchorRotation.value as RotationRecord),
                since: new Date(Date.now() - 100 * HOUR).toISOString(),
            },
        };
        tamper?.(state);
        const preview = await runStackOk(
            stack,
            { "mtls.enabled": true, ...change },
            { state, previousOutputs, preview: true },
        );
        return { deployed, preview };
    }

    const unknownIn = (value: unknown) => JSON.stringify(value).includes(UNKNOWN);

    /** Forgets a resource's state, as a replacement (renewal) does. */
    const renew =
        (...names: RegExp[]) =>
        (state: ProviderState) => {
            for (const key of [...state.outputs.keys()]) if (names.some((n) => n.test(key))) state.outputs.delete(key);
        };

    // [why, stack, change, what the change renews, whether unknown values exist somewhere in the preview]
    const cases: [string, string, Record<string, unknown>, ((state: ProviderState) => void) | undefined, boolean][] = [
        [
            "rotation phase 1 (a new trust anchor), static issuer",
            "k3d",
            { "identity.trustAnchor.rotationPhase": 1 },
            undefined,
            true,
        ],
        [
            "rotation phase 1, cert-manager issuer",
            "netcup",
            { "identity.trustAnchor.rotationPhase": 1 },
            undefined,
            true,
        ],
        ["a static identity issuer renewed", "k3d", {}, renew(/identity-issuer-(cert|key|csr)$/), true],
        // Re-signed (earlyRenewalHours): the issuer Secret (static) or the intermediate's Secret (cert-manager) changes, no chart value.
        ["the intermediate re-signed, static issuer", "k3d", {}, renew(/intermediate-g1-cert$/), true],
        ["the intermediate re-signed, cert-manager issuer", "netcup", {}, renew(/intermediate-g1-cert$/), true],
        [
            "static webhook serving certificates renewed",
            "k3d",
            {},
            renew(/webhooks-(linkerd-[a-z-]+|tap|tap-injector)-(cert|key|csr)$/),
            true,
        ],
        [
            "a namespace added (new rules, new NetworkPolicies)",
            "netcup",
            { "mtls.namespaces": ["akko", "spark"] },
            undefined,
            false,
        ],
        ["permissive to strict", "eks", { "mtls.mode": "strict" }, undefined, false],
        [
            "the rotation Job's window moved",
            "gke",
            { "rotationJob.windowStartHour": 10 },
            renew(/maintenance-minute$/),
            true,
        ],
    ];
    for (const [why, stack, change, tamper, unknownsExpected] of cases) {
        it(`${why} (${stack})`, async () => {
            const { deployed, preview } = await previewAfter(stack, change, tamper);
            if (unknownsExpected)
                assert.ok(
                    preview.resources.some((r) => unknownIn(r.inputs)),
                    "the preview does hold unknowns (the check can fail)",
                );
            for (const chart of ofType(deployed, CHART)) {
                const previewed = one(preview, CHART, chart.name);
                assert.ok(
                    !unknownIn(previewed.inputs),
                    `${chart.name}: an unknown input; the preview would show its children deleted`,
                );
            }
        });
    }
});

describe("no delete-then-create of live config; a script change re-runs nothing", () => {
    it("the rollout Job depends on the mesh and the control plane's inputs only, not on the script's text", async () => {
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        const job = one(run, JOB, "akko-maintenance-rollout");
        const script = fs.readFileSync(path.join(PROJECT_ROOT, "cluster", "mesh-check.mjs"), "utf8");
        const digest = (text: string) => crypto.createHash("sha256").update(text).digest("hex");
        assert.doesNotMatch(JSON.stringify(job.inputs), new RegExp(digest(script).slice(0, 10)));
        const configMap = one(run, "kubernetes:core/v1:ConfigMap", "akko-maintenance-script");
        assert.equal(configMap.inputs.immutable, undefined, "updated in place (enableConfigMapMutable)");
        assert.equal(
            job.inputs.spec.template.spec.volumes.find((v: any) => v.name === "script").configMap.name,
            configMap.inputs.metadata.name,
        );
    });
});

describe("webhooks are ready before use", () => {
    it("the control plane and viz charts wait for every webhook's CA bundle; policy objects wait for the control plane", async () => {
        const run = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.mode": "strict",
            "mtls.authorizations": [
                {
                    namespace: "akko",
                    name: "trino",
                    podSelector: { app: "trino" },
                    port: 8080,
                    clients: ["spark.akko.serviceaccount.identity.linkerd.cluster.local"],
                },
            ],
        });
        assert.deepEqual(one(run, CHART, "akko-linkerd-control-plane").transformNames, ["awaitCaBundle"]);
        assert.deepEqual(one(run, CHART, "akko-viz-chart").transformNames, ["awaitCaBundle"]);
        const controlPlane = one(run, CHART, "akko-linkerd-control-plane");
        for (const type of ["Server", "MeshTLSAuthentication", "AuthorizationPolicy"]) {
            const object = run.resources.find((r) => r.type.endsWith(`:${type}`))!;
            assert.ok(dependsOn(run, object, controlPlane), `${type} waits for the policy validator`);
        }
        const transform = (type: string) =>
            (awaitCaBundle({ type, name: "x", custom: true, props: { metadata: { name: "x" } }, opts: {} }) as any)
                ?.props.metadata.annotations["pulumi.com/waitFor"];
        assert.equal(
            transform("kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration"),
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        );
        assert.equal(
            transform("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration"),
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        );
        assert.equal(transform("kubernetes:apiregistration.k8s.io/v1:APIService"), "jsonpath={.spec.caBundle}");
        assert.equal(transform("kubernetes:apps/v1:Deployment"), undefined);
    });
});

describe("config transitions that would cut traffic are refused, with the safe path", () => {
    const deployedAs = (issuerMode: string) => ({
        meshState: { phase: "on", namespaces: ["akko"], mode: "permissive" },
        identityIssuerMode: issuerMode,
        webhookTrust: "program-ca",
        trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" },
        mtlsEnabled: true,
    });

    for (const [from, to] of [
        ["static", "certManager"],
        ["certManager", "static"],
    ]) {
        it(`identity.issuer.mode ${from} -> ${to} on a meshed stack`, async () => {
            const run = await runStack(
                "netcup",
                { "mtls.enabled": true, "identity.issuer.mode": to },
                { previousOutputs: deployedAs(from) },
            );
            assert.ok(run.error instanceof ConfigError && run.error instanceof pulumi.RunError, String(run.error));
            assert.match(
                run.error.message,
                /akko-mtls:identity\.issuer\.mode: cannot change from .* while the mesh is deployed.*Safe path: .*run `pulumi up` until meshState is off/s,
            );
            assert.deepEqual(kubernetesObjects(run), []);
        });
    }

    it("the same switch is fine once the mesh is off", () => {
        const settings = {
            mtls: { enabled: true },
            identity: { issuer: { mode: "certManager" as const } },
            certManager: { install: true, namespace: "cert-manager" },
        };
        const off = readPreviousDeployment(
            { identityIssuerMode: "static" },
            { phase: "off", namespaces: [], mode: "permissive" },
        );
        assert.deepEqual(refusedTransitions(settings, off), []);
    });

    it("webhook failure policy Fail without HA (one injector) is refused", async () => {
        const run = await runStack("eks", { "linkerd.highAvailability": false, "linkerd.controllerReplicas": 1 });
        assert.ok(run.error instanceof ConfigError);
        assert.ok(
            run.error.problems.some(
                (p) =>
                    p.key === "akko-mtls:linkerd.webhookFailurePolicy" &&
                    /Fail needs linkerd\.highAvailability true/.test(p.message),
            ),
        );
        const fixed = await runStackOk("eks", {
            "linkerd.highAvailability": false,
            "linkerd.controllerReplicas": 1,
            "linkerd.webhookFailurePolicy": "Ignore",
        });
        assert.equal(fixed.error, undefined);
    });

    it("removing a namespace a strict authorization still names as a client is refused", async () => {
        const run = await runStack("netcup", {
            "mtls.enabled": true,
            "mtls.mode": "strict",
            "mtls.namespaces": ["akko"],
            "mtls.authorizations": [
                {
                    namespace: "akko",
                    name: "trino",
                    podSelector: { app: "trino" },
                    port: 8080,
                    clients: ["spark.spark.serviceaccount.identity.linkerd.cluster.local"],
                },
            ],
        });
        assert.ok(run.error instanceof ConfigError);
        assert.match(
            run.error.message,
            /mtls\.authorizations\[0\]\.clients\[0\]: names a namespace \(its second part\) that is not meshed.*\(got "spark\.spark\./,
        );
    });

    it("certManager.install true -> false, or the last disable step: cert-manager is retained and the operator is told", async () => {
        const previousOutputs = { ...deployedAs("certManager"), certManagerChartVersion: "v1.21.1" };
        const handedOver = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "certManager.install": false },
            { previousOutputs },
        );
        assert.ok(
            handedOver.warnings.some((w) => /cert-manager, installed by this stack, stays in the cluster/.test(w)),
        );
        const last = await runStackOk(
            "netcup",
            { "mtls.enabled": false },
            {
                previousOutputs: {
                    ...previousOutputs,
                    meshState: { phase: "draining-proxies", namespaces: ["akko"], mode: "permissive" },
                },
            },
        );
        assert.deepEqual(kubernetesObjects(last), []);
        assert.ok(last.warnings.some((w) => /stays in the cluster/.test(w)));
    });

    it("drainOnDisable false: only the provider remains, with deleteUnreachable, so a gone cluster's objects leave the stack", async () => {
        const run = await runStackOk(
            "netcup",
            { "mtls.enabled": false, "mtls.drainOnDisable": false },
            { previousOutputs: { meshState: { phase: "on", namespaces: ["akko"], mode: "strict" } } },
        );
        assert.deepEqual(
            run.resources.filter((r) => r.type.startsWith("kubernetes:") || r.type === PROVIDER).map((r) => r.type),
            [PROVIDER],
        );
        assert.equal(one(run, PROVIDER, "akko-kubernetes").inputs.deleteUnreachable, "true");
        assert.equal((run.outputs.meshState.value as any).phase, "off");
    });
});

describe("errors a person can act on; secret config stays secret", () => {
    it("a rejected config is a RunError: one line per problem, no stack, no properties dumped", async () => {
        const run = await runStack("netcup", { "mtls.enable": true, "linkerd.controllerReplicas": 0 });
        assert.ok(run.error instanceof pulumi.RunError, "printed by the CLI as its message alone");
        assert.deepEqual(
            run.error.message
                .split("\n")
                .slice(1)
                .map((line) => line.replace(/: .*/, "")),
            ["  - akko-mtls:mtls.enable", "  - akko-mtls:linkerd.controllerReplicas"],
        );
    });

    it("the value of a key marked secret is never echoed", async () => {
        const run = await runStack(
            "eks",
            {
                "viz.prometheus.mode": "external",
                "viz.prometheus.alertmanagers": [],
                "viz.prometheus.url": "not a url with hunter2",
            },
            { secretKeys: ["akko-mtls:viz"] },
        );
        assert.ok(run.error instanceof ConfigError);
        assert.doesNotMatch(run.error.message, /hunter2/);
        assert.match(run.error.message, /akko-mtls:viz\.prometheus\.url: .*\(got \[secret\]\)/);
    });

    it("config marked secret stays secret in every resource input it reaches (annotations, chart values)", async () => {
        const url = "http://scraper:s3cr3t@prometheus.monitoring.svc:9090";
        const overrides = {
            "mtls.enabled": true,
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": url,
            "observability.prometheusOperator": true,
        };
        const run = await runStackOk("eks", overrides, { secretKeys: ["akko-mtls:viz"] });
        const namespace = one(run, "kubernetes:core/v1:Namespace", "akko-viz-namespace");
        assert.ok(
            namespace.secretPaths.includes("metadata.annotations.viz.linkerd.io/external-prometheus"),
            namespace.secretPaths.join(),
        );
        assert.ok(one(run, CHART, "akko-viz-chart").secretPaths.includes("values.prometheusUrl"));
        const plain = await runStackOk("eks", overrides);
        assert.deepEqual(
            one(plain, "kubernetes:core/v1:Namespace", "akko-viz-namespace").secretPaths,
            [],
            "not secret unless marked",
        );
    });
});

describe("supported toolchain", () => {
    it("package.json and the workflows ask for a Node.js LTS that @pulumi/pulumi supports (>= 22)", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
        assert.equal(pkg.engines.node, ">=22");
        const pulumiEngines = JSON.parse(fs.readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8"))
            .engines.node;
        assert.match(pulumiEngines, />=\s*22/, "what @pulumi/pulumi declares");
        const setup = YAML.parse(
            fs.readFileSync(path.join(PROJECT_ROOT, ".github", "actions", "setup", "action.yml"), "utf8"),
        );
        const node = setup.runs.steps.find((s: any) => String(s.uses).startsWith("actions/setup-node@")).with[
            "node-version"
        ];
        assert.ok(Number(node) >= 22 && Number(node) % 2 === 0, `an LTS (even) line >= 22, not ${node}`);
    });

    it("the README states the minimum Pulumi CLI (transforms reaching chart children: 3.113)", () => {
        assert.match(fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8"), /Pulumi CLI ≥ 3\.113/);
    });
});
