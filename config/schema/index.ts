/**
 * The stack configuration contract, as one zod schema.
 *
 * Every key of the `akko-mtls:` namespace is described here, one file per top-level key, each leaf
 * with its description at runtime (`.describe()`, read by `configReference()`); objects are strict,
 * so a typo such as `mtls.enable` is an error rather than a silently ignored key. Defaults do not
 * live here: they are the presets in `presets.ts`, merged under the stack file before this schema
 * validates the result. The cross-key rules are named functions in `config/rules/`.
 */
import { z } from "zod";
import { validateConfig } from "../rules";
import { certManagerConfig } from "./certManager";
import { clusterConfig } from "./cluster";
import { identityConfig } from "./identity";
import { linkerdConfig } from "./linkerd";
import { mtlsConfig } from "./mtls";
import { observabilityConfig } from "./observability";
import { TARGETS } from "./primitives";
import { rotationJobConfig } from "./rotationJob";
import { vizConfig } from "./viz";

export {
    annotations,
    containerResources,
    hours,
    identityPattern,
    labelKey,
    labels,
    labelValue,
    labelValueProblem,
    MAX_VALIDITY_HOURS,
    namespaceName,
    objectName,
    qualifiedNameProblem,
    RESERVED_NAMESPACES,
    SINGLE_NODE_TARGETS,
    TARGETS,
} from "./primitives";
export type { Callers, ContainerResources, Target } from "./primitives";
export { namespaceOptions } from "./mtls";
export type { NamespaceOptions } from "./mtls";
export { validatePrometheusAccess } from "../rules";
export { certManagerConfig, clusterConfig, identityConfig, linkerdConfig, mtlsConfig, observabilityConfig, rotationJobConfig, vizConfig };

/** The shape of the namespace, without the cross-key rules. */
export const configObject = z.strictObject({
    target: z.enum(TARGETS).describe("Which infrastructure the stack runs on; selects the preset."),
    cluster: clusterConfig,
    mtls: mtlsConfig,
    linkerd: linkerdConfig,
    identity: identityConfig,
    certManager: certManagerConfig,
    viz: vizConfig,
    observability: observabilityConfig,
    rotationJob: rotationJobConfig,
});

/** The derived default of `rotationJob.issuerMinHoursLeft`. */
export function defaultIssuerMinHoursLeft(config: z.output<typeof configObject>): number {
    // Alert an hour after the issuer's renewal should have happened (cert-manager), or at
    // `linkerd check`'s 60 days (static).
    const issuer = config.identity.issuer;
    const renewBefore = issuer.mode === "static" ? issuer.static.renewBeforeHours : issuer.certManager.renewBeforeHours;
    return Math.min(renewBefore - 1, 1440);
}

/** The whole contract: the shape, every cross-key rule (config/rules), and the derived defaults. */
export const configSchema = configObject.superRefine(validateConfig).transform((config) => {
    const issuerMinHoursLeft = config.rotationJob.issuerMinHoursLeft ?? defaultIssuerMinHoursLeft(config);
    return { ...config, rotationJob: { ...config.rotationJob, issuerMinHoursLeft } };
});

export type MeshConfigInput = z.input<typeof configSchema>;
export type MeshConfig = z.output<typeof configSchema>;
