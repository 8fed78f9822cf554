/** Rules of every container's `resources`. */
import { parseQuantity, QUANTITY_PATTERN } from "../../lib/quantity";
import { ContainerResources, SINGLE_NODE_TARGETS } from "../schema/primitives";
import type { ConfigShape, RuleContext } from "./types";

/** Every container's resources in the config, with their key. */
export function everyContainerResources(config: ConfigShape): [string[], ContainerResources][] {
    const family = (prefix: string[], members: Record<string, ContainerResources>) =>
        Object.entries(members).map(([component, r]): [string[], ContainerResources] => [[...prefix, component], r]);
    return [
        [["linkerd", "proxy", "resources"], config.linkerd.proxy.resources],
        [["linkerd", "cni", "resources"], config.linkerd.cni.resources],
        [["rotationJob", "resources"], config.rotationJob.resources],
        [["viz", "prometheus", "resources"], config.viz.prometheus.resources],
        ...family(["viz", "resources"], config.viz.resources),
        ...family(["certManager", "resources"], config.certManager.resources),
        ...family(["linkerd", "controlPlaneResources"], config.linkerd.controlPlaneResources),
    ];
}

/**
 * A request never exceeds its limit (the API server refuses such a pod), and on a single node every
 * container has an explicit limit: nothing else keeps one container from starving the mesh, or the
 * mesh from starving the platform, on the 16 GiB box.
 */
export function validateResources(config: ConfigShape, ctx: RuleContext): void {
    const singleNode = SINGLE_NODE_TARGETS.includes(config.target);
    for (const [path, resources] of everyContainerResources(config)) {
        for (const kind of ["cpu", "memory"] as const) {
            const { request, limit } = resources[kind];
            const valid = (q: string | undefined) => q === undefined || QUANTITY_PATTERN.test(q);
            if (!valid(request) || !valid(limit)) continue; // already reported as not a quantity
            if (limit === undefined) {
                if (singleNode) {
                    ctx.addIssue({
                        code: "custom",
                        path: [...path, kind, "limit"],
                        message: `is required on the single-node target ${config.target} (every container has explicit limits)`,
                    });
                }
            } else if (parseQuantity(request) > parseQuantity(limit)) {
                ctx.addIssue({
                    code: "custom",
                    path: [...path, kind, "request"],
                    message: `must not exceed its limit (${limit})`,
                });
            }
        }
    }
}
