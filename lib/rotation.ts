/**
 * Zero-downtime trust-anchor rotation, as a state machine over stack config.
 *
 * Generation g is the anchor in use. Rotating to g+1 takes three `pulumi up`s, then a
 * fourth that only tidies state:
 *
 *   phase 0  steady        bundle [g]        issuer signed by g
 *   phase 1  trust both    bundle [g, g+1]   issuer signed by g     (new anchor created)
 *   phase 2  issue new     bundle [g, g+1]   issuer signed by g+1
 *   phase 3  drop old      bundle [g+1]      issuer signed by g+1   (old anchor unprotected)
 *   finish   generation g+1, phase 0         (old anchor leaves Pulumi state)
 *
 * At every phase the issuer chains to an anchor in the bundle. Time is not the evidence; the
 * cluster is (components/meshMaintenance.ts, cluster/mesh-check.mjs), gathered in the `pulumi up`
 * that makes the change, whose record only settles when it is there:
 * - phase 1 and 3: the rollout Job restarts every workload with the new bundle and proves every
 *   meshed pod's proxy trusts it, whatever owns the pod (a stale Job pod blocks the step);
 * - phase 2: the rollout Job waits until the live issuer chains to g+1, then restarts the identity
 *   controller (it refuses to start with an issuer that does not chain: Ready is the evidence);
 * - phase 3: before the bundle drops g, a gate Job proves the live issuer is still signed by g+1.
 * Phases 1 and 2 must also last the phase floor, derived from the proxies' certificate lifetime
 * (lib/issuanceLifetime.ts: 25 h 40 s for Linkerd's 24 h) or configured above it: in phase 2 every
 * certificate the old issuer signed must have expired before g leaves the bundle. Where the stack is
 * comes from its last deployment's `trustAnchorRotation` output, so a skipped phase is refused
 * before anything is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { formatDuration, type PhaseFloor } from "./issuanceLifetime";

/** What a deployment records in its `trustAnchorRotation` output. */
export interface RotationRecord {
    generation: number;
    phase: 0 | 1 | 2 | 3;
    /** When this (generation, phase) was first deployed, RFC 3339. */
    since: string;
}

/** One anchor the program keeps in this phase. */
export interface PlannedAnchor {
    generation: number;
    /** Proxies trust it (it is in identityTrustAnchorsPEM). */
    inBundle: boolean;
    /** It signs the identity issuer. */
    signsIssuer: boolean;
    /** Phase 3 lifts the protection so that finishing can delete it from state. */
    allowDeletion: boolean;
    /** Where it is kept: this stack's state (the default), or a fleet's trust stack (lib/fleet.ts). */
    source?: "own" | "fleet";
}

export interface RotationPlan {
    anchors: PlannedAnchor[];
    record: RotationRecord;
}

export interface TrustAnchorSettings {
    readonly generation: number;
    readonly rotationPhase: 0 | 1 | 2 | 3;
    /** How long phases 1 and 2 last at least, and the key that sets it (lib/issuanceLifetime.ts `phaseFloor`). */
    readonly phaseFloor: PhaseFloor;
}

export const PHASE_KEY = "akko-mtls:identity.trustAnchor.rotationPhase";

/**
 * A refused rotation step: names the key and says what comes next. A `pulumi.RunError`, which
 * `pulumi up` prints as its message alone (no stack: @pulumi/pulumi cmd/run/run.js).
 */
export class RotationError extends pulumi.RunError {
    constructor(
        readonly key: string,
        message: string,
    ) {
        super(`${key}: ${message}`);
        this.name = "RotationError";
    }
}

/** What each phase does, as the messages name it (one level of parentheses at most: they are read in a terminal). */
const PHASE_TITLES = ["steady", "trust both anchors", "issue from the new anchor", "drop the old anchor"];

