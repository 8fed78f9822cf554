/**
 * The policy pack (policy/), applied to what a mock run registered, the way `pulumi preview
 * --policy-pack policy` applies it to a preview: every resource policy to every resource (its
 * inputs as props), every stack policy to all of them. For `npm run plan` and the tests.
 */
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { policies } from "../policy/policies";
import type { ProgramRun } from "./mockRuntime";

/** A resource as a policy sees it. */
export interface PolicyInput {
    type: string;
    name: string;
    urn?: string;
    props: Record<string, any>;
    /** URNs of the resources it waits for (its inputs' and explicit ones), as the engine hands them to policies. */
    dependencies?: string[];
}

export interface Violation {
    policy: string;
    /** The resource's name, for resource policies. */
    resource?: string;
    message: string;
}

const urnOf = (r: PolicyInput) => r.urn ?? `urn:pulumi:plan::akko-mtls::${r.type}::${r.name}`;

/** The resources as policies see them, each one's dependencies resolved to the others (reads aside: a preview hands no reads to policies). */
function asPolicyResources(resources: PolicyInput[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const all = resources.map((r) => {
        const resource = {
            type: r.type,
            name: r.name,
            urn: urnOf(r),
            props: r.props,
            opts: {},
            dependencies: [],
            propertyDependencies: {},
        };
        byUrn.set(resource.urn, resource as unknown as PolicyResource);
        return resource as unknown as PolicyResource;
    });
    resources.forEach((r, i) => {
        (all[i] as { dependencies: PolicyResource[] }).dependencies = (r.dependencies ?? []).flatMap(
            (urn) => byUrn.get(urn) ?? [],
        );
    });
    return all;
}

/** Every violation of the pack's policies by these resources (`config`: the pack's policy config). */
export function checkPolicies(resources: PolicyInput[], config: object = {}): Violation[] {
    const violations: Violation[] = [];
    const policyResources = asPolicyResources(resources);
    for (const policy of policies) {
        // The fields of the SDK's validation arguments the policies read (they read no other).
        if ("validateStack" in policy) {
            const args = {
                resources: policyResources,
                getConfig: () => config,
                stackTags: new Map(),
            } as unknown as StackValidationArgs;
            policy.validateStack(args, (message) => violations.push({ policy: policy.name, message }));
        } else {
            resources.forEach((resource, i) => {
                const args = {
                    ...policyResources[i],
                    getConfig: () => config,
                    stackTags: new Map(),
                } as unknown as ResourceValidationArgs;
                policy.validateResource(args, (message) =>
                    violations.push({ policy: policy.name, resource: resource.name, message }),
                );
            });
        }
    }
    return violations;
}

/** The pack applied to a run's registered resources (reads excluded, as in a preview). */
export function checkRun(run: ProgramRun, config: object = {}): Violation[] {
    return checkPolicies(
        run.resources
            .filter((r) => !r.read)
            .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, dependencies: r.dependencies })),
        config,
    );
}
