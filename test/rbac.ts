/**
 * An RBAC oracle: who may do what, computed from Roles, ClusterRoles (with aggregation), their
 * bindings and the built-in ClusterRoles, as Kubernetes' RBAC authorizer decides it
 * (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac: a request is allowed when a rule of a role
 * bound to the subject, or to one of its groups, matches its API group, resource, verb and name;
 * a RoleBinding grants only in its own namespace). Plus what a right implies beyond itself: running
 * a pod in a namespace mounts any of its Secrets and acts as any of its ServiceAccounts.
 *
 * Used by test/trust.test.ts to compute who can sign for the mesh, and test/podSecurityCheck.test.ts.
 */
import { run as celRun } from "@bufbuild/cel";

export interface KubeObject {
    apiVersion?: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    [key: string]: any;
}

interface Rule {
    apiGroups?: string[];
    resources?: string[];
    verbs: string[];
    resourceNames?: string[];
}

export interface Request {
    verb: string;
    group: string;
    resource: string;
    /** Unset for cluster-scoped resources. */
    namespace?: string;
    name?: string;
}

/** The subject's user name as the API server sees it (`system:serviceaccount:<ns>:<name>`, or a user's name). */
export type Username = string;

export const serviceAccount = (namespace: string, name: string): Username =>
    `system:serviceaccount:${namespace}:${name}`;

/**
 * The built-in ClusterRoles that matter here, as Kubernetes bootstraps them
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml, kubernetes@025f2834):
 * `admin`, `edit` and `view` are empty and aggregate every ClusterRole labelled for them (cert-manager's
 * chart labels `cert-manager-edit` and `cert-manager-view`); `system:aggregate-to-edit` carries the
 * Secret and pod rights (abridged to the rules about Secrets, pods, workloads and ServiceAccounts).
 */
export const BOOTSTRAP_CLUSTER_ROLES: KubeObject[] = [
    {
        kind: "ClusterRole",
        metadata: { name: "cluster-admin" },
        rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    },
    {
        kind: "ClusterRole",
        metadata: { name: "admin" },
        aggregationRule: {
            clusterRoleSelectors: [{ matchLabels: { "rbac.authorization.k8s.io/aggregate-to-admin": "true" } }],
        },
    },
    {
        kind: "ClusterRole",
        metadata: { name: "edit", labels: { "rbac.authorization.k8s.io/aggregate-to-admin": "true" } },
        aggregationRule: {
            clusterRoleSelectors: [{ matchLabels: { "rbac.authorization.k8s.io/aggregate-to-edit": "true" } }],
        },
    },
    {
        kind: "ClusterRole",
        metadata: { name: "view", labels: { "rbac.authorization.k8s.io/aggregate-to-edit": "true" } },
        aggregationRule: {
            clusterRoleSelectors: [{ matchLabels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } }],
        },
    },
    {
        kind: "ClusterRole",
        metadata: {
            name: "system:aggregate-to-admin",
            labels: { "rbac.authorization.k8s.io/aggregate-to-admin": "true" },
        },
        rules: [
            {
                apiGroups: ["rbac.authorization.k8s.io"],
                resources: ["rolebindings", "roles"],
                verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
            },
        ],
    },
    {
        kind: "ClusterRole",
        metadata: {
            name: "system:aggregate-to-edit",
            labels: { "rbac.authorization.k8s.io/aggregate-to-edit": "true" },
        },
        rules: [
            {
                apiGroups: [""],
                resources: ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
                verbs: ["get", "list", "watch"],
            },
            { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] },
            {
                apiGroups: [""],
                resources: ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
                verbs: ["create", "delete", "patch", "update"],
            },
            {
                apiGroups: [""],
                resources: ["configmaps", "replicationcontrollers", "secrets", "serviceaccounts", "services"],
                verbs: ["create", "delete", "patch", "update"],
            },
            { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
            {
                apiGroups: ["apps"],
                resources: ["daemonsets", "deployments", "replicasets", "statefulsets"],
                verbs: ["create", "delete", "patch", "update"],
            },
            { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["create", "delete", "patch", "update"] },
        ],
    },
    {
        kind: "ClusterRole",
        metadata: {
            name: "system:aggregate-to-view",
            labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
        },
        rules: [
            {
                apiGroups: [""],
                resources: ["configmaps", "pods", "serviceaccounts", "services"],
                verbs: ["get", "list", "watch"],
            },
        ],
    },
];

