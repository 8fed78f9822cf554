/**
 * Fleet trust (issue 21), as pure state machines with time injected: one trust stack holds the
 * anchors and the fleet's rotation phase, and every member cluster stack applies that phase.
 *
 * Why phases are fleet-wide barriers: a proxy loads its trust roots once, at start (linkerd2-proxy
 * release/v2.366.0 linkerd/app/src/env/identity.rs), and refuses a certificate that does not chain to
 * them (linkerd/meshtls/src/creds/store.rs `set_certificate` validates first). Across linked
 * clusters a connection works only if each side's bundle holds the anchor of the other side's chain,
 * so no member may issue from g+1 (phase 2) before every member's proxies trust g+1 (phase 1
 * everywhere, with evidence), nor drop g (phase 3) before every member has issued from g+1 for the
 * floor. The trust stack ({@link planFleet}) refuses to leave a phase until every member has recorded
 * it; a member ({@link planMemberTrust}) applies the fleet's phase one step at a time.
 *
 * The member's own record (`trustAnchorRotation`, settled only once its run's evidence is in:
 * index.ts, components/mtlsMesh.ts `settled`) is what the trust stack reads back:
 *
 *   standalone  {generation, phase, since}                              its own anchors (lib/rotation.ts)
 *   joining     {generation, phase 1-3, since, fleet, joining}          own anchor g → the fleet's anchor
 *   member      {generation: G, phase: P, since, fleet, bundleSha256}   the fleet's (G, P) applied
 *
 * Joining is a rotation with the fleet's anchor in the role of g+1 (linkerd website, "Trust Anchor
 * Bundle" in tasks/installing-multicluster.md: a bundle may hold both anchors): phase 1 trusts both,
 * phase 2 issues from the fleet's intermediate, phase 3 drops the stack's own anchor, and
 * `rotationPhase=0` finishes (the own anchor leaves state). It needs the fleet steady (phase 0), and
 * a steady fleet cannot start a rotation while a member is joining (the member is a laggard).
 */
import * as crypto from "node:crypto";
import {
    anchorsFor,
    parseRotationRecord,
    PHASE_KEY,
    PlannedAnchor,
    RotationError,
    RotationPlan,
    RotationRecord,
    TrustAnchorSettings,
    planRotation,
} from "./rotation";

export const FLEET_STACK_KEY = "akko-mtls:identity.trustAnchor.fleetStack";
export const FLEET_CLUSTERS_KEY = "akko-mtls:fleet.clusters";

/** What a cluster stack records in `trustAnchorRotation`, in any of the three states above. */
export interface MemberRecord extends RotationRecord {
    /** The trust stack it takes its anchors from (joining or member). */
    fleet?: string;
    /** While joining: the fleet generation it joins; generation and phase are the join's own. */
    joining?: { generation: number };
    /** SHA-256 (hex) of the fleet bundle it applied, as a member. */
    bundleSha256?: string;
}

/** The fleet's record, as the trust stack exports it (`fleetRotation`). */
export type FleetRecord = RotationRecord;

/** SHA-256 (hex) of a bundle, PEM certificates joined one per line as the program joins them. */
export function bundleSha256(pem: string): string {
    return crypto.createHash("sha256").update(pem.trim()).digest("hex");
}

/** Reads a member record from a deployment's outputs (a standalone record is one too); undefined if none. */
export function parseMemberRecord(value: unknown): MemberRecord | undefined {
    const record: MemberRecord | undefined = parseRotationRecord(value);
    if (record === undefined) return undefined;
    const joining = record.joining;
    if (
        (record.fleet !== undefined && typeof record.fleet !== "string") ||
        (joining !== undefined &&
            (typeof joining !== "object" || joining === null || typeof joining.generation !== "number")) ||
        (record.bundleSha256 !== undefined && typeof record.bundleSha256 !== "string")
    ) {
        throw new RotationError(
            PHASE_KEY,
            `the last deployment's trustAnchorRotation output is not a record this program wrote (${JSON.stringify(value)})`,
        );
    }
    return record;
}

