/**
 * Pod Security is read where it is decided (issue 18): a namespace's label is not the whole answer,
 * the API server's AdmissionConfiguration `defaults` and `exemptions` are too (the k3s CIS hardening
 * guide enforces `restricted` by default and exempts kube-system). So before any namespace asks for
 * proxies, a Job dry-runs an injected pod in each of them (cluster/mesh-check.mjs, task pod-security).
 *
 * Proven with oracles: Pod Security admission as k8s.io/pod-security-admission v0.36.2 decides it
 * (test/podSecurityAdmission.cjs, checked against upstream's own expected messages), answering the
 * script through the fake kubectl; the pod the check submits compared with the real chart's partials
 * rendered with the program's values; the identity's admission policy evaluated in CEL; its rights
 * with the RBAC oracle; the order of the run on the mock engine, applying to a fake cluster.
 */
import { run as celRun } from "@bufbuild/cel";
import { strict as assert } from "node:assert";
import { DRY_RUN_ONLY, dryRunOnlyPolicy, requestedBy } from "../lib/dryRunOnlyPolicy";
import { POD_SECURITY_POLICY } from "../lib/maintenancePlan";
import { injectedPodProbe, POD_SECURITY_CHECK } from "../lib/podSecurity";
import { LINKERD_EDGE } from "../lib/registry";
import { render } from "../tools/helm";
import { AppliedResource, dependsOn, ofType, one, ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { anchor, Cluster, issuer, Result, runScript } from "./fakeCluster";
import { runStack, runStackOk } from "./helpers";
import { admit, evaluate, PodSecurityConfiguration } from "./podSecurityAdmission.cjs";
import { KubeObject, RbacModel } from "./rbac";
import { archiveOf, upstream } from "./upstream";

const JOB = "kubernetes:batch/v1:Job";
const PATCH = "kubernetes:core/v1:NamespacePatch";
const POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";
const BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const CHECK_USER = `system:serviceaccount:linkerd-maintenance:${POD_SECURITY_CHECK.account}`;

/** The k3s CIS hardening guide's PodSecurityConfiguration (docs.k3s.io/security/hardening-guide, "Pod Security"). */
const K3S_HARDENED: PodSecurityConfiguration = {
    defaults: {
        enforce: "restricted",
        "enforce-version": "latest",
        audit: "restricted",
        warn: "restricted",
        "warn-version": "latest",
    },
    exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system", "cis-operator-system"] },
};

const probe = (cniEnabled: boolean) =>
    injectedPodProbe({ cniEnabled, edge: LINKERD_EDGE, appImage: "registry.example/app:1" });

describe("the Pod Security oracle, against upstream's own expected answers (k8s.io/pod-security-admission v0.36.2 policy/*_test.go)", () => {
    const pod = (spec: object) => ({ metadata: { name: "p" }, spec });
    it("capabilities: restricted wants drop ALL and only NET_BIND_SERVICE added", () => {
        const spec = {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "a",
                    securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["FOO", "BAR"] } },
                },
                {
                    name: "b",
                    securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["BAR", "BAZ"] } },
                },
                {
                    name: "c",
                    securityContext: {
                        allowPrivilegeEscalation: false,
                        capabilities: { add: ["NET_BIND_SERVICE", "CHOWN"], drop: ["ALL", "FOO"] },
                    },
                },
            ],
        };
        // check_capabilities_restricted_test.go "multiple containers".
        assert.equal(
            evaluate("restricted", pod(spec)),
            'unrestricted capabilities (containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add)',
        );
        assert.equal(
            evaluate("baseline", pod(spec)),
            'non-default capabilities (containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add)',
        );
    });

    it("runAsNonRoot and seccomp: the pod's setting or every container's", () => {
        const restrictedExcept = (securityContext: object, containers: object[]) =>
            evaluate(
                "restricted",
                pod({
                    securityContext,
                    containers: containers.map((c) => ({
                        ...c,
                        securityContext: {
                            allowPrivilegeEscalation: false,
                            capabilities: { drop: ["ALL"] },
                            ...(c as any).securityContext,
                        },
                    })),
                }),
            );
        // check_runAsNonRoot_test.go "pod nil, container fallthrough", check_seccompProfile_restricted_test.go alike.
        assert.equal(
            restrictedExcept({ seccompProfile: { type: "RuntimeDefault" } }, [
                { name: "a" },
                { name: "b" },
                { name: "d", securityContext: { runAsNonRoot: true } },
            ]),
            'runAsNonRoot != true (pod or containers "a", "b" must set securityContext.runAsNonRoot=true)',
        );
        assert.equal(
            restrictedExcept({ runAsNonRoot: true, seccompProfile: { type: "Unconfined" } }, [{ name: "a" }]),
            'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
        );
        assert.equal(
            restrictedExcept({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, [{ name: "a" }]),
            undefined,
        );
    });

    it("the policy: labels over the configuration's defaults, exempt namespaces unchecked, warn raised to a stricter enforce label", () => {
        const linkerdInit = probe(false);
        const refused = admit(K3S_HARDENED, undefined, "akko", CHECK_USER, linkerdInit);
        assert.equal(refused.allowed, false);
        assert.match(
            (refused as { message: string }).message,
            /^violates PodSecurity "restricted:latest": unrestricted capabilities \(container "linkerd-init" must not include "NET_ADMIN", "NET_RAW"/,
        );
        assert.deepEqual(admit(K3S_HARDENED, undefined, "kube-system", CHECK_USER, linkerdInit), {
            allowed: true,
            warnings: [],
        });
        const privileged = admit(
            K3S_HARDENED,
            { "pod-security.kubernetes.io/enforce": "privileged" },
            "akko",
            CHECK_USER,
            linkerdInit,
        );
        assert.equal(privileged.allowed, true);
        assert.equal((privileged as { warnings: string[] }).warnings.length, 1, "the default warn level still warns");
        assert.deepEqual(
            admit(undefined, undefined, "akko", CHECK_USER, linkerdInit),
            { allowed: true, warnings: [] },
            "no configuration: privileged",
        );
        const baseline = admit(
            undefined,
            { "pod-security.kubernetes.io/enforce": "baseline" },
            "akko",
            CHECK_USER,
            linkerdInit,
        );
        assert.match(
            (baseline as { message: string }).message,
            /^violates PodSecurity "baseline:latest": non-default capabilities/,
        );
        assert.throws(
            () =>
                evaluate("baseline", pod({ containers: [{ name: "a", securityContext: { procMount: "Unmasked" } }] })),
            /does not model procMount/,
        );
    });
});