const matches = (list: string[] | undefined, value: string) =>
    (list ?? []).some((item) => item === "*" || item === value);
const resourceMatches = (list: string[] | undefined, resource: string) =>
    (list ?? []).some(
        (item) =>
            item === "*" ||
            item === resource ||
            (item === "*/*" && resource.includes("/")) ||
            (item.endsWith("/*") && resource.startsWith(item.slice(0, -1))),
    );

function ruleAllows(rule: Rule, request: Request): boolean {
    if (
        !matches(rule.apiGroups, request.group) ||
        !resourceMatches(rule.resources, request.resource) ||
        !matches(rule.verbs, request.verb)
    )
        return false;
    // A rule with resourceNames matches only requests that name one of them (never a create or a plain list).
    return (
        !rule.resourceNames ||
        rule.resourceNames.length === 0 ||
        (request.name !== undefined && rule.resourceNames.includes(request.name))
    );
}

/** Workload kinds whose pod template a subject that may create or change them runs as it likes. */
const WORKLOADS: [string, string][] = [
    ["apps", "deployments"],
    ["apps", "statefulsets"],
    ["apps", "daemonsets"],
    ["apps", "replicasets"],
    ["batch", "jobs"],
    ["batch", "cronjobs"],
    ["", "replicationcontrollers"],
];

/** A ValidatingAdmissionPolicy and whether a binding enforces it. */
interface AdmissionPolicy {
    name: string;
    spec: any;
}

export class RbacModel {
    private readonly clusterRoles = new Map<string, KubeObject>();
    private readonly roles = new Map<string, KubeObject>();
    private readonly bindings: KubeObject[] = [];
    private readonly policies: AdmissionPolicy[] = [];
    /** Pod templates (rendered or registered): their namespace, ServiceAccount and the Secrets they mount. */
    private readonly podTemplates: {
        kind: string;
        name: string;
        namespace: string;
        serviceAccount: string;
        secrets: string[];
    }[] = [];

    /** `objects`: every rendered chart object and the program's own, namespaced ones with their namespace set. */
    constructor(objects: KubeObject[]) {
        for (const object of [...BOOTSTRAP_CLUSTER_ROLES, ...objects]) {
            const { kind, metadata } = object;
            if (kind === "ClusterRole") this.clusterRoles.set(metadata.name, object);
            else if (kind === "Role") this.roles.set(`${metadata.namespace}/${metadata.name}`, object);
            else if (kind === "RoleBinding" || kind === "ClusterRoleBinding") this.bindings.push(object);
            else if (kind === "ValidatingAdmissionPolicy")
                this.policies.push({ name: metadata.name, spec: object.spec });
            const template = kind === "CronJob" ? object.spec?.jobTemplate?.spec?.template : object.spec?.template;
            if (["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"].includes(kind) && template?.spec) {
                this.podTemplates.push({
                    kind,
                    name: metadata.name,
                    namespace: metadata.namespace!,
                    serviceAccount: template.spec.serviceAccountName ?? "default",
                    secrets: (template.spec.volumes ?? []).flatMap((v: any) => [
                        ...(v.secret ? [v.secret.secretName] : []),
                        ...(v.projected?.sources ?? []).filter((s: any) => s.secret).map((s: any) => s.secret.name),
                    ]),
                });
            }
        }
        // Only policies a binding enforces with Deny count.
        const enforced = new Set(
            objects
                .filter(
                    (o) =>
                        o.kind === "ValidatingAdmissionPolicyBinding" &&
                        (o.spec?.validationActions ?? []).includes("Deny"),
                )
                .map((o) => o.spec.policyName),
        );
        this.policies.splice(0, this.policies.length, ...this.policies.filter((p) => enforced.has(p.name)));
    }

