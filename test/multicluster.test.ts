/**
 * Linked clusters under mocks: a target (eks) grants a source (netcup) remote access and exports its
 * endpoint; the source reads it through a StackReference and links. The token stays a Pulumi secret
 * end to end; a link the target does not serve is refused before anything is registered.
 */
import { strict as assert } from "node:assert";
import YAML from "yaml";
import { ConfigError } from "../config";
import { MOCK_API_SERVER_CA, ofType, one, ProgramRun } from "../tools/mockRuntime";
import { asObject, registeredObjects } from "./crdSchemas";
import * as contract from "../cluster/contract.cjs";
import { runStack, runStackOk } from "./helpers";
import { KubeObject, RbacModel, serviceAccount } from "./rbac";
import { allCrdSchemas, renderRegistered, schemaProblems, upstream } from "./upstream";

const CHART = "kubernetes:helm.sh/v4:Chart";
const SECRET = "kubernetes:core/v1:Secret";
const LINK = "kubernetes:multicluster.linkerd.io/v1alpha3:Link";

/** eks, granting netcup: its API server as netcup's pods reach it, its gateway's address. */
const EKS_GRANTS = {
    "mtls.enabled": true,
    "identity.trustAnchor.fleetStack": "trust",
    "multicluster.enabled": true,
    "multicluster.apiServerAddress": "https://eks.example.internal:443",
    "multicluster.gatewayAddresses": ["203.0.113.7"],
    "multicluster.remoteAccess": ["netcup"],
};
const NETCUP_LINKS = {
    "mtls.enabled": true,
    "identity.trustAnchor.fleetStack": "trust",
    "multicluster.enabled": true,
    "multicluster.links": ["eks"],
};

/** The fleet's trust stack (Pulumi.trust.yaml: netcup, eks, gke), its members not deployed yet: linked stacks are its members. */
let trustOutputs: Promise<ProgramRun["outputs"]> | undefined;
const fleetTrust = () =>
    (trustOutputs ??= runStackOk("trust", {}, { stacks: { netcup: {}, eks: {}, gke: {}, k3d: {} } }).then(
        (run) => run.outputs,
    ));
/** A fleet member's run: its trust stack's outputs and the other stacks' it reads. */
const member = async (
    stack: string,
    overrides: Record<string, unknown>,
    stacks: Record<string, ProgramRun["outputs"]> = {},
) => runStackOk(stack, overrides, { stacks: { trust: await fleetTrust(), ...stacks } });

const kubernetesName = (run: ProgramRun, type: string, name: string, namespace?: string) =>
    run.resources.find(
        (r) =>
            r.type === type &&
            r.inputs.metadata?.name === name &&
            (namespace === undefined || r.inputs.metadata?.namespace === namespace),
    );

/** Every string leaf of a value with its dotted path. */
function leaves(value: unknown, at: string[] = [], out: [string, string][] = []): [string, string][] {
    if (typeof value === "string") out.push([at.join("."), value]);
    else if (value !== null && typeof value === "object")
        for (const [key, child] of Object.entries(value)) leaves(child, [...at, key], out);
    return out;
}
const underSecret = (path: string, secretPaths: string[]) =>
    secretPaths.some((p) => p === "" || path === p || path.startsWith(`${p}.`));

/** Where a text shows in the open in a run: plain stack outputs, component outputs, resource inputs, names, ConfigMaps, messages. */
function openPlaces(run: ProgramRun, text: string): string[] {
    const found: string[] = [];
    const shows = (value: string) => value.includes(text) || value.includes(Buffer.from(text).toString("base64"));
    for (const [key, output] of Object.entries(run.outputs))
        if (!output.secret && shows(JSON.stringify(output.value))) found.push(`stack output ${key}`);
    for (const [urn, outputs] of Object.entries(run.componentOutputs)) {
        for (const [path, value] of leaves(outputs.value))
            if (!underSecret(path, outputs.secretPaths) && shows(value)) found.push(`output ${path} of ${urn}`);
    }
    for (const resource of run.resources) {
        if (shows(resource.urn)) found.push(`the name of ${resource.urn}`);
        for (const [path, value] of leaves(resource.inputs)) {
            if (!underSecret(path, resource.secretPaths) && shows(value))
                found.push(`input ${path} of ${resource.type} ${resource.name}`);
        }
        if (resource.type === "kubernetes:core/v1:ConfigMap" && shows(JSON.stringify(resource.inputs)))
            found.push(`ConfigMap ${resource.name}`);
    }
    for (const message of [...run.warnings, ...run.notes, run.error?.message ?? ""])
        if (shows(message)) found.push(`message: ${message}`);
    return found;
}