// ---------------------------------------------------------------------------------------------
// The member side.

/** What the member reads of its fleet's trust stack before planning. */
export interface FleetView {
    /** The trust stack's name (`identity.trustAnchor.fleetStack`). */
    stack: string;
    record: FleetRecord;
    /** SHA-256 of the fleet's bundle (of the fleet's anchors in the bundle). */
    bundleSha256: string;
}

export interface MemberTrustInput {
    /** The stack's own `identity.trustAnchor` settings. */
    settings: TrustAnchorSettings;
    /** Its `identity.trustAnchor.fleetStack`, when it is (or becomes) a member. */
    fleetStack?: string;
    /** The fleet's state, read before planning; undefined for a standalone stack. */
    fleet?: FleetView;
    /** The stack's last record; undefined when never deployed. */
    previous: MemberRecord | undefined;
    /** Whether proxies may run in the cluster (the last mesh state was not `off`, or is unknown but deployed). */
    meshRunning: boolean;
    now: Date;
}

/** A planned anchor, with where it comes from: the stack's own state, or the fleet's trust stack. */
export interface SourcedAnchor extends PlannedAnchor {
    source: "own" | "fleet";
}

export interface MemberTrustPlan extends RotationPlan {
    anchors: SourcedAnchor[];
    record: MemberRecord;
}

const ordinal = ["steady", "phase 1", "phase 2", "phase 3"];
const describeFleet = (r: { generation: number; phase: number }) => `generation ${r.generation} ${ordinal[r.phase]}`;

/** The step after a (generation, phase) in a rotation: lib/rotation.ts's order. */
export function nextRotationStep(state: { generation: number; phase: number }): {
    generation: number;
    phase: 0 | 1 | 2 | 3;
} {
    return state.phase === 3
        ? { generation: state.generation + 1, phase: 0 }
        : { generation: state.generation, phase: (state.phase + 1) as 1 | 2 | 3 };
}

const own = (anchors: PlannedAnchor[]): SourcedAnchor[] => anchors.map((a) => ({ ...a, source: "own" as const }));
/** The fleet's anchors a member uses: those in the bundle (an anchor leaving it in phase 3 is the trust stack's to delete). */
const fromFleet = (record: { generation: number; phase: 0 | 1 | 2 | 3 }): SourcedAnchor[] =>
    anchorsFor(record.generation, record.phase)
        .filter((a) => a.inBundle)
        .map((a) => ({ ...a, allowDeletion: false, source: "fleet" as const }));

/** The anchors of a join phase: the stack's own generation g against the fleet's steady generation. */
function joinAnchors(ownGeneration: number, fleetGeneration: number, phase: 1 | 2 | 3): SourcedAnchor[] {
    const ownAnchor = {
        generation: ownGeneration,
        source: "own" as const,
        inBundle: phase < 3,
        signsIssuer: phase === 1,
        allowDeletion: phase === 3,
    };
    return [
        ownAnchor,
        { generation: fleetGeneration, source: "fleet", inBundle: true, signsIssuer: phase > 1, allowDeletion: false },
    ];
}

/**
 * The trust of a cluster stack for this run: its own anchors (standalone, lib/rotation.ts), a join
 * phase, or the fleet's phase. Refuses, naming the key, a swap of anchors, a skipped phase, a join
 * while the fleet rotates, and a member that would leave its fleet by a config change.
 */
