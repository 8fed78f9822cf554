/** The trust-anchor rotation's phase state machine (lib/rotation.ts), with time injected. */
import { strict as assert } from "node:assert";
import { phaseFloor } from "./issuanceLifetime";
import { anchorsFor, parseRotationRecord, planRotation, RotationError, RotationRecord } from "./rotation";

const HOUR = 3600_000;
const NOW = new Date("2026-11-22T12:00:00Z");
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR).toISOString();
const settings = (generation: number, rotationPhase: 0 | 1 | 2 | 3, minHoursBetweenPhases = 25) => ({
    generation,
    rotationPhase,
    phaseFloor: phaseFloor({ issuanceLifetime: "24h0m0s", minHoursBetweenPhases }),
});
/** No floor configured: the one derived from the lifetime. */
const derived = (generation: number, rotationPhase: 0 | 1 | 2 | 3, issuanceLifetime: string) => ({
    generation,
    rotationPhase,
    phaseFloor: phaseFloor({ issuanceLifetime }),
});

describe("rotation phases (state machine)", () => {
    it("a new stack starts steady, and only steady", () => {
        assert.deepEqual(planRotation(settings(1, 0), undefined, NOW).record, {
            generation: 1,
            phase: 0,
            since: NOW.toISOString(),
        });
        assert.throws(() => planRotation(settings(1, 1), undefined, NOW), /no deployed trust anchor to rotate from/);
    });

    it("a recorded rotation that is not a record is refused, never read as 'never rotated'", () => {
        assert.equal(parseRotationRecord(undefined), undefined, "a stack never deployed");
        for (const bad of ["garbage", 1, [], { generation: 1, phase: 7, since: "2026-01-01T00:00:00Z" }]) {
            assert.throws(
                () => parseRotationRecord(bad),
                /trustAnchorRotation output is malformed/,
                JSON.stringify(bad),
            );
        }
    });

    it("redeploying the same phase keeps when it started", () => {
        const previous: RotationRecord = { generation: 1, phase: 1, since: at(3) };
        assert.equal(planRotation(settings(1, 1), previous, NOW).record.since, at(3));
    });

    it("walks 0 → 1 → 2 → 3 → next generation", () => {
        let record: RotationRecord = { generation: 1, phase: 0, since: at(1000) };
        const steps: [number, 0 | 1 | 2 | 3][] = [
            [1, 1],
            [1, 2],
            [1, 3],
            [2, 0],
            [2, 1],
        ];
        for (const [generation, phase] of steps) {
            record = planRotation(settings(generation, phase), { ...record, since: at(30) }, NOW).record;
            assert.deepEqual([record.generation, record.phase], [generation, phase]);
        }
    });

    const refusals: [string, RotationRecord, [number, 0 | 1 | 2 | 3], RegExp][] = [
        ["skipping phase 1", { generation: 1, phase: 0, since: at(100) }, [1, 2], /next phase is: set rotationPhase=1/],
        ["skipping phase 2", { generation: 1, phase: 1, since: at(100) }, [1, 3], /next phase is: set rotationPhase=2/],
        [
            "jumping to the next generation",
            { generation: 1, phase: 0, since: at(100) },
            [2, 0],
            /next phase is: set rotationPhase=1/,
        ],
        [
            "finishing from phase 2",
            { generation: 1, phase: 2, since: at(100) },
            [2, 0],
            /next phase is: set rotationPhase=3/,
        ],
        [
            "going back from phase 2",
            { generation: 1, phase: 2, since: at(100) },
            [1, 1],
            /cannot go from generation 1, phase 2/,
        ],
        [
            "going back to steady from phase 3",
            { generation: 1, phase: 3, since: at(100) },
            [1, 0],
            /finish: set identity.trustAnchor.generation=2/,
        ],
    ];
    for (const [why, previous, [generation, phase], message] of refusals) {
        it(`refuses ${why}, naming the next phase`, () => {
            assert.throws(
                () => planRotation(settings(generation, phase), previous, NOW),
                (e: unknown) =>
                    e instanceof RotationError &&
                    e.key === "akko-mtls:identity.trustAnchor.rotationPhase" &&
                    message.test(e.message),
            );
        });
    }

    it("every refusal reads in one go: no parentheses inside parentheses (issue 19)", () => {
        const messages: string[] = [];
        for (const previous of [0, 1, 2, 3] as const) {
            for (const [generation, phase] of [
                [1, 0],
                [1, 1],
                [1, 2],
                [1, 3],
                [2, 0],
                [2, 1],
            ] as const) {
                for (const since of [at(1), at(100)]) {
                    try {
                        planRotation(settings(generation, phase), { generation: 1, phase: previous, since }, NOW);
                    } catch (e) {
                        assert.ok(e instanceof RotationError);
                        messages.push(e.message);
                    }
                }
            }
        }
        assert.ok(messages.length > 20, `${messages.length} refusals`);
        for (const message of messages) assert.doesNotMatch(message, /\([^()]*\(/, message);
    });

    it("phases 1 and 2 last at least minHoursBetweenPhases; 0 → 1 and finishing do not wait", () => {
        assert.throws(
            () => planRotation(settings(1, 2), { generation: 1, phase: 1, since: at(3) }, NOW),
            /the mesh runs on the new bundle.*possible from 2026-11-23T10:00:00.000Z/,
        );
        assert.throws(
            () => planRotation(settings(1, 3), { generation: 1, phase: 2, since: at(24) }, NOW),
            /every certificate the old issuer signed must have expired/,
        );
        assert.ok(planRotation(settings(1, 2, 24), { generation: 1, phase: 1, since: at(24) }, NOW), "24 h is enough");
        assert.ok(planRotation(settings(1, 1), { generation: 1, phase: 0, since: at(0) }, NOW));
        assert.ok(planRotation(settings(2, 0), { generation: 1, phase: 3, since: at(0) }, NOW));
    });

    it("in every phase the issuer's anchor is in the bundle, and no step drops the anchor the previous issuer used", () => {
        const sequence: [number, 0 | 1 | 2 | 3][] = [
            [1, 0],
            [1, 1],
            [1, 2],
            [1, 3],
            [2, 0],
        ];
        const signer = (g: number, p: 0 | 1 | 2 | 3) => anchorsFor(g, p).find((a) => a.signsIssuer)!.generation;
        const bundle = (g: number, p: 0 | 1 | 2 | 3) =>
            anchorsFor(g, p)
                .filter((a) => a.inBundle)
                .map((a) => a.generation);
        for (const [g, p] of sequence) assert.ok(bundle(g, p).includes(signer(g, p)), `phase ${g}/${p}`);
        for (let i = 1; i < sequence.length; i++) {
            const [before, after] = [sequence[i - 1], sequence[i]];
            const step = `${before.join("/")} → ${after.join("/")}`;
            assert.ok(bundle(...after).includes(signer(...before)), `${step} keeps the old issuer's anchor`);
            assert.ok(
                bundle(...before).includes(signer(...after)),
                `${step}: the new issuer's anchor was already trusted`,
            );
        }
        const protectedUntilDropped = anchorsFor(1, 3).find((a) => a.generation === 1)!;
        assert.deepEqual(protectedUntilDropped, {
            generation: 1,
            inBundle: false,
            signsIssuer: false,
            allowDeletion: true,
        });
    });

    it("the floor follows the issuance lifetime: a 2 min lifetime lets a phase end after 3 min 40 s, and not before (time injected)", () => {
        const short = (phase: 0 | 1 | 2 | 3) => derived(1, phase, "2m");
        const since = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
        assert.throws(
            () => planRotation(short(3), { generation: 1, phase: 2, since: since(219) }, NOW),
            (e: unknown) =>
                e instanceof RotationError &&
                /started 3 min 39 s ago/.test(e.message) &&
                /the floor derived from identity.issuer.issuanceLifetime 2m being 3 min 40 s/.test(e.message),
        );
        assert.deepEqual(planRotation(short(3), { generation: 1, phase: 2, since: since(220) }, NOW).record, {
            generation: 1,
            phase: 3,
            since: NOW.toISOString(),
        });
        // Linkerd's default lifetime, no floor configured: 25 h 40 s, no longer a fixed 25 h.
        assert.throws(
            () => planRotation(derived(1, 2, "24h0m0s"), { generation: 1, phase: 1, since: at(25) }, NOW),
            /25 h 0 min 40 s/,
        );
        assert.ok(planRotation(derived(1, 2, "24h0m0s"), { generation: 1, phase: 1, since: at(25.02) }, NOW));
    });
});
