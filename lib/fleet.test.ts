/** Fleet trust's state machines (lib/fleet.ts), with time injected: the member's join and follow, the trust stack's barrier. */
import { phaseFloor } from "./issuanceLifetime";
import { strict as assert } from "node:assert";
import { FleetGateError, FleetView, MemberRecord, memberState, planFleet, planMemberTrust } from "./fleet";
import { RotationError, type RotationRecord } from "./rotation";

const HOUR = 3600_000;
const NOW = new Date("2026-12-01T12:00:00Z");
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR).toISOString();
const settings = (generation: number, rotationPhase: 0 | 1 | 2 | 3, minHoursBetweenPhases = 25) => ({
    generation,
    rotationPhase,
    phaseFloor: phaseFloor({ issuanceLifetime: "24h0m0s", minHoursBetweenPhases }),
});
const fleet = (generation: number, phase: 0 | 1 | 2 | 3, bundleSha256 = `sha-${generation}-${phase}`): FleetView => ({
    stack: "trust",
    record: { generation, phase, since: at(100) },
    bundleSha256,
});
/** The anchors of a plan, as `<source> g<n> [bundle] [signs] [deletable]`. */
const shown = (plan: ReturnType<typeof planMemberTrust>) =>
    plan.anchors.map(
        (a) =>
            `${a.source} g${a.generation}${a.inBundle ? " bundle" : ""}${a.signsIssuer ? " signs" : ""}${a.allowDeletion ? " deletable" : ""}`,
    );

