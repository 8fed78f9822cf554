/**
 * akko-mtls: mutual TLS between every AKKO pod, with Linkerd.
 *
 * Reads the stack config once (a bad config throws before anything is registered),
 * builds the mesh as one component, and exports its outputs. Private keys are never
 * exported.
 */
import { loadConfig } from "./config";
import { MtlsMesh } from "./components/mtlsMesh";

export = async () => {
    const config = loadConfig();
    const mesh = new MtlsMesh("akko", { config });

    return {
        target: config.target,
        mtlsEnabled: mesh.enabled,
        trustAnchorPem: mesh.trustAnchorPem,
        trustAnchorFingerprintSha256: mesh.trustAnchorFingerprintSha256,
        trustAnchorNotAfter: mesh.trustAnchorNotAfter,
        // Only while enabled: an undefined output would only produce a warning.
        ...(mesh.identityIssuerNotAfter && { identityIssuerNotAfter: mesh.identityIssuerNotAfter }),
        ...(mesh.linkerdChartVersion && { linkerdChartVersion: mesh.linkerdChartVersion }),
    };
};
