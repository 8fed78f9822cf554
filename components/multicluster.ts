import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { configKey, ConfigError, type MeshConfig } from "../config";
import type { ConfigSecrets } from "../config/secrets";
import {
    chartValues,
    CLUSTER_DOMAIN_ANNOTATION,
    CLUSTER_NAME_LABEL,
    credentialsSecretName,
    exportFor,
    kubeconfig,
    fleetLinkProblems,
    type FleetMembership,
    type LinkProblem,
    LinkMode,
    linkProblems,
    linkSpec,
    MulticlusterExport,
    parseMulticlusterExport,
    REMOTE_ACCESS_RULES,
    REMOTE_KUBECONFIG_TYPE,
    remoteAccessName,
    TRUST_DOMAIN_ANNOTATION,
    TRUST_ROOTS_READ_RULES,
} from "../lib/multicluster";
import { objectLabels } from "../lib/objects";
import { CHARTS, NAMESPACES } from "../lib/registry";
import { multiclusterNamespace } from "./namespaces";

/** A member this stack links to: what it exported, read through a StackReference before anything was registered. */
export interface LinkedMember {
    /** The member's stack name, which names its Link, controller and credentials. */
    target: string;
    /** Its `multicluster` output (plain). */
    remote: MulticlusterExport;
    /** The token its remote-access ServiceAccount for this stack holds: a Pulumi secret. */
    token: pulumi.Output<string>;
}

export interface MulticlusterArgs {
    /** This stack's name: the source the linked members granted access to. */
    self: string;
    /** Exact version of the linkerd-multicluster chart; the mesh passes `linkerd.chartVersion` (lib/registry.ts `CHARTS`). */
    chartVersion: pulumi.Input<string>;
    /** Helm repository of the chart. */
    repository: pulumi.Input<string>;
    /** Identity trust domain (the gateway's identity ends with it). */
    trustDomain: string;
    /** Linkerd's CNI plugin is on: the namespace enforces Pod Security `restricted`. */
    cniEnabled: boolean;
    /** How linking members reach this cluster's pods (`multicluster.mode`). */
    mode: LinkMode;
    /** The API server address the linking members' pods reach; needed when `remoteAccess` names a member. */
    apiServerAddress?: string;
    /**
     * Gateway mode: where the linking members reach the gateway.
     * @default []
     */
    gatewayAddresses?: readonly string[];
    /**
     * Members that may link to this one: a ServiceAccount, token, ClusterRole and binding each.
     * @default []
     */
    remoteAccess?: readonly string[];
    /**
     * Members this one links to.
     * @default []
     */
    links?: readonly LinkedMember[];
    /** The control-plane namespace (the destination's credentials copy, the trust-roots Role), as the namespace resource names it. */
    controlPlaneNamespace: pulumi.Input<string>;
    /** What the chart waits for: the control plane (the injector meshes the controllers and the gateway; the policy CRDs). */
    waitFor: pulumi.Input<pulumi.Resource>[];
}

const NAMESPACE = NAMESPACES.multicluster;
/** The program's labels (lib/objects.ts) and the extension's, on every object of a link. */
const labels = objectLabels({ labels: { "linkerd.io/extension": "multicluster" } });

/**
 * linkerd-multicluster, and the objects of linked clusters on both ends of a link:
 * - as a target, per member granted: ServiceAccount `linkerd-service-mirror-remote-access-<member>`,
 *   its token Secret, Linkerd's remote-access ClusterRole and binding, and a Role reading the trust
 *   roots for the rollout evidence; the token leaves as a secret output only;
 * - as a source, per member linked: the kubeconfig Secrets `cluster-credentials-<member>` (in
 *   `linkerd-multicluster` for its controller, in `linkerd` for the destination's remote discovery)
 *   and the Link; the chart's `controllers` value runs one service mirror per link.
 */
export class Multicluster extends pulumi.ComponentResource {
    /** Namespace `linkerd-multicluster`. */
    public readonly namespace: pulumi.Output<string>;
    /** The linkerd-multicluster chart. */
    public readonly chart: k8s.helm.v4.Chart;
    /** What this stack exports for the members linking to it; undefined when it grants none. */
    public readonly exported: pulumi.Output<MulticlusterExport> | undefined;
    /** The remote-access token of each member granted, by member: a Pulumi secret; undefined when it grants none. */
    public readonly remoteAccessTokens: pulumi.Output<Record<string, string>> | undefined;
    /** The Links this stack registered, by target. */
    public readonly links: pulumi.Output<string[]>;