describe("fleet trust: a member's plan (lib/fleet.ts planMemberTrust)", () => {
    it("a stack without fleetStack plans its own anchors exactly as lib/rotation.ts does", () => {
        const plan = planMemberTrust({
            settings: settings(1, 1),
            previous: { generation: 1, phase: 0, since: at(30) },
            meshRunning: true,
            now: NOW,
        });
        assert.deepEqual(shown(plan), ["own g1 bundle signs", "own g2 bundle"]);
        assert.deepEqual(plan.record, { generation: 1, phase: 1, since: NOW.toISOString() });
    });

    it("a new member starts on the fleet's phase, recording the fleet and the bundle it applied", () => {
        const plan = planMemberTrust({
            settings: settings(1, 0),
            fleetStack: "trust",
            fleet: fleet(3, 1),
            previous: undefined,
            meshRunning: false,
            now: NOW,
        });
        assert.deepEqual(shown(plan), ["fleet g3 bundle signs", "fleet g4 bundle"]);
        assert.deepEqual(plan.record, {
            generation: 3,
            phase: 1,
            since: NOW.toISOString(),
            fleet: "trust",
            bundleSha256: "sha-3-1",
        });
    });

    it("a stack on its own anchor cannot swap to the fleet's in one step: refused naming fleetStack and the way to join", () => {
        const previous: RotationRecord = { generation: 2, phase: 0, since: at(1000) };
        for (const meshRunning of [true, false]) {
            assert.throws(
                () =>
                    planMemberTrust({
                        settings: settings(2, 0),
                        fleetStack: "trust",
                        fleet: fleet(1, 0),
                        previous,
                        meshRunning,
                        now: NOW,
                    }),
                (e: RotationError) =>
                    e.key === "akko-mtls:identity.trustAnchor.fleetStack" &&
                    /in one step would break every proxy/.test(e.message) &&
                    /rotationPhase=1/.test(e.message),
            );
        }
    });

    it("joining is a rotation: the fleet's anchor joins the bundle first, then issues, then the own anchor leaves", () => {
        let previous: MemberRecord = { generation: 2, phase: 0, since: at(1000) };
        const steps: [0 | 1 | 2 | 3, string[]][] = [
            [1, ["own g2 bundle signs", "fleet g1 bundle"]],
            [2, ["own g2 bundle", "fleet g1 bundle signs"]],
            [3, ["own g2 deletable", "fleet g1 bundle signs"]],
            [0, ["fleet g1 bundle signs"]],
        ];
        for (const [phase, anchors] of steps) {
            const plan = planMemberTrust({
                settings: settings(2, phase),
                fleetStack: "trust",
                fleet: fleet(1, 0),
                previous,
                meshRunning: true,
                now: NOW,
            });
            assert.deepEqual(shown(plan), anchors, `join phase ${phase}`);
            previous = { ...plan.record, since: at(30) };
        }
        assert.deepEqual(previous, { generation: 1, phase: 0, since: at(30), fleet: "trust", bundleSha256: "sha-1-0" });
    });

    it("a join waits for the floor in phases 1 and 2, refuses a skipped phase, and needs a steady fleet", () => {
        const joining: MemberRecord = {
            generation: 2,
            phase: 1,
            since: at(3),
            fleet: "trust",
            joining: { generation: 1 },
        };
        const plan = (phase: 0 | 1 | 2 | 3, view = fleet(1, 0), previous: MemberRecord = joining) =>
            planMemberTrust({
                settings: settings(2, phase),
                fleetStack: "trust",
                fleet: view,
                previous,
                meshRunning: true,
                now: NOW,
            });
        assert.throws(
            () => plan(2),
            /phase 1 started 3.0 h ago; the next phase is possible from 2026-12-02T10:00:00.000Z/,
        );
        assert.throws(() => plan(3), /cannot be skipped or reversed; the next step is: set rotationPhase=2/);
        assert.deepEqual(plan(1).record, joining, "the same phase keeps when it started");
        assert.throws(() => plan(1, fleet(1, 1)), /the trust stack moved while a member was joining/);
        assert.throws(
            () =>
                planMemberTrust({
                    settings: settings(2, 1),
                    fleetStack: "trust",
                    fleet: fleet(1, 2),
                    previous: { generation: 2, phase: 0, since: at(999) },
                    meshRunning: true,
                    now: NOW,
                }),
            /a stack joins a steady fleet/,
        );
    });

    it("a member follows the fleet one phase at a time; with no proxy running it may catch up", () => {
        const member: MemberRecord = {
            generation: 1,
            phase: 0,
            since: at(50),
            fleet: "trust",
            bundleSha256: "sha-1-0",
        };
        const follow = (view: FleetView, meshRunning = true) =>
            planMemberTrust({
                settings: settings(7, 0),
                fleetStack: "trust",
                fleet: view,
                previous: member,
                meshRunning,
                now: NOW,
            });
        assert.deepEqual(shown(follow(fleet(1, 1))), ["fleet g1 bundle signs", "fleet g2 bundle"]);
        assert.equal(follow(fleet(1, 0)).record.since, at(50), "unchanged: the record keeps its time");
        assert.throws(
            () => follow(fleet(1, 2)),
            (e: RotationError) =>
                e.key === "akko-mtls:identity.trustAnchor.fleetStack" && /more than one phase at once/.test(e.message),
        );
        assert.deepEqual(shown(follow(fleet(1, 2), false)), ["fleet g1 bundle", "fleet g2 bundle signs"]);
        assert.deepEqual(
            shown(follow(fleet(1, 3), false)),
            ["fleet g2 bundle signs"],
            "phase 3: only the new anchor; the old one is the trust stack's to delete",
        );
    });

    it("a member's own rotationPhase must stay 0, and it cannot leave or change fleet by a config change", () => {
        const member: MemberRecord = { generation: 1, phase: 0, since: at(50), fleet: "trust" };
        assert.throws(
            () =>
                planMemberTrust({
                    settings: settings(1, 1),
                    fleetStack: "trust",
                    fleet: fleet(1, 0),
                    previous: member,
                    meshRunning: true,
                    now: NOW,
                }),
            (e: RotationError) =>
                e.key === "akko-mtls:identity.trustAnchor.rotationPhase" &&
                /its rotation phase is the trust stack's/.test(e.message),
        );
        assert.throws(
            () => planMemberTrust({ settings: settings(1, 0), previous: member, meshRunning: true, now: NOW }),
            /removing the key would swap anchors/,
        );
        assert.throws(
            () =>
                planMemberTrust({
                    settings: settings(1, 0),
                    fleetStack: "trust2",
                    fleet: { ...fleet(1, 0), stack: "trust2" },
                    previous: member,
                    meshRunning: true,
                    now: NOW,
                }),
            /moving it to "trust2" would swap anchors/,
        );
    });
});

