/**
 * Which admission webhooks the API server calls for a request, following Kubernetes' own rules
 * (k8s.io/apiserver pkg/admission/plugin/webhook: `predicates/rules` RuleMatcher,
 * `predicates/namespace` and `predicates/object` matchers; label selectors as
 * k8s.io/apimachinery pkg/labels `LabelSelectorAsSelector`): a webhook is called when one of its
 * rules matches the operation, group, version and resource, its namespaceSelector matches the
 * labels of the object's namespace (every namespace carries `kubernetes.io/metadata.name`), and
 * its objectSelector matches the object's labels. An absent selector matches everything.
 */

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** Kubernetes label-selector semantics: every requirement must hold; `NotIn` holds for a missing key. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
    if (!selector) return true;
    const has = (key: string) => Object.prototype.hasOwnProperty.call(labels, key);
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
    for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
        const holds =
            operator === "In"
                ? has(key) && values.includes(labels[key])
                : operator === "NotIn"
                  ? !has(key) || !values.includes(labels[key])
                  : operator === "Exists"
                    ? has(key)
                    : !has(key);
        if (!holds) return false;
    }
    return true;
}

export interface AdmissionRequest {
    operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
    group: string;
    version: string;
    /** Plural resource name, e.g. `httproutes`. */
    resource: string;
    namespace: string;
    /** The namespace's labels besides `kubernetes.io/metadata.name`, which the API server sets. */
    namespaceLabels?: Record<string, string>;
    objectLabels?: Record<string, string>;
}

interface Rule {
    operations: string[];
    apiGroups: string[];
    apiVersions: string[];
    resources: string[];
}

const matchesRule = (rule: Rule, request: AdmissionRequest) =>
    [
        [rule.operations, request.operation],
        [rule.apiGroups, request.group],
        [rule.apiVersions, request.version],
        [rule.resources, request.resource],
    ].every(
        ([allowed, value]) => (allowed as string[]).includes("*") || (allowed as string[]).includes(value as string),
    );

/** The webhooks (`<configuration>/<webhook>`, with their failure policy) called for the request. */
export function webhooksCalled(
    configurations: any[],
    request: AdmissionRequest,
): { name: string; failurePolicy: string }[] {
    const namespaceLabels = { ...(request.namespaceLabels ?? {}), "kubernetes.io/metadata.name": request.namespace };
    return configurations
        .filter((c) => c.kind === "MutatingWebhookConfiguration" || c.kind === "ValidatingWebhookConfiguration")
        .flatMap((c) =>
            (c.webhooks ?? [])
                .filter(
                    (w: any) =>
                        (w.rules ?? []).some((r: Rule) => matchesRule(r, request)) &&
                        selects(w.namespaceSelector, namespaceLabels) &&
                        selects(w.objectSelector, request.objectLabels ?? {}),
                )
                .map((w: any) => ({ name: `${c.metadata.name}/${w.name}`, failurePolicy: w.failurePolicy ?? "Fail" })),
        );
}
