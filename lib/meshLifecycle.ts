/**
 * Which namespaces are meshed in this `pulumi up`, and how the mesh is taken down
 * without cutting traffic.
 *
 * Turning the mesh (or one namespace) off in one step would delete the control plane
 * while pods still run proxies, and pods restarted without a proxy would be refused by
 * peers that still require mTLS. So `mtls.enabled: false` on a meshed stack drains first,
 * one `pulumi up` per step, each recorded in the `meshState` output:
 *
 *   on ──(strict)──> draining-policy ──> draining-proxies ──> off
 *    └──(permissive)────────────────────┘
 *
 * - draining-policy: every namespace back to permissive, authorization objects removed,
 *   workloads restarted so their proxies accept plaintext;
 * - draining-proxies: injection disabled, workloads restarted without proxies; the control
 *   plane still serves the proxies that remain until their pods restart;
 * - off: nothing in the cluster (the control plane goes; Linkerd's CRDs are retained).
 *
 * A namespace removed from `mtls.namespaces` while the mesh stays on is drained the
 * same way in one step (its peers remain meshed and permissive or explicitly authorized); the run
 * after removes what is left of it. Every record that needs another run says so in `nextRun`,
 * which the deploy workflow follows (.github/workflows/deploy.yml).
 *
 * The ingress controller (`mtls.ingress`) is meshed and drained with the namespaces: it keeps
 * its proxy until the draining-proxies step, and a controller no longer configured is drained
 * in one step like a dropped namespace.
 */
import { KUBERNETES_NAMESPACES } from "./registry";
import type { StackOutputValues } from "./stackOutputs";

export type MeshPhase = "on" | "draining-policy" | "draining-proxies" | "off";
export type MtlsMode = "permissive" | "strict";

/** The ingress controller the mesh injects, as recorded. */
export interface MeshedIngress {
    controller: "k3s-traefik" | "in-namespace";
    namespace: string;
}

/** What a deployment records in its `meshState` output. */
export interface MeshState {
    phase: MeshPhase;
    /** Namespaces whose pods get a proxy. */
    namespaces: string[];
    mode: MtlsMode;
    /** The ingress controller that gets a proxy, if any. */
    ingress?: MeshedIngress;
    /**
     * What another `pulumi up` still has to do, with no config change; absent once the mesh is
     * settled. The deploy workflow runs `pulumi up` again while it is set.
     */
    nextRun?: string;
}

export interface IngressSettings {
    readonly enabled: boolean;
    readonly controller: "k3s-traefik" | "in-namespace";
    readonly namespace?: string;
    readonly mode: "enabled" | "ingress";
}

export interface MeshSettings {
    readonly enabled: boolean;
    readonly namespaces: readonly string[];
    readonly mode: MtlsMode;
    readonly drainOnDisable: boolean;
    readonly ingress: IngressSettings;
}

/** The ingress controller in this run: meshed (inject) or being drained. */
export interface IngressPlan extends MeshedIngress {
    inject: boolean;
    /** `linkerd.io/inject` value while meshed: `enabled`, or `ingress` for Linkerd's ingress mode. */
    injectMode: "enabled" | "ingress";
}

/** Where k3s' Traefik runs. */
export const K3S_TRAEFIK: MeshedIngress = { controller: "k3s-traefik", namespace: KUBERNETES_NAMESPACES.system };

/** The controller the settings ask for, or undefined. */
export function wantedIngress(settings: IngressSettings): MeshedIngress | undefined {
    if (!settings.enabled) return undefined;
    return settings.controller === "k3s-traefik"
        ? K3S_TRAEFIK
        : { controller: "in-namespace", namespace: settings.namespace! };
}

const sameIngress = (a: MeshedIngress | undefined, b: MeshedIngress | undefined) =>
    a?.controller === b?.controller && a?.namespace === b?.namespace;

export interface NamespacePlan {
    name: string;
    /** `linkerd.io/inject: enabled` (true) or `disabled` (false, being drained). */
    inject: boolean;
    mode: MtlsMode;
}

export interface MeshPlan {
    phase: MeshPhase;
    /** Whether anything is deployed to the cluster. */
    deploy: boolean;
    /**
     * Removing a meshed stack at once (`drainOnDisable: false`): only the Kubernetes provider is
     * registered, with `deleteUnreachable`, so this run's deletes also drop the objects of a
     * cluster that is already gone. A provider updated in place deletes with its new config
     * (pulumi engine pkg/resource/deploy/providers/registry.go Update; lifecycletest
     * provider_test.go "The updated provider instance should be used to perform the delete");
     * one that is no longer registered would delete with its old one.
     */
    cleanup: boolean;
    namespaces: NamespacePlan[];
    /** Whether the config's authorization objects exist (strict mode, not draining). */
    authorizations: boolean;
    /** The ingress controller, meshed or being drained; undefined when none is involved. */
    ingress?: IngressPlan;
    /** A message for the operator when the run is one step of several. */
    notice?: string;
    record: MeshState;
}