/** The anchors to keep for a (generation, phase), and the record to export. */
export function anchorsFor(generation: number, phase: 0 | 1 | 2 | 3): PlannedAnchor[] {
    const old = { generation, allowDeletion: false };
    const next = { generation: generation + 1, allowDeletion: false };
    switch (phase) {
        case 0:
            return [{ ...old, inBundle: true, signsIssuer: true }];
        case 1:
            return [
                { ...old, inBundle: true, signsIssuer: true },
                { ...next, inBundle: true, signsIssuer: false },
            ];
        case 2:
            return [
                { ...old, inBundle: true, signsIssuer: false },
                { ...next, inBundle: true, signsIssuer: true },
            ];
        case 3:
            return [
                { ...old, inBundle: false, signsIssuer: false, allowDeletion: true },
                { ...next, inBundle: true, signsIssuer: true },
            ];
    }
}

/** The step after a state, as the config that asks for it. */
function nextStep(state: { generation: number; phase: number }): {
    generation: number;
    phase: 0 | 1 | 2 | 3;
    says: string;
} {
    if (state.phase === 3) {
        return {
            generation: state.generation + 1,
            phase: 0,
            says: `finish: set identity.trustAnchor.generation=${state.generation + 1} and rotationPhase=0`,
        };
    }
    const phase = (state.phase + 1) as 1 | 2 | 3;
    return { generation: state.generation, phase, says: `set rotationPhase=${phase} to ${PHASE_TITLES[phase]}` };
}

function describe(state: { generation: number; phase: number }): string {
    return state.phase === 0
        ? `generation ${state.generation}, steady`
        : `generation ${state.generation}, phase ${state.phase} (${PHASE_TITLES[state.phase]})`;
}

/**
 * Checks the requested step against the last deployment and plans the anchors.
 * `previous` is undefined for a stack that was never deployed.
 */
export function planRotation(
    settings: TrustAnchorSettings,
    previous: RotationRecord | undefined,
    now: Date,
): RotationPlan {
    const wanted = { generation: settings.generation, phase: settings.rotationPhase };
    const plan = (since: string): RotationPlan => ({
        anchors: anchorsFor(wanted.generation, wanted.phase),
        record: { ...wanted, since },
    });

    if (previous === undefined) {
        if (wanted.phase !== 0) {
            throw new RotationError(
                PHASE_KEY,
                `this stack has no deployed trust anchor to rotate from; deploy it with rotationPhase=0 first`,
            );
        }
        return plan(now.toISOString());
    }
    if (previous.generation === wanted.generation && previous.phase === wanted.phase) {
        return plan(previous.since);
    }
    const next = nextStep(previous);
    if (next.generation !== wanted.generation || next.phase !== wanted.phase) {
        throw new RotationError(
            PHASE_KEY,
            `cannot go from ${describe(previous)} to ${describe(wanted)}: phases cannot be skipped or reversed. ` +
                `The next phase is: ${next.says}. See docs/admin/rotation.md.`,
        );
    }
    if (previous.phase === 1 || previous.phase === 2) {
        const elapsed = now.getTime() - new Date(previous.since).getTime();
        const floor = settings.phaseFloor;
        if (elapsed < floor.ms) {
            const why =
                previous.phase === 1
                    ? "the mesh runs on the new bundle with the old issuer still in place, so that the daily check sees any pod left behind before the issuer switches"
                    : "every certificate the old issuer signed must have expired, every proxy renewed from the new issuer, before the old anchor leaves the bundle";
            const from = new Date(new Date(previous.since).getTime() + floor.ms).toISOString();
            throw new RotationError(
                PHASE_KEY,
                `${describe(previous)} started ${formatDuration(elapsed)} ago; ${why}. The next phase is possible from ${from}, ` +
                    `${floor.says}: then ${next.says}.`,
            );
        }
    }
    return plan(now.toISOString());
}

/** Reads a record from a previous deployment's outputs; undefined if there is none. */
export function parseRotationRecord(value: unknown): RotationRecord | undefined {
    if (value === undefined || value === null) return undefined;
    const record = value as Partial<RotationRecord>;
    if (
        typeof value !== "object" ||
        typeof record.generation !== "number" ||
        ![0, 1, 2, 3].includes(record.phase as number) ||
        typeof record.since !== "string" ||
        Number.isNaN(new Date(record.since).getTime())
    ) {
        throw new pulumi.RunError(
            `the last deployment's trustAnchorRotation output is malformed (${JSON.stringify(value)}): ` +
                "refusing to guess which trust anchors proxies hold. Restore it from the stack's history (`pulumi stack history`).",
        );
    }
    return record as RotationRecord;
}