    constructor(name: string, args: MulticlusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:Multicluster", name, {}, opts);
        const inside: pulumi.CustomResourceOptions = { parent: this };
        const namespace = multiclusterNamespace(
            `${name}-namespace`,
            { name: NAMESPACE, cniEnabled: args.cniEnabled },
            inside,
        );
        const remoteAccess = args.remoteAccess ?? [];
        const links = args.links ?? [];

        // The credentials first: each controller reads its Secret as soon as it starts.
        const credentials = links.flatMap((link) => this.credentials(name, args, link, namespace));
        this.chart = new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                name: "linkerd-multicluster",
                chart: CHARTS.linkerdMulticluster.chart,
                version: args.chartVersion,
                repositoryOpts: { repo: args.repository },
                namespace: namespace.metadata.name,
                values: chartValues({
                    trustDomain: args.trustDomain,
                    gateway: args.mode === "gateway" && remoteAccess.length > 0,
                    links: links.map((link) => ({ target: link.target, mode: link.remote.mode })),
                }),
            },
            { parent: this, dependsOn: [namespace, ...credentials, ...args.waitFor] },
        );
        // The Link is an instance of the chart's CRD (templates/link-crd.yaml, storage version v1alpha3).
        for (const link of links) {
            new k8s.apiextensions.CustomResource(
                `${name}-link-${link.target}`,
                {
                    apiVersion: "multicluster.linkerd.io/v1alpha3",
                    kind: "Link",
                    metadata: { name: link.target, namespace: namespace.metadata.name, labels },
                    spec: linkSpec(link.target, link.remote),
                },
                { parent: this, dependsOn: [this.chart, ...credentials] },
            );
        }

        const granted = remoteAccess.map((source) =>
            this.remoteAccess(name, source, namespace, args.controlPlaneNamespace),
        );
        if (granted.length > 0) {
            const caPem = pulumi.unsecret(granted[0].caPem);
            this.exported = caPem.apply((apiServerCaPem) =>
                exportFor({
                    apiServerAddress: args.apiServerAddress!,
                    apiServerCaPem,
                    trustDomain: args.trustDomain,
                    mode: args.mode,
                    gatewayAddresses: args.gatewayAddresses ?? [],
                    remoteAccess,
                }),
            );
            this.remoteAccessTokens = pulumi.secret(
                pulumi
                    .all(granted.map((g) => g.token))
                    .apply((tokens) => Object.fromEntries(remoteAccess.map((source, i) => [source, tokens[i]]))),
            );
        }
        this.namespace = namespace.metadata.name;
        this.links = pulumi.output(links.map((link) => link.target));
        this.registerOutputs({
            namespace: this.namespace,
            chart: this.chart,
            exported: this.exported,
            remoteAccessTokens: this.remoteAccessTokens,
            links: this.links,
        });
    }

    /** The two kubeconfig Secrets of a link (link-gen `getCreds`), the kubeconfig a Pulumi secret throughout. */
    private credentials(
        name: string,
        args: MulticlusterArgs,
        link: LinkedMember,
        namespace: k8s.core.v1.Namespace,
    ): k8s.core.v1.Secret[] {
        const secretName = credentialsSecretName(link.target);
        const config = pulumi.secret(
            link.token.apply((token) =>
                kubeconfig({
                    target: link.target,
                    source: args.self,
                    server: link.remote.apiServerAddress,
                    caPem: link.remote.apiServerCaPem,
                    token,
                }),
            ),
        );
        const forController = new k8s.core.v1.Secret(
            `${name}-credentials-${link.target}`,
            {
                metadata: { name: secretName, namespace: namespace.metadata.name, labels },
                type: REMOTE_KUBECONFIG_TYPE,
                stringData: { kubeconfig: config },
            },
            { parent: this },
        );
        // The destination controller's copy, for remote discovery (flat mode): it skips a Secret without the
        // label, and fails to add a cluster without both annotations (controller/api/destination/watcher/cluster_store.go).
        const forDestination = new k8s.core.v1.Secret(
            `${name}-destination-credentials-${link.target}`,
            {
                metadata: {
                    name: secretName,
                    namespace: args.controlPlaneNamespace,
                    labels: { ...labels, [CLUSTER_NAME_LABEL]: link.target },
                    annotations: {
                        [TRUST_DOMAIN_ANNOTATION]: link.remote.trustDomain,
                        [CLUSTER_DOMAIN_ANNOTATION]: link.remote.clusterDomain,
                    },
                },
                type: REMOTE_KUBECONFIG_TYPE,
                stringData: { kubeconfig: config },
            },
            { parent: this },
        );
        return [forController, forDestination];
    }

    /**
     * What a member linking here uses (chart templates/remote-access-service-mirror-rbac.yaml, one name per
     * source as linkerd2 #4461 allows for per-source revocation), and the Role reading the trust roots.
     */
    private remoteAccess(
        name: string,
        source: string,
        namespace: k8s.core.v1.Namespace,
        controlPlaneNamespace: pulumi.Input<string>,
    ): { token: pulumi.Output<string>; caPem: pulumi.Output<string> } {
        const saName = remoteAccessName(source);
        const inside: pulumi.CustomResourceOptions = { parent: this, dependsOn: [namespace] };
        const subjects = [{ kind: "ServiceAccount", name: saName, namespace: NAMESPACE }];
        const account = new k8s.core.v1.ServiceAccount(
            `${name}-remote-access-${source}`,
            { metadata: { name: saName, namespace: namespace.metadata.name, labels } },
            inside,
        );
        const role = new k8s.rbac.v1.ClusterRole(
            `${name}-remote-access-${source}`,
            { metadata: { name: saName, labels }, rules: [...REMOTE_ACCESS_RULES] },
            inside,
        );
        new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-remote-access-${source}`,
            {
                metadata: { name: saName, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: saName },
                subjects,
            },
            { parent: this, dependsOn: [role, account] },
        );
        const trustRoots = new k8s.rbac.v1.Role(
            `${name}-remote-trust-roots-${source}`,
            {
                metadata: { name: `${saName}-trust-roots`, namespace: controlPlaneNamespace, labels },
                rules: [...TRUST_ROOTS_READ_RULES],
            },
            inside,
        );
        new k8s.rbac.v1.RoleBinding(
            `${name}-remote-trust-roots-${source}`,
            {
                metadata: { name: `${saName}-trust-roots`, namespace: controlPlaneNamespace, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${saName}-trust-roots` },
                subjects,
            },
            { parent: this, dependsOn: [trustRoots, account] },
        );
        // The token controller fills `data` (token, ca.crt); pulumi-kubernetes waits for it (v4.32.0
        // provider/pkg/await/awaiters.go, service-account-token Secrets) and keeps `data` secret
        // (SDK core/v1/secret.js `additionalSecretOutputs`).
        const tokenSecret = new k8s.core.v1.Secret(
            `${name}-remote-access-token-${source}`,
            {
                metadata: {
                    name: `${saName}-token`,
                    namespace: namespace.metadata.name,
                    labels,
                    annotations: { "kubernetes.io/service-account.name": saName },
                },
                type: "kubernetes.io/service-account-token",
            },
            { parent: this, dependsOn: [account] },
        );
        const field = (key: string) =>
            pulumi.secret(tokenSecret.data.apply((data) => Buffer.from(data?.[key] ?? "", "base64").toString("utf8")));
        return { token: field("token"), caPem: field("ca.crt") };
    }
}