export function planMemberTrust(input: MemberTrustInput): MemberTrustPlan {
    const { settings, fleetStack, fleet, previous, now } = input;
    if (fleetStack === undefined) {
        if (previous?.fleet !== undefined) {
            throw new RotationError(
                FLEET_STACK_KEY,
                `this stack takes its trust anchor from the trust stack "${previous.fleet}"${previous.joining ? " (it is joining)" : ""}; removing ` +
                    `the key would swap anchors in one step. Put it back; leaving a fleet is docs/admin/fleet.md, "Removing a member".`,
            );
        }
        const plan = planRotation(settings, previous, now);
        return { anchors: own(plan.anchors), record: plan.record };
    }
    if (fleet === undefined) throw new Error("planMemberTrust: a member needs the fleet's state");
    if (previous?.fleet !== undefined && previous.fleet !== fleetStack) {
        throw new RotationError(
            FLEET_STACK_KEY,
            `this stack is a member of the fleet "${previous.fleet}": moving it to "${fleetStack}" would swap anchors in one step. ` +
                `Put back "${previous.fleet}".`,
        );
    }
    if (previous === undefined) {
        // A new member: it starts on the fleet's current phase. A stack with a record of its own
        // anchors joins by rotation even with its mesh off: its anchor is protected in state, and
        // only phase 3 lifts that (lib/rotation.ts).
        if (settings.rotationPhase !== 0) {
            throw new RotationError(
                PHASE_KEY,
                `a new member starts on the fleet's phase: set rotationPhase=0 (joining is for a stack that runs its own anchor)`,
            );
        }
        return memberAt(fleet, now.toISOString());
    }
    if (previous.fleet === undefined) return startJoin({ ...input, fleet, previous });
    if (previous.joining) return continueJoin({ ...input, fleet, previous });
    return followFleet({ ...input, fleet, previous });
}

function memberAt(fleet: FleetView, since: string): MemberTrustPlan {
    const { generation, phase } = fleet.record;
    return {
        anchors: fromFleet(fleet.record),
        record: { generation, phase, since, fleet: fleet.stack, bundleSha256: fleet.bundleSha256 },
    };
}

/** A standalone stack asks to become a member: only as join phase 1, from a steady own anchor, into a steady fleet. */
function startJoin(input: MemberTrustInput & { fleet: FleetView; previous: MemberRecord }): MemberTrustPlan {
    const { settings, fleet, previous, now } = input;
    if (settings.rotationPhase === 0) {
        throw new RotationError(
            FLEET_STACK_KEY,
            `this stack runs its own trust anchor (${describeFleet(previous)}): taking the fleet's in one step would break every proxy. ` +
                `Join as a rotation: keep fleetStack=${fleet.stack} and set identity.trustAnchor.rotationPhase=1 (docs/admin/fleet.md, "Adding a member").`,
        );
    }
    if (previous.phase !== 0) {
        throw new RotationError(
            FLEET_STACK_KEY,
            `this stack is rotating its own anchor (${describeFleet(previous)}): finish that rotation before joining a fleet.`,
        );
    }
    if (settings.rotationPhase !== 1 || settings.generation !== previous.generation) {
        throw new RotationError(
            PHASE_KEY,
            `joining the fleet starts at phase 1 from the stack's own generation ${previous.generation}: set generation=${previous.generation} and rotationPhase=1.`,
        );
    }
    if (fleet.record.phase !== 0) {
        throw new RotationError(
            FLEET_STACK_KEY,
            `the fleet "${fleet.stack}" is rotating (${describeFleet(fleet.record)}): a stack joins a steady fleet; wait until its rotation has finished.`,
        );
    }
    return {
        anchors: joinAnchors(previous.generation, fleet.record.generation, 1),
        record: {
            generation: previous.generation,
            phase: 1,
            since: now.toISOString(),
            fleet: fleet.stack,
            joining: { generation: fleet.record.generation },
        },
    };
}

