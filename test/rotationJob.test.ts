/**
 * The maintenance Jobs as the program declares them: their restricted namespace, schedule, images,
 * the script from the repository, one identity per Job kind with only what it needs, no Secret, a
 * token only where kubectl runs (their admission policy: test/restartOnlyPolicy.test.ts).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { MESH_CHECK_SCRIPT_PATH } from "../components/meshMaintenance";
import { ofType, one, ProgramRun, ProviderState } from "../tools/mockRuntime";
import { runStackOk, STACKS, STRICT } from "./helpers";
import { LINKERD_EDGE } from "../lib/registry";

const CRONJOB = "kubernetes:batch/v1:CronJob";
const JOB = "kubernetes:batch/v1:Job";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";

const cronSpec = (run: ProgramRun) => one(run, CRONJOB, "akko-maintenance-cronjob").inputs.spec.jobTemplate.spec;
const podSpecs = (run: ProgramRun) => [
    cronSpec(run).template.spec,
    ...ofType(run, JOB)
        .filter((j) => j.name.startsWith("akko-maintenance"))
        .map((j) => j.inputs.spec.template.spec),
];
const envOf = (spec: any): Record<string, string> =>
    Object.fromEntries(spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));

/** Roles by ServiceAccount and namespace: `account -> namespace -> rules`. */
function rbac(run: ProgramRun): Record<string, Record<string, any[]>> {
    const result: Record<string, Record<string, any[]>> = {};
    for (const role of ofType(run, ROLE).filter((r) => r.name.startsWith("akko-maintenance"))) {
        const account = role.inputs.metadata.name;
        (result[account] ??= {})[role.inputs.metadata.namespace] = role.inputs.rules;
    }
    return result;
}

/**
 * Pod Security `restricted` (Kubernetes Pod Security Standards, v1.3x): the checks that apply to a
 * pod spec, for every container.
 */
