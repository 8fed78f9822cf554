import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GATEWAY_API, GATEWAY_API_TLSROUTE, rawUrl } from "../lib/registry";
import { retainCustomResourceDefinitions } from "./transforms";

export interface GatewayApiCrdsArgs {
    /**
     * `present`: read the CRDs Linkerd watches and fail (before anything else is changed) if one is
     * missing; `install`: install the pinned upstream standard-channel CRDs.
     */
    mode: "present" | "install";
    /**
     * `install` only: also the experimental TLSRoute CRD (v1alpha2 served, the only version Linkerd
     * edge-26.8.3 watches), for egress control by SNI (lib/registry.ts GATEWAY_API_TLSROUTE).
     * @default false
     */
    tlsRoutes?: boolean;
}

/**
 * The Gateway API CRDs Linkerd's policy controller watches (HTTPRoute, GRPCRoute).
 *
 * linkerd-crds no longer installs them (`installGatewayAPI: false`, linkerd2 #14523), and k3s, k3d
 * and GKE >= 1.34 ship their own: creating them there fails with AlreadyExists (pulumi-kubernetes
 * >= 4.29 creates, it does not upsert) or fights the owner's field manager.
 *
 * - `present` reads them: a missing one fails `pulumi preview` itself with
 *   "resource 'httproutes.gateway.networking.k8s.io' does not exist" (a read runs during preview:
 *   pulumi engine pkg/resource/deploy/step.go ReadStep), and a bundle version outside what
 *   Linkerd supports is a warning.
 * - `install` applies kubernetes-sigs/gateway-api's standard CRDs at a pinned commit (a raw URL at
 *   a commit is immutable; the tests check the content's SHA-256). The provider creates them with
 *   `upsertExistingObjects` (server-side apply without force): CRDs another owner installed with
 *   other values make `pulumi up` fail with a field conflict instead of being overwritten
 *   (pulumi-kubernetes provider/pkg/await/await.go `Creation`, `patchForce`); equal values are
 *   shared. They are retained when Pulumi deletes them: deleting a CRD deletes every route.
 */
export class GatewayApiCrds extends pulumi.ComponentResource {
    /** What the control plane waits for. */
    public readonly ready: pulumi.Resource[];
    /** The bundle version found (present) or installed (install). */
    public readonly bundleVersion: pulumi.Output<string>;

    constructor(name: string, args: GatewayApiCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:GatewayApiCrds", name, { mode: args.mode }, opts);

        if (args.mode === "present") {
            const crds = GATEWAY_API.required.map((crd) =>
                k8s.apiextensions.v1.CustomResourceDefinition.get(`${name}-${crd.split(".")[0]}`, crd, {
                    parent: this,
                }),
            );
            this.bundleVersion = crds[0].metadata.annotations.apply((annotations) => {
                const version = annotations?.["gateway.networking.k8s.io/bundle-version"] ?? "unknown";
                const problem = gatewayApiVersionProblem(version);
                if (problem) pulumi.log.warn(problem, this);
                return version;
            });
            this.ready = crds;
        } else {
            const crds = new k8s.yaml.v2.ConfigGroup(
                `${name}-standard`,
                { files: GATEWAY_API.files.map(rawUrl) },
                { parent: this, transforms: [retainCustomResourceDefinitions] },
            );
            this.bundleVersion = pulumi.output(GATEWAY_API.bundleVersion);
            this.ready = [crds];
            if (args.tlsRoutes) {
                // Its own group: the standard CRDs' inputs stay as they were.
                this.ready.push(
                    new k8s.yaml.v2.ConfigGroup(
                        `${name}-tlsroutes`,
                        { files: [rawUrl(GATEWAY_API_TLSROUTE)] },
                        { parent: this, transforms: [retainCustomResourceDefinitions] },
                    ),
                );
            }
        }
        this.registerOutputs({ bundleVersion: this.bundleVersion });
    }
}

/** A warning when a cluster's Gateway API bundle is outside the range Linkerd supports; undefined when fine. */
export function gatewayApiVersionProblem(version: string): string | undefined {
    const parse = (v: string) => /^v?(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1).map(Number);
    const [found, min, max] = [parse(version), parse(GATEWAY_API.supported.min), parse(GATEWAY_API.supported.max)];
    const compare = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    if (found && min && max && compare(found, min) >= 0 && compare(found, max) <= 0) return undefined;
    return (
        `The cluster's Gateway API CRDs are bundle version ${version}; Linkerd's docs list ${GATEWAY_API.supported.min} to ` +
        `${GATEWAY_API.supported.max} as supported (features/gateway-api.md). Linkerd keeps working as long as the routes it ` +
        `reads use only fields of ${GATEWAY_API.bundleVersion}: run \`linkerd check\` after every Gateway API upgrade.`
    );
}