/** A joining stack: same phase, the next one (after the floor), or, from phase 3, member. */
function continueJoin(input: MemberTrustInput & { fleet: FleetView; previous: MemberRecord }): MemberTrustPlan {
    const { settings, fleet, previous, now } = input;
    const joined = previous.joining!.generation;
    if (fleet.record.generation !== joined || fleet.record.phase !== 0) {
        throw new RotationError(
            FLEET_STACK_KEY,
            `this stack is joining generation ${joined} of the fleet "${fleet.stack}", which is now at ${describeFleet(fleet.record)}: ` +
                `the trust stack moved while a member was joining (docs/admin/fleet.md, "A lost member").`,
        );
    }
    const wanted = settings.rotationPhase;
    if (wanted === previous.phase && settings.generation === previous.generation) {
        return { anchors: joinAnchors(previous.generation, joined, previous.phase as 1 | 2 | 3), record: previous };
    }
    const next = previous.phase === 3 ? 0 : previous.phase + 1;
    if (wanted !== next || settings.generation !== previous.generation) {
        const says = next === 0 ? "set rotationPhase=0 to finish joining" : `set rotationPhase=${next}`;
        throw new RotationError(
            PHASE_KEY,
            `joining, at phase ${previous.phase}: phases cannot be skipped or reversed; the next step is: ${says}.`,
        );
    }
    if (previous.phase === 1 || previous.phase === 2) {
        const hours = (now.getTime() - new Date(previous.since).getTime()) / 3600_000;
        if (hours * 3600_000 < settings.phaseFloor.ms) {
            const from = new Date(new Date(previous.since).getTime() + settings.phaseFloor.ms).toISOString();
            throw new RotationError(
                PHASE_KEY,
                `joining, phase ${previous.phase} started ${hours.toFixed(1)} h ago; the next phase is possible from ${from} ` +
                    `(${settings.phaseFloor.says}).`,
            );
        }
    }
    if (next === 0) return memberAt(fleet, now.toISOString());
    return {
        anchors: joinAnchors(previous.generation, joined, next),
        record: { ...previous, phase: next, since: now.toISOString() },
    };
}

/** A member: the fleet's phase, one step at a time (any step when no proxy runs). */
function followFleet(input: MemberTrustInput & { fleet: FleetView; previous: MemberRecord }): MemberTrustPlan {
    const { settings, fleet, previous, now } = input;
    if (settings.rotationPhase !== 0) {
        throw new RotationError(
            PHASE_KEY,
            `this stack is a member of the fleet "${fleet.stack}": its rotation phase is the trust stack's; set rotationPhase=0 here ` +
                `(a fleet rotation is docs/admin/fleet.md, "A fleet rotation").`,
        );
    }
    const same = previous.generation === fleet.record.generation && previous.phase === fleet.record.phase;
    if (same) return memberAt(fleet, previous.since);
    const next = nextRotationStep(previous);
    const oneStep = next.generation === fleet.record.generation && next.phase === fleet.record.phase;
    if (!oneStep && input.meshRunning) {
        throw new RotationError(
            FLEET_STACK_KEY,
            `the fleet "${fleet.stack}" is at ${describeFleet(fleet.record)}, but this member last applied ${describeFleet(previous)}: ` +
                `applying more than one phase at once would break proxies. Follow docs/admin/fleet.md, "A lost member".`,
        );
    }
    return memberAt(fleet, now.toISOString());
}

// ---------------------------------------------------------------------------------------------
// The trust stack side.

/** One member as the trust stack reads it back. */
export interface MemberReading {
    name: string;
    /** Its `trustAnchorRotation` output, as read (undefined: never deployed). */
    record: unknown;
}

export type MemberState =
    | { status: "at"; generation: number; phase: number; since: string; bundleSha256?: string }
    | { status: "joining"; phase: number; since: string }
    | { status: "standalone"; generation: number; phase: number }
    | { status: "elsewhere"; fleet: string }
    | { status: "never deployed" }
    | { status: "unreadable"; problem: string };

/** Where one member stands, for the gate and the plan. */
export function memberState(reading: MemberReading, fleetStack: string): MemberState {
    let record: MemberRecord | undefined;
    try {
        record = parseMemberRecord(reading.record);
    } catch (error) {
        return { status: "unreadable", problem: (error as Error).message };
    }
    if (record === undefined) return { status: "never deployed" };
    if (record.fleet === undefined) return { status: "standalone", generation: record.generation, phase: record.phase };
    if (record.fleet !== fleetStack) return { status: "elsewhere", fleet: record.fleet };
    if (record.joining) return { status: "joining", phase: record.phase, since: record.since };
    return {
        status: "at",
        generation: record.generation,
        phase: record.phase,
        since: record.since,
        bundleSha256: record.bundleSha256,
    };
}