describe("linked clusters (multicluster)", () => {
    let eks: ProgramRun;
    let netcup: ProgramRun;
    let token: string;
    before(async () => {
        eks = await member("eks", EKS_GRANTS);
        netcup = await member("netcup", NETCUP_LINKS, { eks: eks.outputs });
        token = (eks.outputs.multiclusterRemoteAccessTokens.value as Record<string, string>).netcup;
    });

    it("the target registers a ServiceAccount, token, Linkerd's ClusterRole and binding per source, and the trust-roots read", () => {
        const sa = "linkerd-service-mirror-remote-access-netcup";
        assert.ok(kubernetesName(eks, "kubernetes:core/v1:ServiceAccount", sa, "linkerd-multicluster"));
        const tokenSecret = kubernetesName(eks, SECRET, `${sa}-token`, "linkerd-multicluster")!;
        assert.equal(tokenSecret.inputs.type, "kubernetes.io/service-account-token");
        assert.equal(tokenSecret.inputs.metadata.annotations["kubernetes.io/service-account.name"], sa);
        const binding = kubernetesName(eks, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", sa)!;
        assert.deepEqual(binding.inputs.subjects, [
            { kind: "ServiceAccount", name: sa, namespace: "linkerd-multicluster" },
        ]);
        const role = kubernetesName(
            eks,
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            `${sa}-trust-roots`,
            "linkerd",
        )!;
        assert.deepEqual(role.inputs.rules, [
            {
                apiGroups: [""],
                resources: ["configmaps"],
                verbs: ["get"],
                resourceNames: ["linkerd-identity-trust-roots"],
            },
        ]);
        const chart = one(eks, CHART, "akko-multicluster-chart");
        assert.equal(
            chart.inputs.values.remoteMirrorServiceAccount,
            false,
            "the chart makes no remote-access objects of its own",
        );
        assert.deepEqual(chart.inputs.values.gateway, { enabled: true }, "eks is a gateway target");
    });

    it("the target exports its endpoint in the open and the token only as a secret", () => {
        assert.equal(eks.outputs.multicluster.secret, false);
        assert.deepEqual(eks.outputs.multicluster.value, {
            apiServerAddress: "https://eks.example.internal:443",
            apiServerCaPem: MOCK_API_SERVER_CA,
            trustDomain: "cluster.local",
            clusterDomain: "cluster.local",
            controlPlaneNamespace: "linkerd",
            mode: "gateway",
            gateway: {
                addresses: ["203.0.113.7"],
                port: 4143,
                identity: "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
                probe: { path: "/ready", port: 4191, periodSeconds: 3 },
            },
            remoteAccess: ["netcup"],
        });
        assert.equal(eks.outputs.multiclusterRemoteAccessTokens.secret, true);
        assert.match(token, /^mock-token\./);
    });

    it("the source links with the pinned chart's controllers, never the link chart", () => {
        const charts = ofType(netcup, CHART).map((c) => c.inputs.chart);
        assert.ok(charts.includes("linkerd-multicluster"));
        assert.ok(!charts.includes("linkerd-multicluster-link"));
        const chart = one(netcup, CHART, "akko-multicluster-chart");
        assert.equal(chart.inputs.version, "2026.8.3");
        assert.deepEqual(chart.inputs.values.controllers, [
            { link: { ref: { name: "eks" } }, gateway: { enabled: true } },
        ]);
        assert.deepEqual(chart.inputs.values.gateway, { enabled: false }, "nobody links to netcup: no LoadBalancer");
    });

    it("the source's credentials: two Secrets as link-gen prints them, a kubeconfig with eks' address, CA and netcup's own token", () => {
        for (const namespace of ["linkerd-multicluster", "linkerd"]) {
            const secret = kubernetesName(netcup, SECRET, "cluster-credentials-eks", namespace)!;
            assert.equal(secret.inputs.type, "mirror.linkerd.io/remote-kubeconfig", namespace);
            assert.ok(
                underSecret("stringData.kubeconfig", secret.secretPaths),
                `${namespace}: the kubeconfig input is a secret`,
            );
            const config = YAML.parse(secret.inputs.stringData.kubeconfig);
            assert.equal(config.clusters[0].cluster.server, "https://eks.example.internal:443");
            assert.equal(
                Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64").toString(),
                MOCK_API_SERVER_CA,
            );
            assert.equal(config.users[0].user.token, token);
        }
        const forDestination = kubernetesName(netcup, SECRET, "cluster-credentials-eks", "linkerd")!;
        assert.equal(forDestination.inputs.metadata.labels["multicluster.linkerd.io/cluster-name"], "eks");
        assert.deepEqual(
            [
                forDestination.inputs.metadata.annotations["multicluster.linkerd.io/trust-domain"],
                forDestination.inputs.metadata.annotations["multicluster.linkerd.io/cluster-domain"],
            ],
            ["cluster.local", "cluster.local"],
        );
    });

    it("the Link waits for the chart (its CRD) and points at eks' gateway", () => {
        const link = one(netcup, LINK, "akko-multicluster-link-eks");
        assert.equal(link.inputs.metadata.namespace, "linkerd-multicluster");
        assert.equal(link.inputs.spec.gatewayAddress, "203.0.113.7");
        assert.equal(link.inputs.spec.clusterCredentialsSecret, "cluster-credentials-eks");
        assert.ok(link.dependencies.includes(one(netcup, CHART, "akko-multicluster-chart").urn));
    });

    it("the token is never in the open: no plain output, name, ConfigMap, component output, input or message carries it", () => {
        assert.ok(token.length > 20);
        assert.deepEqual(openPlaces(eks, token), []);
        assert.deepEqual(openPlaces(netcup, token), []);
        // The check itself finds a token put in the open.
        const leaky = {
            ...netcup,
            outputs: { ...netcup.outputs, oops: { value: { token }, secret: false, dependencies: [] } },
        };
        assert.deepEqual(openPlaces(leaky, token), ["stack output oops"]);
    });

    it("linkerd-multicluster is in the injector's scope and in the rollout's restart scope", () => {
        const selector = one(netcup, CHART, "akko-linkerd-control-plane").inputs.values.proxyInjector.namespaceSelector;
        assert.ok(selector.matchExpressions[0].values.includes("linkerd-multicluster"));
        const rollout = netcup.resources.find(
            (r) => r.type === "kubernetes:batch/v1:Job" && r.name === "akko-maintenance-rollout",
        )!;
        const env = Object.fromEntries(
            rollout.inputs.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [
                e.name,
                e.value,
            ]),
        );
        assert.ok(env.MESHED_NAMESPACES.split(",").includes("linkerd-multicluster"));
        const namespace = kubernetesName(netcup, "kubernetes:core/v1:Namespace", "linkerd-multicluster")!;
        assert.deepEqual(namespace.inputs.metadata.labels, {
            "app.kubernetes.io/part-of": "akko-mtls",
            "linkerd.io/extension": "multicluster",
            "pod-security.kubernetes.io/enforce": "privileged",
        });
    });

    describe("refusals name the key before anything is registered", () => {
        const refused = async (overrides: Record<string, unknown>, stacks: Record<string, ProgramRun["outputs"]>) => {
            const run = await runStack(
                "netcup",
                { ...NETCUP_LINKS, ...overrides },
                { stacks: { trust: await fleetTrust(), ...stacks } },
            );
            assert.ok(run.error instanceof ConfigError, String(run.error));
            const kinds = new Set(run.resources.map((r) => r.type));
            // The fleet member's read of its trust stack is a component holding a StackReference: nothing in a cluster.
            assert.deepEqual(
                [...kinds].sort(),
                ["akko:mtls:FleetMember", "pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"],
                "only the stack and its reads",
            );
            return run.error;
        };

        it("a link to a stack outside this stack's fleet, before that stack is read", async () => {
            const k3dGrants = await runStackOk("k3d", {
                "mtls.enabled": true,
                "multicluster.enabled": true,
                "multicluster.apiServerAddress": "https://k3d.example.internal:6443",
                "multicluster.remoteAccess": ["netcup"],
            });
            const error = await refused(
                { "multicluster.links": ["eks", "k3d"] },
                { eks: (await member("eks", EKS_GRANTS)).outputs, k3d: k3dGrants.outputs },
            );
            assert.deepEqual(
                error.problems.map((p) => [p.key, p.message]),
                [
                    [
                        "akko-mtls:multicluster.links[1]",
                        "stack k3d is not a member of the fleet trust (its fleet.clusters: netcup, eks, gke): linked clusters must share the fleet's anchor; " +
                            "add k3d to fleet.clusters of trust and make it a member first",
                    ],
                ],
            );
        });

        it("any link from a stack that is no fleet member: linked clusters must share the anchor", async () => {
            const standalone = { "mtls.enabled": true, "multicluster.enabled": true, "multicluster.links": ["eks"] };
            const run = await runStack("netcup", standalone, {
                stacks: { eks: (await member("eks", EKS_GRANTS)).outputs },
            });
            assert.ok(run.error instanceof ConfigError, String(run.error));
            assert.deepEqual(
                run.error.problems.map((p) => p.key),
                ["akko-mtls:multicluster.links[0]"],
            );
            assert.match(
                run.error.problems[0].message,
                /this stack is not a fleet member \(identity.trustAnchor.fleetStack is unset\)/,
            );
            // Refused before the linked member is read: no reference to eks (only the stack's read of its own last outputs).
            assert.deepEqual(
                run.resources.filter((r) => r.name.startsWith("multicluster-link-")).map((r) => r.name),
                [],
            );
            assert.deepEqual([...new Set(run.resources.map((r) => r.type))].sort(), [
                "pulumi:pulumi:Stack",
                "pulumi:pulumi:StackReference",
            ]);
        });

        it("a link to itself", async () => {
            const error = await refused({ "multicluster.links": ["netcup"] }, {});
            assert.deepEqual(
                error.problems.map((p) => [p.key, p.message]),
                [["akko-mtls:multicluster.links[0]", "is this stack itself: a cluster does not link to itself"]],
            );
        });

        it("a link to a member that does not exist or exports no endpoint", async () => {
            const error = await refused({ "multicluster.links": ["eks", "gke"] }, { eks: eks.outputs });
            assert.deepEqual(
                error.problems.map((p) => p.key),
                ["akko-mtls:multicluster.links[1]"],
            );
            assert.match(error.problems[0].message, /stack gke exports no multicluster endpoint/);
            const plain = await member("gke", { "mtls.enabled": true, "identity.trustAnchor.fleetStack": "trust" });
            const again = await refused({ "multicluster.links": ["gke"] }, { gke: plain.outputs });
            assert.match(again.problems[0].message, /stack gke exports no multicluster endpoint/);
        });

        it("a link to a member that grants another source only", async () => {
            const other = await member("eks", { ...EKS_GRANTS, "multicluster.remoteAccess": ["gke"] });
            const error = await refused({}, { eks: other.outputs });
            assert.match(
                error.problems[0].message,
                /stack eks does not grant netcup remote access: add netcup to its multicluster.remoteAccess/,
            );
        });
    });
});

