/**
 * akko-mtls: mutual TLS between every AKKO pod, with Linkerd.
 *
 * Reads the stack config once (a bad config throws before anything is registered),
 * checks the requested trust-anchor rotation step against the last deployment, builds
 * the mesh as one component, and exports its outputs. Private keys are never exported.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { MtlsMesh } from "./components/mtlsMesh";
import { parseMeshState, planMesh } from "./lib/meshLifecycle";
import { parseRotationRecord, planRotation } from "./lib/rotation";

export = async () => {
    const config = loadConfig();

    // The stack's own last outputs say which rotation phase is deployed and which
    // namespaces are meshed (nothing on a new stack): steps are checked against them.
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const rotation = planRotation(
        config.identity.trustAnchor,
        parseRotationRecord((await self.getOutputDetails("trustAnchorRotation")).value),
        new Date(),
    );
    const meshPlan = planMesh(config.mtls, parseMeshState((await self.getOutputDetails("meshState")).value));

    const mesh = new MtlsMesh("akko", { config, rotation, mesh: meshPlan });

    const optional = (outputs: Record<string, pulumi.Output<string> | undefined>) =>
        Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
    return {
        target: config.target,
        mtlsEnabled: config.mtls.enabled,
        meshState: meshPlan.record,
        identityIssuerMode: config.identity.issuer.mode,
        trustAnchorPem: mesh.trustAnchorPem,
        trustAnchorFingerprintSha256: mesh.trustAnchorFingerprintSha256,
        trustAnchorNotAfter: mesh.trustAnchorNotAfter,
        trustBundlePem: mesh.trustBundlePem,
        trustAnchorRotation: rotation.record,
        // Only where they apply: an undefined output would only produce a warning.
        ...optional({
            identityIssuerNotAfter: mesh.identityIssuerNotAfter,
            linkerdChartVersion: mesh.linkerdChartVersion,
            certManagerChartVersion: mesh.certManagerChartVersion,
            rotationJobSchedule: mesh.rotationJobSchedule,
            vizDashboard: mesh.vizDashboard,
        }),
    };
};
