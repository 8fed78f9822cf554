/**
 * When is a `pulumi up`'s work on the cluster done? When every resource it registered has
 * completed its step: records that certify what a run achieved (`meshState`,
 * `trustAnchorRotation`) must resolve no earlier.
 *
 * Why every resource, and why the engine cares (pulumi v3.259.0; the SDK 3.270 behaves alike):
 * - The Node SDK registers the stack's outputs in one call once each of them has resolved
 *   (sdk/nodejs/runtime/stack.ts `Stack.initialize` awaits every output, then `registerOutputs`).
 * - The engine keeps that event and finalizes it at the end of the deployment, after the deletes;
 *   if anything failed, the outputs registered win over the old ones and the others keep their old
 *   values (pkg/resource/deploy/step_executor.go `executeRegisterResourceOutputs`,
 *   `finalizingStackOutputs && errored`: `maps.Copy(outs, e.Outputs())`; deployment_executor.go
 *   `Execute`). So an output that resolved before a sibling failed is saved anyway: a record that
 *   waits for one Job only advances even when the CronJob, the admission policy binding or the viz
 *   chart registered after it fails.
 * - A resource's URN resolves when its RegisterResource call returns, i.e. once the engine has
 *   completed its step, waits for readiness included (pkg/resource/deploy/source_eval.go
 *   `RegisterResource`); a failed step rejects it, or leaves it pending when the engine shuts the
 *   monitor down (sdk/nodejs/runtime/resource.ts `resolveURN` skips gRPC errors): either way what
 *   waits for it never resolves. A remote component (helm.v4.Chart, yaml.v2.ConfigGroup) returns
 *   from Construct only once every child it registered has (sdk/go/pulumi/provider.go `construct`:
 *   "Wait for async work to finish").
 *
 * The resources are collected as they are constructed, not listed by hand: a `transformations`
 * entry on a component is inherited by every descendant (sdk/nodejs/resource.ts: a resource runs
 * its own transformations and its parent's `__transformations`), and it receives the resource
 * object itself (`ResourceTransformationArgs.resource`). Only resources constructed in this process
 * are seen; a chart's children are covered by the chart's own URN.
 */
import * as pulumi from "@pulumi/pulumi";

export class RunCompletion {
    private readonly resources: pulumi.Resource[] = [];
    private owner: pulumi.Resource | undefined;

    /** For the component's `transformations` option: records each descendant, changes nothing. */
    readonly collect: pulumi.ResourceTransformation = (args) => {
        if (args.resource !== this.owner) this.resources.push(args.resource);
        return undefined;
    };

    /** The component itself (its own transformations see it too), left out of what it waits for. */
    ownedBy(owner: pulumi.Resource): void {
        this.owner = owner;
        const index = this.resources.indexOf(owner);
        if (index >= 0) this.resources.splice(index, 1);
    }

    /** How many resources have been collected so far. */
    get count(): number {
        return this.resources.length;
    }

    /**
     * Resolves once every resource collected so far, and any collected while waiting for them (made
     * in a callback), has completed its registration; never when one of them fails. Its value says
     * how many.
     */
    completed(): pulumi.Output<string> {
        const from = (seen: number): pulumi.Output<string> => {
            const batch = this.resources.slice(seen);
            const total = this.resources.length;
            // URNs are known in a preview too, so this never waits on an unknown value.
            return pulumi
                .all(batch.map((r) => r.urn))
                .apply((): pulumi.Output<string> =>
                    this.resources.length > total ? from(total) : pulumi.output(`${total} resources registered`),
                );
        };
        return from(0);
    }
}
