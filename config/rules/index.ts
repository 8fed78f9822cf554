/**
 * Every cross-key rule of the config, in the order they report. Each is a named function of the
 * parsed config with its reason in its TSDoc, tested on its own next to it (`<section>.test.ts`);
 * `configSchema` (config/contract.ts) calls them all from one `superRefine`.
 */
import { validateGkePrivate } from "./cluster";
import { validateCertManagerNamespace } from "./certManager";
import {
    validateEgressBypass,
    validateEgressHosts,
    validateEgressNetworks,
    validateEgressPorts,
    validateEgressTlsRoutes,
} from "./egress";
import {
    validateAnchorExpiryThresholds,
    validateIntermediateLifetimes,
    validateIssuerLifetimes,
    validatePhaseFloor,
} from "./identity";
import { validateControllerReplicas, validateSingleNode, validateWebhookFailurePolicy } from "./linkerd";
import {
    validateAuthorizations,
    validateIngress,
    validateNamespaceOptions,
    validateNamespaces,
    validateNetworkPosture,
    validateTraefikValues,
} from "./mtls";
import { validateMulticluster } from "./multicluster";
import { validateAlertRulesHome, validateGrafanaDashboardsNamespace } from "./observability";
import { everyContainerResources, validateResources } from "./resources";
import { validateIssuerAlertThreshold, validateRotationDeadline } from "./rotationJob";
import type { ConfigRule, ConfigShape, RuleContext } from "./types";
import { validateDashboardIngress, validatePrometheusAccess, validatePrometheusMode } from "./viz";

export type { ConfigRule, ConfigShape, RuleContext, RuleIssue } from "./types";
export {
    everyContainerResources,
    validateAlertRulesHome,
    validateAnchorExpiryThresholds,
    validateAuthorizations,
    validateCertManagerNamespace,
    validateControllerReplicas,
    validateDashboardIngress,
    validateEgressBypass,
    validateEgressHosts,
    validateEgressNetworks,
    validateEgressPorts,
    validateEgressTlsRoutes,
    validateGkePrivate,
    validateGrafanaDashboardsNamespace,
    validateIngress,
    validateIntermediateLifetimes,
    validateMulticluster,
    validateIssuerAlertThreshold,
    validateIssuerLifetimes,
    validateNamespaceOptions,
    validateNamespaces,
    validateNetworkPosture,
    validatePhaseFloor,
    validatePrometheusAccess,
    validatePrometheusMode,
    validateResources,
    validateRotationDeadline,
    validateSingleNode,
    validateTraefikValues,
    validateWebhookFailurePolicy,
};

export const CONFIG_RULES: readonly ConfigRule[] = [
    validateIssuerLifetimes,
    validateIntermediateLifetimes,
    validateAnchorExpiryThresholds,
    validatePhaseFloor,
    validateIssuerAlertThreshold,
    validatePrometheusMode,
    validateAlertRulesHome,
    validateGrafanaDashboardsNamespace,
    validateDashboardIngress,
    validateGkePrivate,
    validateNamespaceOptions,
    validateIngress,
    validateTraefikValues,
    validateAuthorizations,
    validateNetworkPosture,
    validateEgressHosts,
    validateEgressNetworks,
    validateEgressTlsRoutes,
    validateEgressPorts,
    validateEgressBypass,
    validateNamespaces,
    validateCertManagerNamespace,
    validateSingleNode,
    validateWebhookFailurePolicy,
    validateControllerReplicas,
    validateRotationDeadline,
    validatePrometheusAccess,
    validateResources,
    validateMulticluster,
];

/** Runs every rule. */
export function validateConfig(config: ConfigShape, ctx: RuleContext): void {
    for (const rule of CONFIG_RULES) rule(config, ctx);
}