describe("the pod the Pod Security check submits", function () {
    this.timeout(300_000);

    it("is what Pod Security refuses of injected pods: linkerd-init at baseline and restricted; with the CNI plugin nothing at restricted", () => {
        assert.equal(
            evaluate("baseline", probe(false)),
            'non-default capabilities (container "linkerd-init" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)',
        );
        assert.equal(
            evaluate("restricted", probe(false)),
            'unrestricted capabilities (container "linkerd-init" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)',
        );
        assert.equal(
            evaluate("restricted", probe(true)),
            undefined,
            "network validator, proxy and a compliant application",
        );
        const spec = (probe(false) as any).spec;
        assert.deepEqual(
            [...spec.initContainers, ...spec.containers].map((c: any) => c.name),
            ["linkerd-init", "linkerd-proxy", "app"],
        );
        assert.equal(
            (probe(false) as any).metadata.annotations["linkerd.io/inject"],
            "disabled",
            "the injector leaves it alone",
        );
        assert.equal(
            (probe(false) as any).metadata.ownerReferences,
            undefined,
            "no owner: the injector records no event",
        );
    });

    for (const cniEnabled of [false, true]) {
        it(`carries what the injector adds (${cniEnabled ? "CNI plugin" : "linkerd-init"}): the real partials, rendered with the program's values`, async function () {
            const run = await runStackOk("netcup", { "mtls.enabled": true, "linkerd.cni.enabled": cniEnabled });
            const chart = one(run, "kubernetes:helm.sh/v4:Chart", "akko-linkerd-control-plane");
            const values = structuredClone(chart.inputs.values);
            // What the injector derives for an application whose first container drops ALL (pkg/inject/inject.go
            // injectPodSpec, injectProxyInit): those capabilities, for the proxy and linkerd-init (less NET_*).
            values.proxy.capabilities = { add: [], drop: ["ALL"] };
            values.proxyInit = { ...values.proxyInit, capabilities: { add: [], drop: ["ALL"] } };
            const objects = await upstream(this, async () =>
                render(await archiveOf(chart), {
                    release: chart.inputs.name,
                    namespace: chart.inputs.namespace,
                    values,
                }),
            );
            // linkerd-destination's pod is rendered from the same partials the injector's patch uses (charts/patch/templates/patch.json).
            const destination = objects.find(
                (o) => o.kind === "Deployment" && o.metadata.name === "linkerd-destination",
            )!.spec.template.spec;
            const job = one(run, JOB, "akko-maintenance-pod-security");
            const env = Object.fromEntries(
                job.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
            );
            const submitted = JSON.parse(env.POD_SECURITY).probe;
            const rendered = (name: string) => destination.initContainers.find((c: any) => c.name === name);
            for (const container of submitted.spec.initContainers) {
                const real = rendered(container.name);
                assert.ok(real, `${container.name} is among what the chart injects`);
                for (const field of ["securityContext", "image", "resources", "restartPolicy"]) {
                    assert.deepEqual(container[field], real[field], `${container.name}.${field}`);
                }
            }
            assert.deepEqual(
                destination.initContainers.map((c: any) => c.name),
                submitted.spec.initContainers.map((c: any) => c.name),
            );
            // Volumes of the kinds the injector adds (restricted admits emptyDir and projected only among them).
            const kinds = (volumes: any[]) =>
                Object.fromEntries(volumes.map((v) => [v.name, Object.keys(v).filter((k) => k !== "name")]));
            const realVolumes = kinds(destination.volumes);
            for (const [name, kind] of Object.entries(kinds(submitted.spec.volumes)))
                assert.deepEqual(realVolumes[name], kind, name);
            assert.equal(
                submitted.spec.containers[0].image,
                run.resources.find((r) => r.name === "akko-maintenance-pod-security")!.inputs.spec.template.spec
                    .containers[0].image,
            );
        });
    }
});