function restrictedViolations(spec: any): string[] {
    const problems: string[] = [];
    const podContext = spec.securityContext ?? {};
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        const context = container.securityContext ?? {};
        const where = container.name;
        if (context.allowPrivilegeEscalation !== false)
            problems.push(`${where}: allowPrivilegeEscalation must be false`);
        if (!(context.runAsNonRoot ?? podContext.runAsNonRoot)) problems.push(`${where}: runAsNonRoot`);
        if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${where}: runAsUser 0`);
        if (!["RuntimeDefault", "Localhost"].includes((context.seccompProfile ?? podContext.seccompProfile)?.type))
            problems.push(`${where}: seccompProfile`);
        if (!context.capabilities?.drop?.includes("ALL")) problems.push(`${where}: capabilities must drop ALL`);
        if ((context.capabilities?.add ?? []).some((c: string) => c !== "NET_BIND_SERVICE"))
            problems.push(`${where}: adds capabilities`);
        if (context.privileged) problems.push(`${where}: privileged`);
    }
    for (const volume of spec.volumes ?? []) {
        const kind = Object.keys(volume).find((k) => k !== "name")!;
        if (
            ![
                "configMap",
                "emptyDir",
                "projected",
                "secret",
                "downwardAPI",
                "persistentVolumeClaim",
                "ephemeral",
                "csi",
            ].includes(kind)
        )
            problems.push(`volume ${volume.name}: ${kind}`);
    }
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push("host namespaces");
    return problems;
}

describe("maintenance Jobs", () => {
    let run: ProgramRun;
    let strict: ProgramRun;
    before(async () => {
        run = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        strict = await runStackOk("netcup", STRICT);
    });

    it("run in their own namespace, which enforces Pod Security restricted, and are admitted under it", () => {
        const namespace = one(run, "kubernetes:core/v1:Namespace", "akko-maintenance-namespace");
        assert.equal(namespace.inputs.metadata.name, "linkerd-maintenance");
        assert.equal(namespace.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.equal(
            namespace.inputs.metadata.annotations["linkerd.io/inject"],
            "disabled",
            "a proxy would keep a Job from completing",
        );
        for (const object of [
            one(run, CRONJOB, "akko-maintenance-cronjob"),
            ...ofType(strict, JOB).filter((j) => j.name.startsWith("akko-maintenance")),
        ]) {
            assert.equal(object.inputs.metadata.namespace, "linkerd-maintenance", object.name);
        }
        for (const spec of [...podSpecs(run), ...podSpecs(strict)]) assert.deepEqual(restrictedViolations(spec), []);
        assert.ok(
            restrictedViolations({ containers: [{ name: "x", securityContext: {} }] }).length > 3,
            "the checker catches a non-compliant pod",
        );
    });

    it("run daily at a minute drawn once per stack inside the window", async () => {
        const cronJob = one(run, CRONJOB, "akko-maintenance-cronjob");
        assert.equal(cronJob.inputs.spec.timeZone, "Etc/UTC");
        assert.equal(cronJob.inputs.spec.concurrencyPolicy, "Forbid");
        const schedules = new Map<string, string>();
        for (const stack of STACKS) {
            const state = new ProviderState();
            const first = await runStackOk(stack, { "mtls.enabled": true }, { state });
            const again = await runStackOk(stack, { "mtls.enabled": true }, { state });
            const schedule: string = one(first, CRONJOB, "akko-maintenance-cronjob").inputs.spec.schedule;
            assert.equal(
                one(again, CRONJOB, "akko-maintenance-cronjob").inputs.spec.schedule,
                schedule,
                "kept in state",
            );
            const [minute, hour, ...rest] = schedule.split(" ");
            assert.deepEqual(rest, ["*", "*", "*"], "daily");
            const minuteOfDay = Number(hour) * 60 + Number(minute);
            assert.ok(minuteOfDay >= 2 * 60 && minuteOfDay < 6 * 60, `${stack}: ${schedule} inside 02:00-06:00 UTC`);
            schedules.set(stack, schedule);
        }
        assert.ok(
            new Set(schedules.values()).size > 1,
            `stacks do not all run at once: ${[...schedules.values()].join(", ")}`,
        );
    });

    it("mount the script from the repository, run it with node, kubectl copied by an init container; images pinned by digest", () => {
        const configMap = one(run, "kubernetes:core/v1:ConfigMap", "akko-maintenance-script");
        assert.equal(configMap.inputs.data["mesh-check.mjs"], fs.readFileSync(MESH_CHECK_SCRIPT_PATH, "utf8"));
        const spec = cronSpec(run).template.spec;
        // node's heap capped for the container's 128 Mi (scriptMemoryBudget, test/maintenanceJobs.test.ts).
        assert.deepEqual(spec.containers[0].command, [
            "node",
            "--max-old-space-size=24",
            "--max-semi-space-size=1",
            "/scripts/mesh-check.mjs",
        ]);
        assert.deepEqual(spec.initContainers[0].command, ["cp", "/usr/bin/kubectl", "/tools/kubectl"]);
        for (const container of [...spec.initContainers, ...spec.containers]) {
            assert.match(container.image, /@sha256:[a-f0-9]{64}$/, `${container.name} pinned by digest`);
            assert.ok(container.resources.limits.memory, `${container.name} has a memory limit`);
        }
        assert.equal(spec.volumes.find((v: any) => v.name === "script").configMap.name, configMap.inputs.metadata.name);
        assert.equal(cronSpec(run).backoffLimit, 0, "a failure is an alert");
    });

    it("a token only in the container that calls the API, none in the one that copies kubectl", () => {
        for (const spec of [...podSpecs(run), ...podSpecs(strict)]) {
            assert.equal(spec.automountServiceAccountToken, false);
            const [copy] = spec.initContainers;
            assert.ok(!copy.volumeMounts.some((m: any) => m.name === "token"), "the kubectl copier has no token");
            const token = spec.volumes.find((v: any) => v.name === "token");
            assert.deepEqual(token.projected.sources[0], {
                serviceAccountToken: { path: "token", expirationSeconds: 3600 },
            });
            assert.ok(
                spec.containers[0].volumeMounts.some(
                    (m: any) => m.name === "token" && m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount",
                ),
            );
        }
        for (const account of ofType(strict, "kubernetes:core/v1:ServiceAccount").filter((a) =>
            a.name.startsWith("akko-maintenance"),
        )) {
            assert.equal(account.inputs.automountServiceAccountToken, false, account.name);
        }
    });

    it("pass thresholds and scope from the config", async () => {
        const env = envOf(cronSpec(run).template.spec);
        assert.match(env.CONTROL_PLANE_DIGEST, /^[0-9a-f]{16}$/);
        delete env.CONTROL_PLANE_DIGEST;
        assert.deepEqual(env, {
            LINKERD_NAMESPACE: "linkerd",
            ISSUER_SOURCE: JSON.stringify({ kind: "certificate", name: "linkerd-identity-issuer" }),
            TRUST_ROOTS_CONFIGMAP: "linkerd-identity-trust-roots",
            MAX_CONCURRENT_RESTARTS: "2",
            ROLLOUT_TIMEOUT_SECONDS: "600",
            DEADLINE_SECONDS: "3000",
            PAGE_SIZE: "128",
            MAX_PAGE_BYTES: String(2 * 1024 * 1024),
            MAX_PAGES: "2000",
            KUBECTL_TIMEOUT_SECONDS: "30",
            TASKS: "certificates,control-plane,restarts",
            MESHED_NAMESPACES: "akko,spark,linkerd-viz",
            UNMESHED_NAMESPACES: "",
            EXPECTED_INBOUND_POLICY: JSON.stringify({ akko: "all-unauthenticated", spark: "all-unauthenticated" }),
            EXPECTED_ANNOTATIONS: "{}",
            INGRESS: JSON.stringify({
                namespace: "kube-system",
                selector: "app.kubernetes.io/name=traefik",
                inject: true,
                deployment: "traefik",
            }),
            PROXY_VERSION: LINKERD_EDGE,
            MAX_VERSION_RESTARTS: "10",
            CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity,linkerd-destination,linkerd-proxy-injector",
            ISSUER_MIN_HOURS_LEFT: "24",
            ANCHOR_MIN_DAYS_LEFT: "60",
            // Half of identity.intermediate.renewBeforeHours (2160): `pulumi up` re-signs it from 2160 h before expiry.
            INTERMEDIATE_MIN_HOURS_LEFT: "1080",
            PATH: "/tools:/usr/local/bin:/usr/bin:/bin",
            HOME: "/tmp",
        });
        const k3d = await runStackOk("k3d", { "mtls.enabled": true, "rotationJob.maxConcurrentRestarts": 5 });
        const k3dEnv = envOf(cronSpec(k3d).template.spec);
        assert.equal(
            k3dEnv.ISSUER_SOURCE,
            JSON.stringify({ kind: "configmap", name: "linkerd-identity-issuer-certificate", key: "tls.crt" }),
        );
        assert.equal(k3dEnv.ISSUER_MIN_HOURS_LEFT, "1440");
        assert.equal(k3dEnv.MAX_CONCURRENT_RESTARTS, "5");
    });

    it("RBAC: one identity per Job kind, each with what its tasks need; no Secret, no wildcard, no cluster-wide right", () => {
        const roles = rbac(strict);
        assert.deepEqual(Object.keys(roles).sort(), [
            "linkerd-mesh-check",
            "linkerd-mesh-network",
            "linkerd-mesh-pod-security",
            "linkerd-mesh-preflight",
            "linkerd-mesh-rollout",
        ]);
        const verifyOwners = { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] };
        const restart = [
            { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            {
                apiGroups: ["apps"],
                resources: ["deployments", "statefulsets", "daemonsets"],
                verbs: ["get", "list", "watch", "patch"],
            },
            { apiGroups: ["apps"], resources: ["replicasets", "controllerrevisions"], verbs: ["list"] },
            // A pod's ReplicaSet, read by name to verify the pod belongs to the Deployment restarted.
            verifyOwners,
        ];
        const controlPlane = [
            {
                apiGroups: ["apps"],
                resources: ["deployments"],
                resourceNames: ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"],
                verbs: ["get", "patch", "list", "watch"],
            },
            { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
        ];
        const trustRoots = {
            apiGroups: [""],
            resources: ["configmaps"],
            resourceNames: ["linkerd-identity-trust-roots"],
            verbs: ["get"],
        };
        const restarting = {
            // Both check the certificates before they restart anything: the issuer through cert-manager's
            // Certificate and its request, never the Secret.
            linkerd: [
                trustRoots,
                {
                    apiGroups: ["cert-manager.io"],
                    resources: ["certificates"],
                    resourceNames: ["linkerd-identity-issuer"],
                    verbs: ["get"],
                },
                { apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["list"] },
                ...controlPlane,
            ],
            akko: restart,
            spark: restart,
            "linkerd-viz": restart,
            "kube-system": [
                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                {
                    apiGroups: ["apps"],
                    resources: ["deployments"],
                    resourceNames: ["traefik"],
                    verbs: ["get", "patch", "list", "watch"],
                },
                { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
                // Traefik's pods are found by a label: each is traced to its Deployment before it counts.
                verifyOwners,
            ],
        };
        assert.deepEqual(roles["linkerd-mesh-check"], restarting);
        assert.deepEqual(roles["linkerd-mesh-rollout"], restarting);
        assert.deepEqual(roles["linkerd-mesh-preflight"], {
            akko: [
                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["list"] },
            ],
            spark: [
                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["list"] },
            ],
        });
        // The network preflight lists NetworkPolicies in the meshed namespaces, nothing else.
        const listPolicies = [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list"] }];
        assert.deepEqual(roles["linkerd-mesh-network"], { akko: listPolicies, spark: listPolicies });
        // The Pod Security check creates pods where the run injects (and the ingress controller's): as dry
        // runs only, which its admission policy enforces (test/podSecurityCheck.test.ts, CEL and the RBAC oracle).
        const createPods = [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }];
        assert.deepEqual(roles["linkerd-mesh-pod-security"], {
            akko: createPods,
            spark: createPods,
            "kube-system": createPods,
        });
        const { "linkerd-mesh-pod-security": _dryRunOnly, ...others } = roles;
        for (const rules of Object.values(others).flatMap((byNamespace) => Object.values(byNamespace))) {
            for (const rule of rules) {
                assert.ok(![...rule.verbs, ...rule.resources, ...rule.apiGroups].includes("*"), "no wildcard");
                assert.ok(!rule.resources.includes("secrets"), "no Secret");
                assert.ok(
                    !rule.verbs.some((v: string) => ["create", "delete", "update", "deletecollection"].includes(v)),
                );
            }
        }
        assert.equal(
            strict.resources.filter((r) => r.type.includes("ClusterRole")).length,
            0,
            "no cluster-wide rights",
        );
        for (const binding of ofType(strict, BINDING).filter((r) => r.name.startsWith("akko-maintenance"))) {
            assert.equal(binding.inputs.subjects[0].namespace, "linkerd-maintenance");
            assert.equal(binding.inputs.subjects[0].name, binding.inputs.metadata.name);
            assert.equal(binding.inputs.roleRef.kind, "Role");
        }
    });

    it("the rollout checks the certificates (validity only) before it restarts; in rotation phase 2 it also reloads identity", async () => {
        const steady = envOf(one(run, JOB, "akko-maintenance-rollout").inputs.spec.template.spec);
        assert.equal(steady.TASKS, "certificates,control-plane,restarts,verify-bundle");
        // The daily check alerts on time left; the rollout of an anchor rotation runs because time is short.
        assert.deepEqual([steady.ISSUER_MIN_HOURS_LEFT, steady.ANCHOR_MIN_DAYS_LEFT], ["0", "0"]);
        const previousOutputs = { trustAnchorRotation: { generation: 1, phase: 1, since: "2026-01-01T00:00:00Z" } };
        const phase2 = await runStackOk(
            "k3d",
            { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 2 },
            { previousOutputs },
        );
        assert.deepEqual(rbac(phase2)["linkerd-mesh-rollout"].linkerd[1], {
            apiGroups: [""],
            resources: ["configmaps"],
            resourceNames: ["linkerd-identity-issuer-certificate"],
            verbs: ["get"],
        });
        const env = envOf(one(phase2, JOB, "akko-maintenance-rollout").inputs.spec.template.spec);
        assert.equal(env.TASKS, "certificates,control-plane,reload-identity,restarts,verify-bundle");
        assert.match(env.SIGNING_ANCHOR_SHA256, /^[0-9A-F]{64}$/);
    });

    it("rotationJob.enabled: false leaves the CronJob and its identity out (the rollout Job stays)", async () => {
        const without = await runStackOk("netcup", { "mtls.enabled": true, "rotationJob.enabled": false });
        assert.deepEqual(ofType(without, CRONJOB), []);
        assert.equal(without.outputs.rotationJobSchedule, undefined);
        assert.equal(ofType(without, JOB).filter((j) => j.name === "akko-maintenance-rollout").length, 1);
        assert.equal(rbac(without)["linkerd-mesh-check"], undefined);
    });
});
