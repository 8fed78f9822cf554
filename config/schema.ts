/**
 * The stack configuration contract, as one zod schema.
 *
 * Every key of the `akko-mtls:` namespace is described here; objects are strict,
 * so a typo such as `mtls.enable` is an error rather than a silently ignored key.
 * Defaults do not live here: they are the presets in `presets.ts`, merged under
 * the stack file before this schema validates the result.
 */
import { z } from "zod";
import { parseQuantity, QUANTITY_PATTERN } from "../lib/quantity";

export const TARGETS = ["k3d", "k3s", "eks", "gke"] as const;
export type Target = (typeof TARGETS)[number];

/** Targets that are one node: no HA, explicit limits everywhere. */
export const SINGLE_NODE_TARGETS: readonly Target[] = ["k3d", "k3s"];

/** Helm chart versions must be exact: a range would let `pulumi up` pick a new chart on its own. */
const exactChartVersion = z
    .string()
    .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, { message: "an exact chart version such as 2026.8.3 (no range, no 'latest', no 'v')" });

const quantity = z.string().regex(QUANTITY_PATTERN, { message: "a Kubernetes quantity such as 100m, 20Mi or 1Gi" });

const requestAndLimit = z.strictObject({
    request: quantity,
    /** Unset means no limit (Linkerd's HA values leave the CPU limit empty). */
    limit: quantity.optional(),
});

/** Linkerd's own resource shape (charts/linkerd-control-plane/values.yaml `proxy.resources`). */
export const containerResources = z.strictObject({
    cpu: requestAndLimit,
    memory: requestAndLimit,
});
export type ContainerResources = z.output<typeof containerResources>;

const hours = z.int().positive();

export const configSchema = z
    .strictObject({
        /** Which infrastructure the stack runs on; selects the preset. */
        target: z.enum(TARGETS),
        cluster: z.strictObject({
            /** kubeconfig context of the existing cluster this stack deploys to. */
            context: z.string().min(1),
            /** Path of the kubeconfig file; unset means the default (~/.kube/config or $KUBECONFIG). */
            kubeconfig: z.string().min(1).optional(),
        }),
        mtls: z.strictObject({
            /** THE switch: false creates no Kubernetes object at all. */
            enabled: z.boolean(),
        }),
        linkerd: z.strictObject({
            chartVersion: exactChartVersion,
            repository: z.url({ protocol: /^https$/ }),
            /**
             * Gateway API CRDs are a prerequisite of Linkerd. `install`: the linkerd-crds chart
             * installs the Gateway API CRDs it vendors; `present`: the cluster already has them
             * (the program reads them and stops if they are missing).
             */
            gatewayApi: z.enum(["install", "present"]),
            highAvailability: z.boolean(),
            controllerReplicas: z.int().min(1).max(7),
            webhookFailurePolicy: z.enum(["Ignore", "Fail"]),
            proxyInit: z.strictObject({
                iptablesMode: z.enum(["nft", "legacy"]),
            }),
            proxy: z.strictObject({
                resources: containerResources,
            }),
            /** Requests and limits of every control-plane container. */
            controlPlaneResources: z.strictObject({
                destination: containerResources,
                spValidator: containerResources,
                policyController: containerResources,
                identity: containerResources,
                proxyInjector: containerResources,
                heartbeat: containerResources,
            }),
        }),
        identity: z.strictObject({
            trustDomain: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
                message: "a DNS domain such as cluster.local",
            }),
            trustAnchor: z.strictObject({
                validityHours: hours.min(24 * 30),
                /** `pulumi up` warns when fewer days than this are left (linkerd check warns at 60). */
                expiryWarningDays: z.int().min(1),
            }),
            issuer: z.strictObject({
                mode: z.enum(["static"]),
                validityHours: hours.min(24),
                /** Early renewal: `pulumi up` re-issues the issuer when fewer hours than this are left. */
                renewBeforeHours: hours,
            }),
        }),
    })
    .superRefine((config, ctx) => {
        const { issuer, trustAnchor } = config.identity;
        if (issuer.validityHours >= trustAnchor.validityHours) {
            ctx.addIssue({
                code: "custom",
                path: ["identity", "issuer", "validityHours"],
                message: `must be shorter than identity.trustAnchor.validityHours (${trustAnchor.validityHours})`,
            });
        }
        if (issuer.renewBeforeHours >= issuer.validityHours) {
            ctx.addIssue({
                code: "custom",
                path: ["identity", "issuer", "renewBeforeHours"],
                message: `must be shorter than identity.issuer.validityHours (${issuer.validityHours})`,
            });
        }

        const linkerd = config.linkerd;
        const singleNode = SINGLE_NODE_TARGETS.includes(config.target);
        if (singleNode && linkerd.highAvailability) {
            ctx.addIssue({
                code: "custom",
                path: ["linkerd", "highAvailability"],
                message: `must be false on the single-node target ${config.target} (HA anti-affinity needs 3 nodes)`,
            });
        }
        if (linkerd.highAvailability && linkerd.controllerReplicas < 3) {
            ctx.addIssue({
                code: "custom",
                path: ["linkerd", "controllerReplicas"],
                message: "must be at least 3 when linkerd.highAvailability is true",
            });
        }

        const everyResources: [string[], ContainerResources][] = [
            [["linkerd", "proxy", "resources"], linkerd.proxy.resources],
            ...Object.entries(linkerd.controlPlaneResources).map(
                ([component, r]): [string[], ContainerResources] => [["linkerd", "controlPlaneResources", component], r],
            ),
        ];
        for (const [path, resources] of everyResources) {
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
    });

export type MeshConfigInput = z.input<typeof configSchema>;
export type MeshConfig = z.output<typeof configSchema>;

/** The top-level keys of the `akko-mtls:` config namespace. */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof MeshConfig)[];