/** The Pod Security check's script against a fake API server. */
async function check(
    options: { namespaces?: { namespace: string; key: string }[]; cniEnabled?: boolean } & Partial<Cluster>,
): Promise<Result> {
    const a = await anchor();
    const namespaces = options.namespaces ?? [{ namespace: "akko", key: "akko-mtls:mtls.namespaces[0]" }];
    const cniEnabled = options.cniEnabled ?? false;
    return runScript({
        issuer: await issuer(a),
        bundle: [a],
        ...options,
        env: {
            TASKS: "pod-security",
            POD_SECURITY: JSON.stringify({ probe: probe(cniEnabled), namespaces, cniEnabled }),
        },
    });
}

describe("the Pod Security check against the API server (cluster/mesh-check.mjs pod-security, fake kubectl)", function () {
    this.timeout(60_000);

    it("a cluster default of restricted, no label: fails naming the config key, the namespace, what is forbidden and the fix, in one line", async () => {
        const result = await check({ podSecurity: { configuration: K3S_HARDENED } });
        assert.equal(result.status, 1, result.stderr);
        const line =
            'pod-security: akko-mtls:mtls.namespaces[0]: namespace akko refuses injected pods: Pod Security "restricted:latest" (its label, else the cluster\'s default) ' +
            'forbids unrestricted capabilities (container "linkerd-init" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add).';
        assert.ok(result.terminationMessage?.startsWith(line), result.terminationMessage);
        assert.equal(
            result.terminationMessage!.split("\n").length,
            1,
            "one line: what `pulumi up` prints with the Job's failure",
        );
        assert.match(
            result.terminationMessage!,
            /Fix: enable Linkerd's CNI plugin \(pulumi config set --path linkerd\.cni\.enabled true;/,
        );
        assert.match(
            result.terminationMessage!,
            /kubectl label namespace akko pod-security\.kubernetes\.io\/enforce=privileged/,
        );
        // A server-side dry run, nothing else: no object is stored, no other call made.
        assert.deepEqual(result.calls, ["create --dry-run=server -n akko -f - -o name"]);
        assert.equal(result.submitted.length, 1);
        assert.equal(result.submitted[0].object.metadata.name, POD_SECURITY_CHECK.pod);
    });

    it("a label decides over the default; an exempt namespace is admitted unchecked; the CNI plugin's pods meet restricted", async () => {
        const labelled = await check({
            podSecurity: {
                configuration: K3S_HARDENED,
                namespaceLabels: { akko: { "pod-security.kubernetes.io/enforce": "privileged" } },
            },
        });
        assert.equal(labelled.status, 0, labelled.stderr);
        assert.match(labelled.stdout, /pod-security: akko: admits injected pods/);
        // The default warn level (restricted) still warns: a note, not a failure.
        assert.match(
            labelled.stdout,
            /pod-security: akko: note: would violate PodSecurity "restricted:latest": unrestricted capabilities/,
        );
        const exempt = await check({
            podSecurity: { configuration: K3S_HARDENED },
            namespaces: [{ namespace: "kube-system", key: "akko-mtls:mtls.ingress.controller" }],
        });
        assert.equal(exempt.status, 0, exempt.stderr);
        const cni = await check({ podSecurity: { configuration: K3S_HARDENED }, cniEnabled: true });
        assert.equal(cni.status, 0, cni.stderr);
        assert.doesNotMatch(cni.stdout, /note:/);
    });

    it("every namespace is checked and each refusal named; with the CNI plugin the fix is the level, not the plugin", async () => {
        const namespaces = [
            { namespace: "akko", key: "akko-mtls:mtls.namespaces[0]" },
            { namespace: "spark", key: "akko-mtls:mtls.namespaces[1]" },
            { namespace: "kube-system", key: "akko-mtls:mtls.ingress.controller" },
        ];
        const result = await check({ podSecurity: { configuration: K3S_HARDENED }, namespaces });
        assert.equal(result.status, 1);
        const lines = result.terminationMessage!.split("\n");
        assert.deepEqual(
            lines.map((l) => /^pod-security: (\S+): namespace (\S+)/.exec(l)?.slice(1)),
            [
                ["akko-mtls:mtls.namespaces[0]", "akko"],
                ["akko-mtls:mtls.namespaces[1]", "spark"],
            ],
        );
        const labels = { akko: { "pod-security.kubernetes.io/enforce": "restricted" } };
        // A stricter pod under CNI: the proxy would be refused if it kept a capability. Simulated by the label `restricted` and a probe without drop ALL.
        const cniProbe: any = probe(true);
        cniProbe.spec.initContainers[1].securityContext = {
            ...cniProbe.spec.initContainers[1].securityContext,
            capabilities: {},
        };
        const a = await anchor();
        const cni = runScript({
            issuer: await issuer(a),
            bundle: [a],
            podSecurity: { namespaceLabels: labels },
            env: {
                TASKS: "pod-security",
                POD_SECURITY: JSON.stringify({ probe: cniProbe, namespaces: namespaces.slice(0, 1), cniEnabled: true }),
            },
        });
        assert.equal(cni.status, 1);
        assert.match(
            cni.terminationMessage!,
            /forbids unrestricted capabilities \(container "linkerd-proxy" must set securityContext\.capabilities\.drop=\["ALL"\]\)/,
        );
        assert.match(
            cni.terminationMessage!,
            /Fix: the injected containers already drop every capability \(CNI plugin\)/,
        );
        assert.doesNotMatch(cni.terminationMessage!, /linkerd\.cni\.enabled true/);
    });

    it("any other refusal is no verdict: the run fails with the API server's words (never OK on doubt)", async () => {
        const webhook = await check({
            refuse: [
                [
                    "create --dry-run=server",
                    'Error from server (BadRequest): error when creating "STDIN": admission webhook "policy.example.com" does not support dry run',
                ],
            ],
        });
        assert.equal(webhook.status, 1);
        assert.match(
            webhook.terminationMessage!,
            /^pod-security: akko-mtls:mtls\.namespaces\[0\]: namespace akko: the API server refused the check's dry-run pod, so it may refuse injected pods too: Error from server \(BadRequest\).*does not support dry run/,
        );
        const slow = await check({ hang: [["create --dry-run=server", 10]] });
        assert.equal(slow.status, 1, "a create that does not answer fails the run");
        assert.match(slow.stderr, /pod-security: /);
    });

    it("is misconfigured without what to submit (exit 2)", () => {
        const result = runScript({ issuer: { certPem: "" }, bundle: "", env: { TASKS: "pod-security" } });
        assert.equal(result.status, 2);
        assert.match(result.stderr, /POD_SECURITY is not set/);
        const hostile = runScript({
            issuer: { certPem: "" },
            bundle: "",
            env: {
                TASKS: "pod-security",
                POD_SECURITY: JSON.stringify({
                    probe: probe(false),
                    namespaces: [{ namespace: "akko --all", key: "x" }],
                }),
            },
        });
        assert.equal(hostile.status, 2, "a namespace that is not a DNS label never reaches kubectl");
        assert.deepEqual(hostile.calls, []);
    });
});

