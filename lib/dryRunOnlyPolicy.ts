/**
 * The one shape of "this identity may only dry-run": a ValidatingAdmissionPolicy the program puts in
 * front of an identity whose Role allows creating objects it must never store (cert-manager's API
 * check and its CertificateRequests, components/certManager.ts; the Pod Security check and its pods,
 * components/meshMaintenance.ts), both in {@link DRY_RUN_ONLY}. Pure: the caller gives the identity's
 * match expression as a text or a Pulumi output of one ({@link requestedBy}), and makes the policy and
 * its binding.
 *
 * How Kubernetes evaluates it (k8s.io/apiserver v0.36.3 pkg/admission/plugin/cel): `request.dryRun`
 * and `request.operation` are the admission request's (condition.go CreateAdmissionRequest); a dry
 * run reaches validating admission before storage skips the write (pkg/registry/generic/registry/
 * store.go create, dryrun.go). The request reaches CEL as an unstructured map (activation.go
 * `convertObjectToUnstructured(request)`), so a field the API leaves empty (`subResource`, omitempty)
 * is absent, not '': the policy reads only `dryRun` (always set) and `operation`. Every operation on
 * the resources is matched, so whatever is not a dry run (of the one allowed operation) is refused:
 * for pods, exec, attach and port-forward are CONNECT, ephemeral containers an UPDATE. An expression
 * that errors denies (failurePolicy Fail). Evaluated with a CEL evaluator on allowed and hostile
 * requests in lib/dryRunOnlyPolicy.test.ts, and on the program's own objects in test/certManager.test.ts
 * and test/podSecurityCheck.test.ts.
 */

/** What a dry-run-only policy confines: whose requests, on what, and what it tells a refused one. */
export interface DryRunOnlyUse {
    /** The name of the match condition that singles out the identity. */
    conditionName: string;
    /** The API group of the resources it may dry-run ("" for the core group). */
    apiGroup: string;
    /** The resources (and `<resource>/*` for their subresources): every operation on them is matched. */
    resources: readonly string[];
    /** The one operation it may dry-run; unset: any operation, as long as it is a dry run. */
    operation?: "CREATE";
    /** The refusal's message, naming the identity. */
    message: string;
}

/** The program's dry-run-only identities. */
export const DRY_RUN_ONLY = {
    /**
     * cert-manager's API check (components/certManager.ts): its Role allows creating CertificateRequests,
     * none may be stored, hence signed. `cmctl check api` sends dry-run creates (cert-manager v1.21.1
     * pkg/util/cmapichecker).
     */
    certManagerApiCheck: {
        conditionName: "api-check-identity",
        apiGroup: "cert-manager.io",
        resources: ["*", "*/*"],
        message: "the cert-manager API check may only make dry-run requests",
    },
    /**
     * The Pod Security check (components/meshMaintenance.ts): its Roles allow creating pods in the meshed
     * namespaces, none may be stored, hence run (a pod it could run would act as any ServiceAccount and
     * mount any Secret of the namespace). A dry-run create of a subresource (an eviction, a binding)
     * changes nothing either.
     */
    podSecurityCheck: {
        conditionName: "pod-security-check-identity",
        apiGroup: "",
        resources: ["pods", "pods/*"],
        operation: "CREATE",
        message: "the Pod Security check may only create pods as a dry run",
    },
} as const satisfies Record<string, DryRunOnlyUse>;

/** CEL: the request is made by this user (a ServiceAccount's `system:serviceaccount:<namespace>:<name>`). */
export const requestedBy = (username: string): string => `request.userInfo.username == '${username}'`;

export interface DryRunOnlyPolicyArgs<Expression> {
    /** Whose requests, on what ({@link DRY_RUN_ONLY}). */
    use: DryRunOnlyUse;
    /** The CEL expression that singles out the identity ({@link requestedBy}), as a text or a Pulumi output of one. */
    identity: Expression;
}

/** The ValidatingAdmissionPolicy's spec: the identity's requests on the resources are refused unless they are dry runs. */
export function dryRunOnlyPolicy<Expression>({ use, identity }: DryRunOnlyPolicyArgs<Expression>) {
    return {
        failurePolicy: "Fail",
        matchConstraints: {
            resourceRules: [
                { apiGroups: [use.apiGroup], apiVersions: ["*"], operations: ["*"], resources: [...use.resources] },
            ],
        },
        matchConditions: [{ name: use.conditionName, expression: identity }],
        validations: [
            {
                expression: use.operation
                    ? `request.dryRun == true && request.operation == '${use.operation}'`
                    : "request.dryRun == true",
                message: use.message,
            },
        ],
    };
}