/**
 * Reads each linked member's exports through a StackReference (`<organization>/<project>/<member>`),
 * before anything else is registered: the plain `multicluster` output now (what the refusals and the
 * Link are built from), the token for this stack as a secret Output (`requireOutput`, never the
 * plaintext `getOutputDetails` would hand back). A member that cannot be read gives `undefined`.
 */
export async function readLinkedMembers(
    self: string,
    links: readonly string[],
): Promise<{ remotes: Record<string, unknown>; token: (target: string) => pulumi.Output<string> }> {
    const references = new Map<string, pulumi.StackReference>();
    const remotes: Record<string, unknown> = {};
    for (const target of links.filter((t) => t !== self)) {
        const reference = new pulumi.StackReference(`multicluster-link-${target}`, {
            name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${target}`,
        });
        references.set(target, reference);
        remotes[target] = await reference.getOutputDetails("multicluster").then(
            (details) => details.value,
            () => undefined,
        );
    }
    return {
        remotes,
        token: (target) =>
            pulumi.secret(
                references
                    .get(target)!
                    .requireOutput("multiclusterRemoteAccessTokens")
                    .apply((tokens: Record<string, string>) => {
                        const token = tokens?.[self];
                        if (!token)
                            throw new pulumi.RunError(
                                `stack ${target} holds no remote-access token for ${self}: deploy ${target} again`,
                            );
                        return token;
                    }),
            ),
    };
}

/**
 * Reads the members `multicluster.links` names and refuses, naming the key, a link they cannot serve:
 * first a link outside this stack's fleet (`fleet`: undefined when it is no member), before any
 * member is read.
 */
export async function linkedMembers(
    settings: MeshConfig["multicluster"],
    secrets: ConfigSecrets,
    fleet: FleetMembership | undefined,
): Promise<LinkedMember[]> {
    if (!settings.enabled || settings.links.length === 0) return [];
    const self = pulumi.getStack();
    const refuse = (problems: LinkProblem[]) => {
        if (problems.length === 0) return;
        throw new ConfigError(
            problems.map((p) => ({
                key: configKey(["multicluster", "links", p.index]),
                value: settings.links[p.index],
                message: p.message,
            })),
            secrets,
        );
    };
    refuse(fleetLinkProblems({ links: settings.links, fleet }));
    const read = await readLinkedMembers(self, settings.links);
    const remotes = Object.fromEntries(
        Object.entries(read.remotes).map(([target, value]) => [target, parseMulticlusterExport(target, value)]),
    );
    refuse(linkProblems({ self, links: settings.links, remotes }));
    return settings.links.map((target) => ({ target, remote: remotes[target]!, token: read.token(target) }));
}