/** Namespaces whose pods get (or keep) a proxy in this run. */
export const injectedNamespaces = (plan: MeshPlan): string[] =>
    plan.namespaces.filter((n) => n.inject).map((n) => n.name);

/** Namespaces being drained: injection disabled, their workloads restarted without proxies. */
export const drainingNamespaces = (plan: MeshPlan): string[] =>
    plan.namespaces.filter((n) => !n.inject).map((n) => n.name);

/** Injected namespaces whose default inbound policy is strict (all-authenticated). */
export const strictNamespaces = (plan: MeshPlan): string[] =>
    plan.namespaces.filter((n) => n.inject && n.mode === "strict").map((n) => n.name);

/**
 * The namespaces the proxy injector is called for: every namespace the mesh owns, drained ones
 * included (their pods must be created without proxies), plus viz's and the ingress controller's.
 */
export const injectorScope = (plan: MeshPlan, vizNamespace: string | undefined): string[] => [
    ...plan.namespaces.map((n) => n.name),
    ...(vizNamespace ? [vizNamespace] : []),
    ...(plan.ingress ? [plan.ingress.namespace] : []),
];

export function planMesh(settings: MeshSettings, previous: MeshState | undefined): MeshPlan {
    const wanted = [...settings.namespaces];
    const ingress = wantedIngress(settings.ingress);
    const injectMode = settings.ingress.mode;
    if (settings.enabled) {
        const meshedBefore = previous?.phase === "on" || previous?.phase?.startsWith("draining");
        // Namespaces meshed before but no longer listed: drained in this run.
        const dropped = (meshedBefore ? previous!.namespaces : []).filter((n) => !wanted.includes(n));
        // An ingress controller meshed before but no longer configured: drained in this run too.
        const droppedIngress =
            meshedBefore && previous!.ingress && !sameIngress(previous!.ingress, ingress)
                ? previous!.ingress
                : undefined;
        const leaving = [
            ...(dropped.length > 0 ? [`namespaces ${dropped.join(", ")}`] : []),
            ...(droppedIngress ? [`the ingress controller in ${droppedIngress.namespace}`] : []),
        ];
        const nextRun =
            leaving.length > 0 ? `remove what is left of ${leaving.join(" and ")} (drained in this run)` : undefined;
        const notices = [
            ...(dropped.length > 0
                ? [
                      `namespaces ${dropped.join(", ")} leave the mesh: injection disabled and their workloads restarted without proxies`,
                  ]
                : []),
            ...(droppedIngress
                ? [`the ingress controller in ${droppedIngress.namespace} leaves the mesh: restarted without its proxy`]
                : []),
            ...(nextRun
                ? [
                      `another \`pulumi up\` is needed, with no config change, to ${nextRun} (the deploy workflow runs it)`,
                  ]
                : []),
        ];
        return {
            phase: "on",
            deploy: true,
            cleanup: false,
            namespaces: [
                ...wanted.map((name) => ({ name, inject: true, mode: settings.mode })),
                ...dropped.map((name) => ({ name, inject: false, mode: "permissive" as const })),
            ],
            authorizations: settings.mode === "strict",
            // One controller at a time: a newly configured one is meshed, a dropped one drained.
            ingress: ingress
                ? { ...ingress, inject: true, injectMode }
                : droppedIngress
                  ? { ...droppedIngress, inject: false, injectMode }
                  : undefined,
            notice: notices.length > 0 ? notices.join("; ") : undefined,
            record: {
                phase: "on",
                namespaces: wanted,
                mode: settings.mode,
                ...(ingress ? { ingress } : {}),
                ...(nextRun ? { nextRun } : {}),
            },
        };
    }

    const off: MeshPlan = {
        phase: "off",
        deploy: false,
        cleanup: false,
        namespaces: [],
        authorizations: false,
        record: { phase: "off", namespaces: [], mode: settings.mode },
    };
    if (previous === undefined || previous.phase === "off") return off;
    if (!settings.drainOnDisable) {
        return {
            ...off,
            cleanup: true,
            notice:
                "mtls.drainOnDisable is false: the mesh is removed at once; pods keep their proxies until they restart. " +
                "Objects of a cluster that is no longer reachable are dropped from the stack (provider deleteUnreachable).",
        };
    }
    const draining = (phase: "draining-policy" | "draining-proxies", step: string, next: string): MeshPlan => ({
        phase,
        deploy: true,
        cleanup: false,
        namespaces: previous.namespaces.map((name) => ({
            name,
            inject: phase === "draining-policy",
            mode: "permissive",
        })),
        authorizations: false,
        ingress: previous.ingress
            ? { ...previous.ingress, inject: phase === "draining-policy", injectMode }
            : undefined,
        notice: `mTLS disable in progress: ${step}. Run \`pulumi up\` again to continue (docs/admin/mtls.md).`,
        record: {
            phase,
            namespaces: previous.namespaces,
            mode: "permissive",
            ...(previous.ingress ? { ingress: previous.ingress } : {}),
            nextRun: next,
        },
    });
    const removeControlPlane =
        "remove the control plane, viz and every other object of the mesh (the disable's last step)";
    const disableInjection = "disable injection and restart the workloads without proxies";
    switch (previous.phase) {
        case "on":
            return previous.mode === "strict"
                ? draining(
                      "draining-policy",
                      "step 1 of 3, strict policies removed and workloads restarted as permissive",
                      disableInjection,
                  )
                : draining(
                      "draining-proxies",
                      "step 1 of 2, injection disabled and workloads restarted without proxies",
                      removeControlPlane,
                  );
        case "draining-policy":
            return draining(
                "draining-proxies",
                "step 2 of 3, injection disabled and workloads restarted without proxies",
                removeControlPlane,
            );
        case "draining-proxies":
            return {
                ...off,
                notice: "mTLS disable: last step, the control plane is removed (Linkerd's CRDs are retained)",
            };
    }
}