    /** A ClusterRole's rules, aggregated ones included (the controller manager's clusterrole-aggregation, to a fixpoint). */
    private clusterRoleRules(name: string, seen = new Set<string>()): Rule[] {
        const role = this.clusterRoles.get(name);
        if (!role || seen.has(name)) return [];
        seen.add(name);
        const own: Rule[] = role.rules ?? [];
        const selectors: { matchLabels?: Record<string, string> }[] = role.aggregationRule?.clusterRoleSelectors ?? [];
        const aggregated = [...this.clusterRoles.values()]
            .filter((other) =>
                selectors.some((s) =>
                    Object.entries(s.matchLabels ?? {}).every(([k, v]) => other.metadata.labels?.[k] === v),
                ),
            )
            .flatMap((other) => this.clusterRoleRules(other.metadata.name, seen));
        return [...own, ...aggregated];
    }

    private static groupsOf(user: Username): string[] {
        const sa = /^system:serviceaccount:([^:]+):/.exec(user);
        return ["system:authenticated", ...(sa ? ["system:serviceaccounts", `system:serviceaccounts:${sa[1]}`] : [])];
    }

    private static boundTo(binding: KubeObject, user: Username): boolean {
        const groups = RbacModel.groupsOf(user);
        return (binding.subjects ?? []).some((s: any) =>
            s.kind === "ServiceAccount"
                ? user === serviceAccount(s.namespace ?? binding.metadata.namespace, s.name)
                : s.kind === "User"
                  ? s.name === user
                  : s.kind === "Group" && groups.includes(s.name),
        );
    }

    /** Whether RBAC allows `user` the request. */
    can(user: Username, request: Request): boolean {
        return this.bindings.some((binding) => {
            if (!RbacModel.boundTo(binding, user)) return false;
            if (binding.kind === "RoleBinding" && binding.metadata.namespace !== request.namespace) return false;
            const ref = binding.roleRef;
            const rules =
                ref.kind === "ClusterRole"
                    ? this.clusterRoleRules(ref.name)
                    : (this.roles.get(`${binding.metadata.namespace}/${ref.name}`)?.rules ?? []);
            return rules.some((rule: Rule) => ruleAllows(rule, request));
        });
    }

    /** Every user some binding names (ServiceAccounts and users), plus `extra`. */
    users(extra: Username[] = []): Username[] {
        const names = new Set(extra);
        for (const binding of this.bindings) {
            for (const s of binding.subjects ?? []) {
                if (s.kind === "ServiceAccount")
                    names.add(serviceAccount(s.namespace ?? binding.metadata.namespace, s.name));
                else if (s.kind === "User") names.add(s.name);
            }
        }
        for (const t of this.podTemplates) names.add(serviceAccount(t.namespace, t.serviceAccount));
        return [...names].sort();
    }

    /**
     * Whether an enforced ValidatingAdmissionPolicy refuses the request: one whose resource rules match
     * it, whose match conditions hold and one of whose validations fails, evaluated with CEL on the
     * admission request as the API server hands it over (`request.dryRun` false: a request that stores).
     */
    private admissionRefuses(
        user: Username,
        operation: string,
        group: string,
        resource: string,
        object: any,
        oldObject: any,
    ): boolean {
        const request = { userInfo: { username: user }, operation, dryRun: false, resource: { group, resource } };
        return this.policies.some(({ spec }) => {
            const applies = (spec.matchConstraints?.resourceRules ?? []).some(
                (r: any) =>
                    matches(r.apiGroups, group) &&
                    resourceMatches(r.resources, resource) &&
                    (matches(r.operations, operation) || matches(r.operations, "*")),
            );
            if (!applies) return false;
            const context = { request, object, oldObject };
            if (!(spec.matchConditions ?? []).every((c: any) => celRun(c.expression, context) === true)) return false;
            return !(spec.validations ?? []).every((v: any) => celRun(v.expression, context) === true);
        });
    }