/** The admission request the API server hands a ValidatingAdmissionPolicy (pkg/admission/plugin/cel CreateAdmissionRequest), as an unstructured map. */
const request = (username: string, operation: string, dryRun: boolean, resource = "pods", subResource?: string) => ({
    userInfo: { username },
    operation,
    dryRun,
    resource: { group: "", version: "v1", resource },
    ...(subResource ? { subResource } : {}),
});

describe("the Pod Security check's identity: dry-run pod creates only", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStackOk("netcup", { "mtls.enabled": true });
    });

    it("its admission policy, evaluated with CEL on allowed and hostile requests", () => {
        const vap = one(run, POLICY, "akko-maintenance-pod-security-dry-run-only");
        const binding = one(run, BINDING, "akko-maintenance-pod-security-dry-run-only");
        assert.deepEqual(binding.inputs.spec, { policyName: POD_SECURITY_POLICY, validationActions: ["Deny"] });
        const spec = vap.inputs.spec;
        assert.equal(spec.failurePolicy, "Fail");
        assert.deepEqual(spec.matchConstraints.resourceRules, [
            { apiGroups: [""], apiVersions: ["*"], operations: ["*"], resources: ["pods", "pods/*"] },
        ]);
        assert.deepEqual(
            spec,
            dryRunOnlyPolicy({ use: DRY_RUN_ONLY.podSecurityCheck, identity: requestedBy(CHECK_USER) }),
        );
        /** The API server's verdict: the policy applies when every match condition holds, and then denies unless every validation holds. */
        const admitted = (r: ReturnType<typeof request>) =>
            !spec.matchConditions.every((c: { expression: string }) => celRun(c.expression, { request: r }) === true) ||
            spec.validations.every((v: { expression: string }) => celRun(v.expression, { request: r }) === true);
        assert.ok(admitted(request(CHECK_USER, "CREATE", true)), "the check's dry-run create");
        const hostile: [string, ReturnType<typeof request>][] = [
            ["a real pod (with its stolen token)", request(CHECK_USER, "CREATE", false)],
            ["an exec into a pod", request(CHECK_USER, "CONNECT", false, "pods", "exec")],
            ["an exec, as a dry run", request(CHECK_USER, "CONNECT", true, "pods", "exec")],
            ["an ephemeral container", request(CHECK_USER, "UPDATE", false, "pods", "ephemeralcontainers")],
            ["an update as a dry run", request(CHECK_USER, "UPDATE", true)],
            ["a deletion", request(CHECK_USER, "DELETE", false)],
            ["a deletion as a dry run", request(CHECK_USER, "DELETE", true)],
            ["an eviction", request(CHECK_USER, "CREATE", false, "pods", "eviction")],
        ];
        for (const [why, r] of hostile) assert.equal(admitted(r), false, why);
        // Nobody else is concerned: controllers and tenants create real pods.
        assert.ok(admitted(request("system:serviceaccount:kube-system:replicaset-controller", "CREATE", false)));
        assert.ok(
            admitted(request("system:serviceaccount:akko:linkerd-mesh-pod-security", "CREATE", false)),
            "only the maintenance namespace's identity",
        );
        // The request has no `subResource` key when there is none (unstructured, omitempty): the policy must not read it.
        assert.doesNotMatch(spec.validations[0].expression, /subResource/);
    });

    it("RBAC lets it create pods in the checked namespaces only; with the policy, it cannot run one (the RBAC oracle)", () => {
        const objects: KubeObject[] = run.resources
            .filter(
                (r) =>
                    !r.read &&
                    /:(Role|RoleBinding|ClusterRole|ClusterRoleBinding|ValidatingAdmissionPolicy|ValidatingAdmissionPolicyBinding)$/.test(
                        r.type,
                    ),
            )
            .map((r) => ({ ...r.inputs, kind: r.type.split(":").pop()! }));
        const model = new RbacModel(objects);
        for (const namespace of ["akko", "kube-system"]) {
            assert.ok(
                model.can(CHECK_USER, { verb: "create", group: "", resource: "pods", namespace }),
                `create pods in ${namespace}`,
            );
            assert.equal(
                model.canRunPods(CHECK_USER, namespace),
                false,
                `no standing right to run a pod in ${namespace}`,
            );
        }
        assert.equal(
            model.can(CHECK_USER, { verb: "create", group: "", resource: "pods", namespace: "linkerd" }),
            false,
        );
        for (const verb of ["get", "list", "delete", "patch"])
            assert.equal(model.can(CHECK_USER, { verb, group: "", resource: "pods", namespace: "akko" }), false, verb);
        assert.equal(
            model.can(CHECK_USER, { verb: "create", group: "", resource: "pods/exec", namespace: "akko" }),
            false,
        );
        // Without its binding, the same Roles are an escalation path: the policy is what confines them.
        const unbound = new RbacModel(
            objects.filter(
                (o) => !(o.kind === "ValidatingAdmissionPolicyBinding" && o.metadata.name === POD_SECURITY_POLICY),
            ),
        );
        assert.equal(unbound.canRunPods(CHECK_USER, "akko"), true);
    });

    it("runs before any namespace asks for proxies, after the policy that confines it, and waits for nothing of the control plane", () => {
        const job = one(run, JOB, "akko-maintenance-pod-security");
        assert.match(job.inputs.metadata.name, /^linkerd-pod-security-check-[0-9a-f]{10}$/);
        assert.equal(job.inputs.spec.template.spec.serviceAccountName, POD_SECURITY_CHECK.account);
        for (const confining of [
            one(run, POLICY, "akko-maintenance-pod-security-dry-run-only"),
            one(run, BINDING, "akko-maintenance-pod-security-dry-run-only"),
        ]) {
            assert.ok(dependsOn(run, job, confining), `the Job waits for ${confining.name}`);
            for (const grant of ofType(run, ROLE_BINDING).filter(
                (b) => b.inputs.metadata.name === POD_SECURITY_CHECK.account,
            )) {
                assert.ok(dependsOn(run, grant, confining), `${grant.name} is granted after ${confining.name}`);
            }
        }
        assert.deepEqual(
            ofType(run, ROLE_BINDING)
                .filter((b) => b.inputs.metadata.name === POD_SECURITY_CHECK.account)
                .map((b) => b.inputs.metadata.namespace)
                .sort(),
            ["akko", "kube-system"],
            "the meshed namespace and the ingress controller's",
        );
        assert.equal(
            dependsOn(run, job, one(run, "kubernetes:helm.sh/v4:Chart", "akko-linkerd-control-plane")),
            false,
            "it fails the up before the control plane is needed",
        );
        const annotations = one(run, PATCH, "akko-mesh-akko-annotations");
        assert.ok(dependsOn(run, annotations, job), "the namespace's annotation waits for it");
        assert.ok(
            dependsOn(
                run,
                one(run, "kubernetes:helm.cattle.io/v1:HelmChartConfig", "akko-ingress-traefik-config"),
                job,
            ),
            "so does Traefik's proxy",
        );
        assert.ok(dependsOn(run, one(run, JOB, "akko-maintenance-rollout"), job), "and the rollout");
        const env = Object.fromEntries(
            job.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
        );
        assert.deepEqual(JSON.parse(env.POD_SECURITY).namespaces, [
            { namespace: "akko", key: "akko-mtls:mtls.namespaces[0]" },
            { namespace: "kube-system", key: "akko-mtls:mtls.ingress.controller" },
        ]);
        // The termination message is the default path's (/dev/termination-log): no Job's pod template changes for it.
        assert.equal(env.TERMINATION_MESSAGE_PATH, undefined);
    });

    it("checks only what this run injects: a namespace being drained is not checked", async () => {
        const on = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        const env = (r: RecordedResource) =>
            Object.fromEntries(r.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
        const checked = (r: ProgramRun) =>
            JSON.parse(env(one(r, JOB, "akko-maintenance-pod-security")).POD_SECURITY).namespaces.map(
                (n: any) => n.namespace,
            );
        assert.deepEqual(checked(on), ["akko", "spark", "kube-system"]);
        // spark leaves the mesh: its pods restart without a proxy, nothing to ask of Pod Security there.
        const fewer = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "mtls.namespaces": ["akko"] },
            {
                previousOutputs: {
                    meshState: on.outputs.meshState.value,
                    trustAnchorRotation: on.outputs.trustAnchorRotation.value,
                },
            },
        );
        assert.equal(
            one(fewer, PATCH, "akko-mesh-spark-annotations").inputs.metadata.annotations["linkerd.io/inject"],
            "disabled",
        );
        assert.deepEqual(checked(fewer), ["akko", "kube-system"]);
    });
});

