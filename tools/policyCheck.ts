/**
 * The policy pack (policy/), applied to what a mock run registered, the way `pulumi preview
 * --policy-pack policy` applies it to a preview: every resource policy to every resource (its
 * inputs as props), every stack policy to all of them. For `npm run plan` and the tests.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../policy/policies";
import type { ProgramRun } from "./mockRuntime";

/** How a resource policy is called (the SDK types it more loosely). */
type ValidateResource = (args: object, reportViolation: (message: string) => void) => void;

/** A resource as a policy sees it. */
export interface PolicyInput {
    type: string;
    name: string;
    urn?: string;
    props: Record<string, any>;
}

export interface Violation {
    policy: string;
    /** The resource's name, for resource policies. */
    resource?: string;
    message: string;
}

const asPolicyResource = (r: PolicyInput): PolicyResource =>
    ({
        type: r.type,
        name: r.name,
        urn: r.urn ?? `urn:pulumi:plan::akko-mtls::${r.type}::${r.name}`,
        props: r.props,
        opts: {},
        dependencies: [],
        propertyDependencies: {},
    }) as unknown as PolicyResource;

/** Every violation of the pack's policies by these resources (`config`: the pack's policy config). */
export function checkPolicies(resources: PolicyInput[], config: object = {}): Violation[] {
    const violations: Violation[] = [];
    for (const policy of policies) {
        if ("validateStack" in policy) {
            (policy as StackValidationPolicy).validateStack(
                { resources: resources.map(asPolicyResource), getConfig: () => config, stackTags: new Map() } as any,
                (message: string) => violations.push({ policy: policy.name, message }),
            );
        } else if ("validateResource" in policy) {
            const validate = (policy as ResourceValidationPolicy).validateResource as unknown as ValidateResource;
            for (const resource of resources) {
                validate({ ...asPolicyResource(resource), getConfig: () => config, stackTags: new Map() }, (message: string) =>
                    violations.push({ policy: policy.name, resource: resource.name, message }),
                );
            }
        }
    }
    return violations;
}

/** The pack applied to a run's registered resources (reads excluded, as in a preview). */
export function checkRun(run: ProgramRun, config: object = {}): Violation[] {
    return checkPolicies(
        run.resources.filter((r) => !r.read).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })),
        config,
    );
}