describe("linked clusters: the rollout checks each far end, and reads the links' credentials to do so", () => {
    let eks: ProgramRun;
    let netcup: ProgramRun;
    before(async () => {
        eks = await member("eks", EKS_GRANTS);
        netcup = await member("netcup", NETCUP_LINKS, { eks: eks.outputs });
    });
    const JOB = "kubernetes:batch/v1:Job";
    const rolloutOf = (run: ProgramRun) => ofType(run, JOB).find((j) => j.name.endsWith("-maintenance-rollout"))!;
    const envOf = (job: { inputs: any }) =>
        Object.fromEntries(
            (job.inputs.spec.template.spec.containers[0].env as { name: string; value: string }[]).map((e) => [
                e.name,
                e.value,
            ]),
        );
    /** The maintenance identities among every user the program's own RBAC objects name. */
    const maintenanceUsers = (model: RbacModel) =>
        model.users().filter((u) => u.startsWith("system:serviceaccount:linkerd-maintenance:"));
    const modelOf = (run: ProgramRun) =>
        new RbacModel(
            run.resources
                .filter((r) => r.type.startsWith("kubernetes:") && !r.read && r.custom)
                .map((r): KubeObject => ({
                    ...r.inputs,
                    kind: r.type.split(":").pop()!,
                    metadata: r.inputs.metadata ?? { name: r.name },
                })),
        );

    it("the source's rollout runs remote-trust last, with exactly its contract's variables: eks' credentials Secret, the anchor its issuer is signed under", () => {
        const env = envOf(rolloutOf(netcup));
        const tasks = env.TASKS.split(",");
        assert.equal(tasks.at(-1), "remote-trust");
        const own = Object.keys(env).filter((name) => !["PATH", "HOME"].includes(name));
        assert.deepEqual(own.sort(), contract.variablesFor(tasks).sort());
        assert.deepEqual(JSON.parse(env.REMOTE_TRUST_LINKS), [{ target: "eks", secret: "cluster-credentials-eks" }]);
        assert.equal(env.MULTICLUSTER_NAMESPACE, "linkerd-multicluster");
        assert.equal(
            env.SIGNING_ANCHOR_SHA256,
            String(netcup.outputs.trustAnchorFingerprintSha256.value).replace(/:/g, ""),
        );
        assert.ok(
            env.REMOTE_TRUST_NAMESPACES.split(",").includes("linkerd-multicluster"),
            "the far end's gateway and controllers",
        );
        // The target links to nobody: its rollout has no such task, nor the variables.
        assert.ok(!envOf(rolloutOf(eks)).TASKS.includes("remote-trust"));
        assert.equal(envOf(rolloutOf(eks)).REMOTE_TRUST_LINKS, undefined);
    });

    it("only the rollout's identity reads a Secret, exactly the links' credentials in linkerd-multicluster; on a stack without links, no maintenance identity reads one", () => {
        const model = modelOf(netcup);
        const users = maintenanceUsers(model);
        const rollout = serviceAccount("linkerd-maintenance", "linkerd-mesh-rollout");
        assert.ok(users.includes(rollout) && users.length >= 2, users.join(", "));
        assert.deepEqual(model.secretReaders(users, "linkerd-multicluster", "cluster-credentials-eks"), [rollout]);
        // Not the destination's copy, not the remote-access token this stack would grant, nothing in linkerd.
        for (const [namespace, name] of [
            ["linkerd", "cluster-credentials-eks"],
            ["linkerd-multicluster", "cluster-credentials-gke"],
            ["linkerd-multicluster", "linkerd-service-mirror-remote-access-eks-token"],
            ["linkerd", "linkerd-identity-issuer"],
        ]) {
            assert.deepEqual(model.secretReaders(users, namespace, name), [], `${namespace}/${name}`);
        }
        const targetModel = modelOf(eks);
        const targetUsers = maintenanceUsers(targetModel);
        assert.ok(targetUsers.length >= 2);
        for (const name of ["cluster-credentials-netcup", "linkerd-service-mirror-remote-access-netcup-token"]) {
            assert.deepEqual(targetModel.secretReaders(targetUsers, "linkerd-multicluster", name), [], name);
        }
    });
});

