/**
 * What the mesh deploys, decided from the config and this run's plans (pure: components/mtlsMesh.ts
 * only turns it into resources).
 */
import type { MtlsMode } from "./meshLifecycle";

/**
 * Linkerd's default inbound policy of a meshed namespace in each mode (values of
 * `proxy.defaultInboundPolicy`, linkerd2 edge-26.8.3 charts/linkerd-control-plane/values.yaml):
 * permissive accepts plaintext (the chart's default, which the control plane keeps), strict only
 * meshed, authenticated callers. The one place a mode becomes a policy: the namespaces' annotation,
 * the ingress controller's, and what the maintenance Jobs expect to find.
 */
export const INBOUND_POLICY = { permissive: "all-unauthenticated", strict: "all-authenticated" } as const satisfies Record<MtlsMode, string>;

/** The default inbound policy of a namespace meshed in `mode`. */
export const inboundPolicy = (mode: MtlsMode): (typeof INBOUND_POLICY)[MtlsMode] => INBOUND_POLICY[mode];