/** One line for a member's state: the gate's refusal and the plan say it so. */
export function describeMemberState(state: MemberState): string {
    switch (state.status) {
        case "at":
            return `applied ${describeFleet(state)} (since ${state.since})`;
        case "joining":
            return `joining, phase ${state.phase} (since ${state.since})`;
        case "standalone":
            return `runs its own anchor (${describeFleet(state)}): not joined yet`;
        case "elsewhere":
            return `member of another fleet ("${state.fleet}")`;
        case "never deployed":
            return "never deployed as a member";
        case "unreadable":
            return `record unreadable: ${state.problem}`;
    }
}

/** A refused fleet step: names the laggards. */
export class FleetGateError extends RotationError {
    constructor(
        message: string,
        readonly laggards: string[],
    ) {
        super(PHASE_KEY, message);
        this.name = "FleetGateError";
    }
}

export interface FleetPlanInput {
    /** The trust stack's own name (members record it as their `fleet`). */
    stack: string;
    settings: TrustAnchorSettings;
    /** The trust stack's last `fleetRotation`; undefined on its first deployment. */
    previous: FleetRecord | undefined;
    /** SHA-256 of the bundle the trust stack last exported (what members at its phase applied). */
    previousBundleSha256: string | undefined;
    members: MemberReading[];
    now: Date;
}

export interface FleetPlan {
    rotation: RotationPlan;
    /** Each member's state, in `fleet.clusters` order. */
    members: { name: string; state: MemberState; line: string }[];
}

/**
 * The trust stack's step: lib/rotation.ts's rules for the phase itself, and the barrier: leaving a
 * (generation, phase) needs every member to have recorded it (its evidence settled: index.ts) with
 * the bundle the fleet exported, and leaving phase 1 or 2 needs the floor to have passed since the
 * LAST member reached it (research-21 §3: a member in phase 3 next to one inside its phase-2 floor
 * breaks). Throws {@link FleetGateError} naming every laggard.
 */
export function planFleet(input: FleetPlanInput): FleetPlan {
    const { settings, previous, now } = input;
    const members = input.members.map((m) => {
        const state = memberState(m, input.stack);
        return { name: m.name, state, line: describeMemberState(state) };
    });
    const rotation = planRotation(settings, previous, now);
    const leaving =
        previous !== undefined &&
        (previous.generation !== settings.generation || previous.phase !== settings.rotationPhase);
    if (!leaving) return { rotation, members };

    const reached = (s: MemberState) =>
        s.status === "at" &&
        s.generation === previous.generation &&
        s.phase === previous.phase &&
        (input.previousBundleSha256 === undefined ||
            s.bundleSha256 === undefined ||
            s.bundleSha256 === input.previousBundleSha256);
    const laggards = members.filter((m) => !reached(m.state));
    if (laggards.length > 0) {
        throw new FleetGateError(
            `the fleet cannot leave ${describeFleet(previous)} until every member has applied it with evidence (its \`pulumi up\` completed). ` +
                `Laggards: ${laggards.map((m) => `${m.name} (${m.line})`).join("; ")}. Run their deployments, then this one again ` +
                `(docs/admin/fleet.md, "A fleet rotation").`,
            laggards.map((m) => m.name),
        );
    }
    if (previous.phase === 1 || previous.phase === 2) {
        const last = members.reduce<{ name: string; since: number } | undefined>((latest, m) => {
            const since = m.state.status === "at" ? new Date(m.state.since).getTime() : 0;
            return latest === undefined || since > latest.since ? { name: m.name, since } : latest;
        }, undefined);
        if (last !== undefined) {
            const hours = (now.getTime() - last.since) / 3600_000;
            if (hours * 3600_000 < settings.phaseFloor.ms) {
                const from = new Date(last.since + settings.phaseFloor.ms).toISOString();
                throw new FleetGateError(
                    `the last member to reach ${describeFleet(previous)}, ${last.name}, did so ${hours.toFixed(1)} h ago; the fleet may leave it ` +
                        `from ${from} (${settings.phaseFloor.says}, counted from the last member).`,
                    [last.name],
                );
            }
        }
    }
    return { rotation, members };
}
