/**
 * Config changes that are fine on paper but would cut traffic when applied to a running mesh
 * in one `pulumi up`. Each is checked against what the last deployment recorded, and refused
 * with the safe path named, before anything is registered. Pure: the program and the tests
 * call it with the previous outputs.
 */
import type { MeshState } from "./meshLifecycle";
import { CHARTS } from "./registry";
import type { StackOutputValues } from "./stackOutputs";

/** What the last deployment's outputs say, as far as transitions are concerned. */
export interface PreviousDeployment {
    /** The mesh record (undefined: never deployed). */
    mesh: MeshState | undefined;
    /** `identityIssuerMode` output. */
    issuerMode: string | undefined;
    /** Whether that deployment installed cert-manager itself (it exported its chart version). */
    certManagerInstalled: boolean;
}

/** The settings transitions are checked against. */
export interface TransitionSettings {
    readonly mtls: { readonly enabled: boolean };
    readonly identity: { readonly issuer: { readonly mode: "static" | "certManager" } };
    /** `namespace`: where this stack installs cert-manager (the stack's `certManager.namespace`). */
    readonly certManager: { readonly install: boolean; readonly namespace: string };
}

export interface Refusal {
    /** The config key whose change is refused, e.g. `akko-mtls:identity.issuer.mode`. */
    key: string;
    message: string;
}

export function readPreviousDeployment(outputs: StackOutputValues, mesh: MeshState | undefined): PreviousDeployment {
    return {
        mesh,
        issuerMode: typeof outputs.identityIssuerMode === "string" ? outputs.identityIssuerMode : undefined,
        certManagerInstalled: typeof outputs.certManagerChartVersion === "string",
    };
}

const deployed = (previous: PreviousDeployment) => previous.mesh !== undefined && previous.mesh.phase !== "off";

/**
 * Switching the issuer's back end on a running mesh. Both back ends write Secret
 * `linkerd-identity-issuer` and the `<webhook>-k8s-tls` Secrets; in one update Pulumi would create
 * the new owner's objects and then delete the old owner's, i.e. delete the Secrets the new back end
 * has just written (static -> certManager), or fail on a server-side apply conflict with
 * cert-manager's fields (certManager -> static). The identity controller and the webhooks would be
 * left without their certificates.
 */
export function validateIssuerModeTransition(
    settings: TransitionSettings,
    previous: PreviousDeployment,
): Refusal | undefined {
    const wanted = settings.identity.issuer.mode;
    if (!deployed(previous) || previous.issuerMode === undefined || previous.issuerMode === wanted) return undefined;
    return {
        key: "akko-mtls:identity.issuer.mode",
        message:
            `cannot change from ${previous.issuerMode} to ${wanted} while the mesh is deployed (meshState ${previous.mesh!.phase}): ` +
            `both write the issuer and webhook Secrets, and one update would delete the new ones. Safe path: keep ` +
            `identity.issuer.mode ${previous.issuerMode}, set mtls.enabled false and run \`pulumi up\` until meshState is off ` +
            `(docs/admin/mtls.md, Disabling), then set identity.issuer.mode ${wanted} and mtls.enabled true.`,
    };
}

/** Every refused transition; empty when the change is safe. */
export function refusedTransitions(settings: TransitionSettings, previous: PreviousDeployment): Refusal[] {
    return [validateIssuerModeTransition(settings, previous)].filter((r): r is Refusal => r !== undefined);
}

/**
 * What an operator must know about a transition that is carried out. cert-manager installed by
 * this stack is retained on delete (components/certManager.ts): `install: true -> false` and the
 * last step of a disable leave it running for the Certificates that still need it.
 */
export function transitionNotices(
    settings: TransitionSettings,
    previous: PreviousDeployment,
    removesEverything: boolean,
): string[] {
    const notices: string[] = [];
    if (
        previous.certManagerInstalled &&
        (removesEverything || (settings.mtls.enabled && !settings.certManager.install))
    ) {
        notices.push(
            "cert-manager, installed by this stack, stays in the cluster: Pulumi forgets it but does not delete it, because " +
                "other Certificates may rely on it. Remove it by hand only if nothing does: " +
                `\`kubectl delete namespace ${settings.certManager.namespace}\` (its CRDs stay until ` +
                `\`kubectl delete crd -l app.kubernetes.io/instance=${CHARTS.certManager.chart}\`, the Helm release being named after the chart).`,
        );
    }
    return notices;
}
