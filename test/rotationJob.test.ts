/**
 * The rotation CronJob as the program declares it: schedule, images, the script from
 * the repository, and RBAC that names only what the Job must touch.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { MESH_CHECK_SCRIPT_PATH } from "../components/meshMaintenance";
import { ofType, one, ProgramRun, ProviderState } from "../lib/mockRuntime";
import { runStackOk, STACKS } from "./helpers";

const CRONJOB = "kubernetes:batch/v1:CronJob";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";

function podSpec(run: ProgramRun) {
    return one(run, CRONJOB, "akko-maintenance-cronjob").inputs.spec.jobTemplate.spec.template.spec;
}

function envOf(run: ProgramRun): Record<string, string> {
    return Object.fromEntries(podSpec(run).containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
}

describe("rotation CronJob", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
    });

    it("runs daily in the linkerd namespace, at a minute drawn once per stack inside the window", async () => {
        const cronJob = one(run, CRONJOB, "akko-maintenance-cronjob");
        assert.equal(cronJob.inputs.metadata.namespace, "linkerd");
        assert.equal(cronJob.inputs.spec.timeZone, "Etc/UTC");
        assert.equal(cronJob.inputs.spec.concurrencyPolicy, "Forbid");
        const schedules = new Map<string, string>();
        for (const stack of STACKS) {
            const state = new ProviderState();
            const first = await runStackOk(stack, { "mtls.enabled": true }, { state });
            const again = await runStackOk(stack, { "mtls.enabled": true }, { state });
            const schedule: string = one(first, CRONJOB, "akko-maintenance-cronjob").inputs.spec.schedule;
            assert.equal(one(again, CRONJOB, "akko-maintenance-cronjob").inputs.spec.schedule, schedule, "kept in state");
            const [minute, hour, ...rest] = schedule.split(" ");
            assert.deepEqual(rest, ["*", "*", "*"], "daily");
            const minuteOfDay = Number(hour) * 60 + Number(minute);
            assert.ok(minuteOfDay >= 2 * 60 && minuteOfDay < 6 * 60, `${stack}: ${schedule} inside 02:00-06:00 UTC`);
            schedules.set(stack, schedule);
            const draw = one(first, "random:index/randomInteger:RandomInteger", "akko-maintenance-minute");
            assert.deepEqual([draw.inputs.min, draw.inputs.max], [0, 4 * 60 - 1]);
        }
        assert.ok(new Set(schedules.values()).size > 1, `stacks do not all run at once: ${[...schedules.values()]}`);
    });

    it("mounts the script from the repository, runs it with node, kubectl from an init container; images pinned by digest", () => {
        const configMap = one(run, "kubernetes:core/v1:ConfigMap", "akko-maintenance-script");
        assert.equal(configMap.inputs.data["mesh-check.mjs"], fs.readFileSync(MESH_CHECK_SCRIPT_PATH, "utf8"));
        const spec = podSpec(run);
        assert.deepEqual(spec.containers[0].command, ["node", "/scripts/mesh-check.mjs"]);
        assert.deepEqual(spec.initContainers[0].command, ["cp", "/usr/bin/kubectl", "/tools/kubectl"]);
        for (const container of [...spec.initContainers, ...spec.containers]) {
            assert.match(container.image, /@sha256:[a-f0-9]{64}$/, `${container.name} pinned by digest`);
            assert.equal(container.securityContext.allowPrivilegeEscalation, false);
            assert.equal(container.securityContext.readOnlyRootFilesystem, true);
            assert.ok(container.resources.limits.memory, `${container.name} has a memory limit`);
        }
        assert.equal(spec.securityContext.runAsNonRoot, true);
        assert.equal(spec.volumes.find((v: any) => v.name === "script").configMap.name, "linkerd-mesh-maintenance");
        assert.equal(one(run, CRONJOB, "akko-maintenance-cronjob").inputs.spec.jobTemplate.spec.backoffLimit, 0, "a failure is an alert");
        assert.equal(
            one(run, CRONJOB, "akko-maintenance-cronjob").inputs.spec.jobTemplate.spec.template.metadata.annotations["linkerd.io/inject"],
            "disabled",
            "a proxy would keep the Job from completing",
        );
    });

    it("passes thresholds and scope from the config", async () => {
        const env = envOf(run);
        assert.match(env.CONTROL_PLANE_DIGEST, /^[0-9a-f]{16}$/);
        delete env.CONTROL_PLANE_DIGEST;
        assert.deepEqual(env, {
            LINKERD_NAMESPACE: "linkerd",
            ISSUER_SECRET: "linkerd-identity-issuer",
            ISSUER_SCHEME: "kubernetes.io/tls",
            TRUST_ROOTS_CONFIGMAP: "linkerd-identity-trust-roots",
            MAX_CONCURRENT_RESTARTS: "2",
            ROLLOUT_TIMEOUT_SECONDS: "600",
            DEADLINE_SECONDS: "3000",
            CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity,linkerd-destination,linkerd-proxy-injector",
            TASKS: "certificates,control-plane,restarts",
            MESHED_NAMESPACES: "akko,spark,linkerd-viz",
            UNMESHED_NAMESPACES: "",
            EXPECTED_INBOUND_POLICY: JSON.stringify({ akko: "all-unauthenticated", spark: "all-unauthenticated" }),
            ISSUER_MIN_HOURS_LEFT: "24",
            ANCHOR_MIN_DAYS_LEFT: "60",
            PATH: "/tools:/usr/local/bin:/usr/bin:/bin",
            HOME: "/tmp",
        });
        const k3d = await runStackOk("k3d", { "mtls.enabled": true, "rotationJob.maxConcurrentRestarts": 5 });
        assert.equal(envOf(k3d).ISSUER_SCHEME, "kubernetes.io/tls", "both issuer modes write a kubernetes.io/tls Secret");
        assert.equal(envOf(k3d).ISSUER_MIN_HOURS_LEFT, "1440");
        assert.equal(envOf(k3d).MAX_CONCURRENT_RESTARTS, "5");
    });

    it("RBAC: read one Secret and one ConfigMap by name; list pods and restart workloads only in meshed namespaces", () => {
        const roles = ofType(run, ROLE).filter((r) => r.name.startsWith("akko-maintenance"));
        assert.deepEqual(
            roles.map((r) => [r.inputs.metadata.namespace, r.inputs.rules]).sort(),
            [
                ["akko", [
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                    { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
                ]],
                ["linkerd", [
                    { apiGroups: [""], resources: ["secrets"], resourceNames: ["linkerd-identity-issuer"], verbs: ["get"] },
                    { apiGroups: [""], resources: ["configmaps"], resourceNames: ["linkerd-identity-trust-roots"], verbs: ["get"] },
                    // The control plane's own Deployments, by name (restarted when the bundle changes).
                    {
                        apiGroups: ["apps"],
                        resources: ["deployments"],
                        resourceNames: ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"],
                        verbs: ["get", "patch"],
                    },
                    { apiGroups: ["apps"], resources: ["deployments", "replicasets"], verbs: ["list", "watch"] },
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                ]],
                // viz's pods are meshed: they too must pick up a new bundle.
                ["linkerd-viz", [
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                    { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
                ]],
                ["spark", [
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                    { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
                ]],
            ],
        );
        for (const role of roles) {
            for (const rule of role.inputs.rules) {
                assert.ok(![...rule.verbs, ...rule.resources, ...rule.apiGroups].includes("*"), `${role.name}: no wildcard`);
                assert.ok(!rule.verbs.some((v: string) => ["create", "delete", "update", "deletecollection"].includes(v)));
            }
        }
        assert.equal(run.resources.filter((r) => r.type.includes("ClusterRole")).length, 0, "no cluster-wide rights");
        for (const binding of ofType(run, BINDING).filter((r) => r.name.startsWith("akko-maintenance"))) {
            assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: "linkerd-mesh-maintenance", namespace: "linkerd" }]);
            assert.equal(binding.inputs.roleRef.kind, "Role");
        }
    });

    it("rotationJob.enabled: false leaves the CronJob out (the rollout Job stays)", async () => {
        const without = await runStackOk("netcup", { "mtls.enabled": true, "rotationJob.enabled": false });
        assert.deepEqual(ofType(without, CRONJOB), []);
        assert.equal(without.outputs.rotationJobSchedule, undefined);
        assert.equal(ofType(without, "kubernetes:batch/v1:Job").filter((j) => j.name === "akko-maintenance-rollout").length, 1);
    });
});