/** What the last deployment says about the mesh, as read from its outputs. */
export interface PreviousMesh {
    /** The record, or undefined for a stack whose mesh was never deployed. */
    state: MeshState | undefined;
    /** Set when the record could not be read although the stack was meshed: why, for the operator. */
    assumed?: string;
}

/**
 * Reads the mesh record from a previous deployment's outputs, failing closed: when the record is
 * missing or malformed although other outputs say the mesh was deployed (`mtlsEnabled` true, a
 * Linkerd chart version), it assumes the mesh is on, in strict mode, over the configured
 * namespaces. A disable then drains through every step instead of deleting the control plane
 * under running proxies.
 */
export function readPreviousMesh(
    outputs: StackOutputValues,
    configured: Pick<MeshSettings, "namespaces" | "ingress">,
): PreviousMesh {
    const value = outputs.meshState;
    const meshed = outputs.mtlsEnabled === true || typeof outputs.linkerdChartVersion === "string";
    const ingress = wantedIngress(configured.ingress);
    const assume = (why: string): PreviousMesh => ({
        state: { phase: "on", namespaces: [...configured.namespaces], mode: "strict", ...(ingress ? { ingress } : {}) },
        assumed: `${why}; the stack was meshed, so this run assumes the mesh is on in strict mode over mtls.namespaces and mtls.ingress (a disable drains every step).`,
    });
    if (value === undefined || value === null)
        return meshed ? assume("the last deployment recorded no meshState") : { state: undefined };
    if (meshStateProblem(value) !== undefined)
        return assume(`the last deployment's meshState is unreadable (${JSON.stringify(value)})`);
    return { state: value as MeshState };
}

/** What is wrong with a recorded meshState, or undefined when it is one. */
export function meshStateProblem(value: unknown): string | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return "expected an object";
    const state = value as Partial<MeshState>;
    if (!["on", "draining-policy", "draining-proxies", "off"].includes(state.phase as string))
        return "phase: expected on, draining-policy, draining-proxies or off";
    if (!Array.isArray(state.namespaces) || !state.namespaces.every((n) => typeof n === "string"))
        return "namespaces: expected a list of names";
    if (!["permissive", "strict"].includes(state.mode as string)) return "mode: expected permissive or strict";
    if (
        state.ingress !== undefined &&
        !(
            ["k3s-traefik", "in-namespace"].includes(state.ingress?.controller) &&
            typeof state.ingress?.namespace === "string"
        )
    ) {
        return "ingress: expected {controller, namespace}";
    }
    if (state.nextRun !== undefined && typeof state.nextRun !== "string") return "nextRun: expected text";
    return undefined;
}