describe("a cluster whose default level is restricted (the k3s hardening guide): the `up` fails before any namespace is annotated (regression, issue 18)", function () {
    this.timeout(120_000);

    /** One `pulumi up` of netcup applied to a fake cluster whose API server has `configuration`: every applied resource, in order, and the Pod Security Job's run. */
    async function up(configuration: PodSecurityConfiguration, overrides: Record<string, unknown> = {}) {
        const a = await anchor();
        const cluster: Cluster = { issuer: await issuer(a), bundle: [a], podSecurity: { configuration } };
        const applied: AppliedResource[] = [];
        const jobs: Result[] = [];
        const onApply = (resource: AppliedResource) => {
            applied.push(resource);
            if (resource.type !== JOB || !resource.inputs.metadata.name.startsWith("linkerd-pod-security-check"))
                return;
            const container = resource.inputs.spec.template.spec.containers[0];
            const env = Object.fromEntries(
                container.env.filter((e: any) => !["PATH", "HOME"].includes(e.name)).map((e: any) => [e.name, e.value]),
            );
            const result = runScript({ ...cluster, env });
            jobs.push(result);
            // What the provider reports when the Job fails: the pod's termination message (pod/check.go).
            if (result.status !== 0)
                throw new Error(`Job ${resource.inputs.metadata.name} failed: ${result.terminationMessage}`);
        };
        const run = await runStack("netcup", { "mtls.enabled": true, ...overrides }, { onApply });
        return { run, applied, jobs };
    }

    it("unlabelled akko: the label read admits it, the dry run refuses it, and nothing asks for proxies", async () => {
        const { run, applied, jobs } = await up(K3S_HARDENED);
        assert.ok(run.error, "the up fails");
        assert.match(
            String(run.error),
            /pod-security: akko-mtls:mtls\.namespaces\[0\]: namespace akko refuses injected pods: Pod Security "restricted:latest"/,
        );
        assert.equal(jobs.length, 1);
        assert.deepEqual(
            applied
                .filter((r) => r.type === PATCH || r.type === "kubernetes:helm.cattle.io/v1:HelmChartConfig")
                .map((r) => r.name),
            [],
            "no namespace annotated, Traefik untouched",
        );
        assert.ok(
            !applied.some((r) => r.type === JOB && r.inputs.metadata.name.startsWith("linkerd-mesh-rollout")),
            "nothing restarted",
        );
    });

    it("with the CNI plugin the same cluster admits injected pods: akko is annotated after the check", async () => {
        const { run, applied, jobs } = await up(K3S_HARDENED, { "linkerd.cni.enabled": true });
        assert.equal(run.error, undefined, String(run.error));
        assert.equal(jobs[0].status, 0);
        const order = applied.map((r) => r.name);
        for (const name of [
            "akko-maintenance-pod-security",
            "akko-mesh-akko-annotations",
            "akko-ingress-traefik-config",
        ])
            assert.ok(order.includes(name), name);
        assert.ok(order.indexOf("akko-maintenance-pod-security") < order.indexOf("akko-mesh-akko-annotations"));
        assert.ok(order.indexOf("akko-maintenance-pod-security") < order.indexOf("akko-ingress-traefik-config"));
    });

    it("a cluster without an admission configuration (privileged by default) meshes as before", async () => {
        const { run, jobs } = await up({});
        assert.equal(run.error, undefined, String(run.error));
        assert.equal(jobs[0].status, 0);
        assert.ok(ofType(run, PATCH).some((p) => p.name === "akko-mesh-akko-annotations"));
    });
});