describe("linked clusters, rendered by the real chart and checked against the published schemas", function () {
    this.timeout(300_000);
    let eks: ProgramRun;
    let netcup: ProgramRun;
    before(async () => {
        eks = await member("eks", EKS_GRANTS);
        netcup = await member("netcup", NETCUP_LINKS, { eks: eks.outputs });
    });

    it("the source's chart renders one managed controller for eks, probing its gateway; the target's renders the gateway and no remote-access objects", async function () {
        const source = await upstream(this, () => renderRegistered(one(netcup, CHART, "akko-multicluster-chart")));
        const deployments = source.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);
        assert.deepEqual(deployments.sort(), ["controller-eks", "linkerd-local-service-mirror"]);
        const controller = source.find((o) => o.kind === "Deployment" && o.metadata.name === "controller-eks")!;
        assert.equal(
            controller.spec.template.metadata.annotations["linkerd.io/inject"],
            "enabled",
            "the controller is meshed",
        );
        assert.ok(controller.spec.template.spec.containers[0].args.includes("eks"));
        assert.ok(
            source.some((o) => o.kind === "Service" && o.metadata.name === "probe-eks"),
            "gateway mode: the probe Service",
        );
        assert.ok(
            !source.some((o) => o.kind === "Service" && o.metadata.name === "linkerd-gateway"),
            "no gateway where nobody links in",
        );
        const readCreds = source.find(
            (o) => o.kind === "Role" && o.metadata.name === "controller-read-remote-creds-eks",
        )!;
        assert.deepEqual(
            readCreds.rules[0].resourceNames,
            ["cluster-credentials-eks"],
            "the controller reads exactly the Secret the program writes",
        );
        for (const objects of [source, await renderRegistered(one(eks, CHART, "akko-multicluster-chart"))]) {
            assert.ok(
                !objects.some((o) => o.metadata.name?.startsWith("linkerd-service-mirror-remote-access")),
                "the program owns the remote-access objects",
            );
            assert.ok(
                !objects.some((o) => o.kind === "Namespace" || o.kind === "Job"),
                "no namespace (CLI only), no hook Job",
            );
        }
        const target = await renderRegistered(one(eks, CHART, "akko-multicluster-chart"));
        const gateway = target.find((o) => o.kind === "Service" && o.metadata.name === "linkerd-gateway")!;
        const exported = eks.outputs.multicluster.value as { gateway: { identity: string; port: number } };
        assert.equal(
            gateway.metadata.annotations?.["mirror.linkerd.io/gateway-identity"],
            exported.gateway.identity,
            "the identity eks exports is its gateway's",
        );
        assert.ok(
            gateway.spec.ports.some(
                (p: { name: string; port: number }) => p.name === "mc-gateway" && p.port === exported.gateway.port,
            ),
        );
    });

    it("every object the linked stacks register and every object the chart renders is valid; the Link against the chart's v1alpha3 CRD", async function () {
        const { schemas } = await upstream(this, allCrdSchemas);
        for (const run of [eks, netcup]) {
            const registered = registeredObjects(run).filter(
                (r) => r.parent?.includes("akko:mtls:Multicluster") || r.name.includes("multicluster"),
            );
            assert.ok(registered.length > 3, run.stack);
            assert.deepEqual(await schemaProblems(registered.map(asObject), schemas), [], run.stack);
            assert.deepEqual(
                await schemaProblems(await renderRegistered(one(run, CHART, "akko-multicluster-chart")), schemas),
                [],
                run.stack,
            );
        }
        assert.ok(schemas.get("multicluster.linkerd.io/v1alpha3", "Link"), "the Link's schema is the chart's");
        const link = asObject(one(netcup, LINK, "akko-multicluster-link-eks"));
        assert.deepEqual(
            await schemaProblems(
                [{ ...link, spec: { ...(link.spec as Record<string, unknown>), gatewayPort: 4143 } }],
                schemas,
            ).then((p) => p.length > 0),
            true,
            "a wrong type fails",
        );
    });
});
