/** Rules of `multicluster`. */
import type { ConfigShape, RuleContext } from "./types";

/**
 * Links need the mesh and an installed extension, and no platform NetworkPolicies that would cut them;
 * a grant needs what the linking member's kubeconfig
 * and Link are built from (the API server address, in gateway mode the gateway's addresses); a
 * member named twice would register the same objects twice.
 */
export function validateMulticluster(config: ConfigShape, ctx: RuleContext): void {
    const mc = config.multicluster;
    const at = (...path: (string | number)[]) => ["multicluster", ...path];
    if (mc.enabled && !config.mtls.enabled) {
        ctx.addIssue({
            code: "custom",
            path: at("enabled"),
            message: "needs mtls.enabled: the multicluster controllers and gateway are meshed pods",
        });
    }
    if (mc.enabled && config.linkerd.networkPolicies) {
        // A cluster that puts default-deny everywhere would cut the links silently: nothing admits the
        // controllers' and the destination's calls to the linked API servers, nor the gateway's traffic.
        ctx.addIssue({
            code: "custom",
            path: at("enabled"),
            message:
                "not with linkerd.networkPolicies yet: the platform NetworkPolicies admit no traffic to the linked clusters' API servers " +
                "or gateway, so every link would be cut",
        });
    }
    for (const key of ["links", "remoteAccess"] as const) {
        if (mc[key].length > 0 && !mc.enabled) {
            ctx.addIssue({ code: "custom", path: at(key), message: "needs multicluster.enabled: true" });
        }
        mc[key].forEach((member, i) => {
            if (mc[key].indexOf(member) !== i)
                ctx.addIssue({ code: "custom", path: at(key, i), message: `names ${member} twice` });
        });
    }
    if (mc.remoteAccess.length > 0 && mc.apiServerAddress === undefined) {
        ctx.addIssue({
            code: "custom",
            path: at("apiServerAddress"),
            message:
                "is needed when multicluster.remoteAccess names a member: its kubeconfig for this cluster points there",
        });
    }
    if (mc.remoteAccess.length > 0 && mc.mode === "gateway" && (mc.gatewayAddresses ?? []).length === 0) {
        ctx.addIssue({
            code: "custom",
            path: at("gatewayAddresses"),
            message:
                "is needed in gateway mode when multicluster.remoteAccess names a member: its Link reaches this cluster's gateway there",
        });
    }
}