    /**
     * Whether an admission policy stops `user` from changing a workload's pod template (its
     * ServiceAccount, its volumes): every enforced ValidatingAdmissionPolicy that matches the request
     * is evaluated, with CEL, on an update that mounts a Secret.
     */
    private admissionRefusesTemplateChange(user: Username, group: string, resource: string): boolean {
        const before = {
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: "x" } },
                template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "x", image: "x" }] } },
            },
        };
        const after = structuredClone(before) as any;
        after.spec.template.spec.serviceAccountName = "another";
        after.spec.template.spec.volumes = [{ name: "key", secret: { secretName: "any" } }];
        return this.admissionRefuses(user, "UPDATE", group, resource, after, before);
    }

    /**
     * Whether `user` can run a pod of its choosing in `namespace` (any ServiceAccount there, any
     * Secret mounted): create pods — unless an admission policy refuses a create that stores one (a
     * dry-run-only identity) —, or create or change a workload — unless an admission policy
     * confines the change — of which `names` (Deployments by name, for rules with resourceNames).
     */
    canRunPods(user: Username, namespace: string, names: string[] = []): boolean {
        const anyPod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "x", namespace },
            spec: { serviceAccountName: "another", containers: [{ name: "x", image: "x" }] },
        };
        if (
            this.can(user, { verb: "create", group: "", resource: "pods", namespace }) &&
            !this.admissionRefuses(user, "CREATE", "", "pods", anyPod, null)
        )
            return true;
        return WORKLOADS.some(([group, resource]) => {
            if (this.can(user, { verb: "create", group, resource, namespace })) return true;
            const changes = ["update", "patch"].some((verb) =>
                [undefined, ...names].some((name) => this.can(user, { verb, group, resource, namespace, name })),
            );
            return changes && !this.admissionRefusesTemplateChange(user, group, resource);
        });
    }

    /** The ServiceAccounts `user` can act as: impersonate, mint a token for, or run a pod as. */
    private actsAs(user: Username, target: Username): boolean {
        const sa = /^system:serviceaccount:([^:]+):(.+)$/.exec(target);
        if (!sa) return false;
        const [, namespace, name] = sa;
        return (
            this.can(user, { verb: "impersonate", group: "", resource: "serviceaccounts", namespace, name }) ||
            this.can(user, { verb: "create", group: "", resource: "serviceaccounts/token", namespace, name }) ||
            this.canRunPods(user, namespace, this.workloadNames(namespace))
        );
    }

    /** Names of the workloads of a namespace (for rules that name them). */
    private workloadNames(namespace: string): string[] {
        return this.podTemplates.filter((t) => t.namespace === namespace).map((t) => t.name);
    }

    /** Everyone among `users` who has `holds` directly or through a ServiceAccount they can act as (to a fixpoint). */
    closure(users: Username[], holds: (user: Username) => boolean): Username[] {
        const found = new Set(users.filter(holds));
        for (let grew = true; grew;) {
            grew = false;
            for (const user of users) {
                if (found.has(user)) continue;
                if ([...found].some((holder) => this.actsAs(user, holder))) {
                    found.add(user);
                    grew = true;
                }
            }
        }
        return [...found].sort();
    }

    /**
     * Who can read Secret `namespace/name` among `users`: get it (or list/watch Secrets there), run a
     * pod in the namespace (mounting it), be the ServiceAccount of a workload that mounts it, or act as
     * one who can.
     */
    secretReaders(users: Username[], namespace: string, name: string): Username[] {
        const mounters = new Set(
            this.podTemplates
                .filter((t) => t.namespace === namespace && t.secrets.includes(name))
                .map((t) => serviceAccount(namespace, t.serviceAccount)),
        );
        return this.closure(
            users,
            (user) =>
                mounters.has(user) ||
                this.can(user, { verb: "get", group: "", resource: "secrets", namespace, name }) ||
                ["list", "watch"].some((verb) => this.can(user, { verb, group: "", resource: "secrets", namespace })) ||
                this.canRunPods(user, namespace, this.workloadNames(namespace)),
        );
    }
}
