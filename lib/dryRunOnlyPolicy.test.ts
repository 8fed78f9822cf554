/** The dry-run-only admission policy, evaluated with CEL (@bufbuild/cel) on allowed and hostile requests, for both of its uses. */
import { run as celRun } from "@bufbuild/cel";
import { strict as assert } from "node:assert";
import { DRY_RUN_ONLY, dryRunOnlyPolicy, requestedBy, type DryRunOnlyUse } from "./dryRunOnlyPolicy";

/** An admission request as the API server hands it to CEL: an unstructured map, `subResource` absent when there is none. */
type AdmissionRequest = {
    userInfo: { username: string };
    operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
    dryRun: boolean;
    resource: { group: string; version: string; resource: string };
    subResource?: string;
};

/** The API server's verdict: the policy applies when every match condition holds, and then denies unless every validation holds. */
function admitted(use: DryRunOnlyUse, identity: string, request: AdmissionRequest): boolean {
    const spec = dryRunOnlyPolicy({ use, identity: requestedBy(identity) });
    const holds = (expression: string) => celRun(expression, { request }) === true;
    return (
        !spec.matchConditions.every((c) => holds(c.expression)) || spec.validations.every((v) => holds(v.expression))
    );
}

const uses: {
    name: keyof typeof DRY_RUN_ONLY;
    identity: string;
    /** A request of the identity on what it may create. */
    request: (operation: AdmissionRequest["operation"], dryRun: boolean, subResource?: string) => AdmissionRequest;
    hostile: [string, AdmissionRequest["operation"], boolean, string?][];
}[] = [
    {
        name: "certManagerApiCheck",
        identity: "system:serviceaccount:cert-manager:cert-manager-api-check",
        request: (operation, dryRun, subResource) => ({
            userInfo: { username: "system:serviceaccount:cert-manager:cert-manager-api-check" },
            operation,
            dryRun,
            resource: { group: "cert-manager.io", version: "v1", resource: "certificaterequests" },
            ...(subResource ? { subResource } : {}),
        }),
        hostile: [
            ["a real CertificateRequest (with its stolen token)", "CREATE", false],
            ["an update of a request's status", "UPDATE", false, "status"],
            ["a deletion", "DELETE", false],
        ],
    },
    {
        name: "podSecurityCheck",
        identity: "system:serviceaccount:linkerd-maintenance:linkerd-mesh-pod-security",
        request: (operation, dryRun, subResource) => ({
            userInfo: { username: "system:serviceaccount:linkerd-maintenance:linkerd-mesh-pod-security" },
            operation,
            dryRun,
            resource: { group: "", version: "v1", resource: "pods" },
            ...(subResource ? { subResource } : {}),
        }),
        hostile: [
            ["a real pod (with its stolen token)", "CREATE", false],
            ["an exec into a pod", "CONNECT", false, "exec"],
            ["an exec, as a dry run", "CONNECT", true, "exec"],
            ["an ephemeral container", "UPDATE", false, "ephemeralcontainers"],
            ["an update as a dry run", "UPDATE", true],
            ["a deletion as a dry run", "DELETE", true],
            ["an eviction", "CREATE", false, "eviction"],
        ],
    },
];

describe("lib/dryRunOnlyPolicy: one dry-run-only admission policy, for each identity it confines", () => {
    for (const { name, identity, request, hostile } of uses) {
        const use = DRY_RUN_ONLY[name];
        it(`${name}: its dry-run create is admitted; anything it would store or run is refused`, () => {
            assert.ok(admitted(use, identity, request("CREATE", true)), "the check's dry-run create");
            for (const [why, operation, dryRun, subResource] of hostile) {
                assert.equal(admitted(use, identity, request(operation, dryRun, subResource)), false, why);
            }
        });

        it(`${name}: nobody else is concerned (controllers, tenants, the same account name in another namespace)`, () => {
            const other = (username: string) => ({ ...request("CREATE", false), userInfo: { username } });
            assert.ok(admitted(use, identity, other("system:serviceaccount:kube-system:replicaset-controller")));
            assert.ok(admitted(use, identity, other(identity.replace(/:[^:]+:([^:]+)$/, ":akko:$1"))));
        });

        it(`${name}: matches every operation on its resources and their subresources, with failurePolicy Fail`, () => {
            const spec = dryRunOnlyPolicy({ use, identity: requestedBy(identity) });
            assert.equal(spec.failurePolicy, "Fail");
            assert.deepEqual(spec.matchConstraints.resourceRules[0].operations, ["*"]);
            assert.ok(
                spec.matchConstraints.resourceRules[0].resources.some((r) => r.endsWith("/*")),
                "subresources",
            );
            // The request has no `subResource` key when there is none (unstructured, omitempty): the policy must not read it.
            assert.doesNotMatch(spec.validations[0].expression, /subResource/);
        });
    }
});