describe("fleet trust: the trust stack's barrier (lib/fleet.ts planFleet)", () => {
    const at10 = (phase: number, hoursAgo: number, bundleSha256 = "bundle-now"): MemberRecord => ({
        generation: 1,
        phase: phase as 0,
        since: at(hoursAgo),
        fleet: "trust",
        bundleSha256,
    });
    const gate = (
        members: { name: string; record: unknown }[],
        phase: 0 | 1 | 2 | 3,
        previous: RotationRecord = { generation: 1, phase: 0, since: at(500) },
    ) =>
        planFleet({
            stack: "trust",
            settings: settings(1, phase),
            previous,
            previousBundleSha256: "bundle-now",
            members,
            now: NOW,
        });

    it("staying in a phase needs nothing of the members, and shows each one's state", () => {
        const plan = gate(
            [
                { name: "netcup", record: at10(0, 40) },
                { name: "eks", record: { generation: 4, phase: 0, since: at(9) } },
                { name: "gke", record: undefined },
            ],
            0,
        );
        assert.deepEqual(
            plan.members.map((m) => [m.name, m.state.status]),
            [
                ["netcup", "at"],
                ["eks", "standalone"],
                ["gke", "never deployed"],
            ],
        );
        assert.match(plan.members[1].line, /runs its own anchor \(generation 4 steady\): not joined yet/);
    });

    it("leaving a phase needs every member to have recorded it with the fleet's bundle: refused naming each laggard", () => {
        const members = [
            { name: "netcup", record: at10(0, 40) },
            { name: "eks", record: { generation: 4, phase: 0, since: at(9) } },
            { name: "gke", record: undefined },
            { name: "k3s-lab", record: at10(0, 40, "an older bundle") },
            {
                name: "joiner",
                record: { generation: 2, phase: 2, since: at(9), fleet: "trust", joining: { generation: 1 } },
            },
        ];
        assert.throws(
            () => gate(members, 1),
            (e: FleetGateError) => {
                assert.deepEqual(e.laggards, ["eks", "gke", "k3s-lab", "joiner"]);
                assert.match(
                    e.message,
                    /^akko-mtls:identity\.trustAnchor\.rotationPhase: the fleet cannot leave generation 1 steady/,
                );
                assert.match(e.message, /eks \(runs its own anchor/);
                assert.match(e.message, /joiner \(joining, phase 2/);
                return true;
            },
        );
        assert.doesNotThrow(() => gate([members[0]], 1));
    });

    it("leaving phase 1 or 2 waits for the floor, counted from the last member to reach it", () => {
        const previous = { generation: 1, phase: 1 as const, since: at(100) };
        const members = [
            { name: "netcup", record: at10(1, 90) },
            { name: "eks", record: at10(1, 10) },
        ];
        assert.throws(
            () => gate(members, 2, previous),
            (e: FleetGateError) =>
                e.laggards[0] === "eks" &&
                /the last member to reach generation 1 phase 1, eks, did so 10.0 h ago/.test(e.message),
        );
        assert.doesNotThrow(() => gate([members[0]], 2, previous));
    });

    it("the phase rules of lib/rotation.ts still apply to the fleet itself", () => {
        assert.throws(() => gate([], 2), /phases cannot be skipped or reversed/);
    });

    it("a member of another fleet, or an unreadable record, is named as what it is", () => {
        assert.equal(
            memberState({ name: "x", record: { generation: 1, phase: 0, since: at(1), fleet: "other" } }, "trust")
                .status,
            "elsewhere",
        );
        assert.equal(memberState({ name: "x", record: "garbage" }, "trust").status, "unreadable");
    });
});
