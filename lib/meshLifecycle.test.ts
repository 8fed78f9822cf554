/**
 * The mesh's state machine on its own (next to what it plans): every transition of `planMesh`,
 * what each plan injects, drains and records, and the helpers the components read it through.
 * test/meshing.test.ts runs the same transitions through the whole program.
 */
import { strict as assert } from "node:assert";
import {
    drainingNamespaces,
    injectedNamespaces,
    injectorScope,
    K3S_TRAEFIK,
    MeshSettings,
    MeshState,
    planMesh,
    readPreviousMesh,
    strictNamespaces,
} from "./meshLifecycle";

const NO_INGRESS = { enabled: false, controller: "in-namespace", mode: "enabled" } as const;
const settings = (overrides: Partial<MeshSettings> = {}): MeshSettings => ({
    enabled: true,
    namespaces: ["akko", "spark"],
    mode: "permissive",
    drainOnDisable: true,
    ingress: NO_INGRESS,
    ...overrides,
});
const on = (overrides: Partial<MeshState> = {}): MeshState => ({
    phase: "on",
    namespaces: ["akko", "spark"],
    mode: "strict",
    ...overrides,
});

describe("planMesh: the mesh's state machine", () => {
    it("a stack never meshed and still disabled deploys nothing and records off", () => {
        const plan = planMesh(settings({ enabled: false }), undefined);
        assert.deepEqual(
            [plan.phase, plan.deploy, plan.cleanup, plan.namespaces, plan.notice],
            ["off", false, false, [], undefined],
        );
        assert.deepEqual(plan.record, { phase: "off", namespaces: [], mode: "permissive" });
    });

    it("enabling injects every configured namespace in the configured mode; strict brings the authorizations", () => {
        const permissive = planMesh(settings(), undefined);
        assert.deepEqual(permissive.namespaces, [
            { name: "akko", inject: true, mode: "permissive" },
            { name: "spark", inject: true, mode: "permissive" },
        ]);
        assert.equal(permissive.authorizations, false);
        assert.deepEqual(permissive.record, { phase: "on", namespaces: ["akko", "spark"], mode: "permissive" });
        const strict = planMesh(settings({ mode: "strict" }), on({ mode: "permissive" }));
        assert.equal(strict.authorizations, true);
        assert.deepEqual(strictNamespaces(strict), ["akko", "spark"]);
    });

    const drains: [string, MeshState, MeshState["phase"], string | RegExp][] = [
        ["strict: first the policies", on(), "draining-policy", /step 1 of 3/],
        ["then the proxies", on({ phase: "draining-policy", mode: "permissive" }), "draining-proxies", /step 2 of 3/],
        ["permissive: the proxies at once", on({ mode: "permissive" }), "draining-proxies", /step 1 of 2/],
        ["and last the control plane", on({ phase: "draining-proxies", mode: "permissive" }), "off", /last step/],
    ];
    for (const [why, previous, phase, notice] of drains) {
        it(`disabling drains step by step, ${why}`, () => {
            const plan = planMesh(settings({ enabled: false }), previous);
            assert.equal(plan.phase, phase);
            assert.match(plan.notice!, notice instanceof RegExp ? notice : new RegExp(notice));
            assert.equal(plan.authorizations, false, "no strict authorization while draining");
            if (phase === "off") {
                assert.equal(plan.deploy, false);
                return;
            }
            assert.equal(plan.deploy, true, "the control plane stays while proxies remain");
            // The namespaces of the record, not of today's config: what is actually meshed.
            assert.deepEqual(
                plan.namespaces.map((n) => n.name),
                previous.namespaces,
            );
            assert.ok(plan.namespaces.every((n) => n.mode === "permissive"));
            assert.ok(plan.namespaces.every((n) => n.inject === (phase === "draining-policy")));
            const { nextRun, ...record } = plan.record;
            assert.deepEqual(record, { phase, namespaces: previous.namespaces, mode: "permissive" });
            assert.ok(nextRun, "a drain step asks for the next run");
        });
    }

    it("the drain follows the recorded namespaces even when the config lists others", () => {
        const plan = planMesh(settings({ enabled: false, namespaces: ["other"] }), on());
        assert.deepEqual(
            plan.namespaces.map((n) => n.name),
            ["akko", "spark"],
        );
    });

    it("drainOnDisable false removes everything in one run, with the provider's deleteUnreachable", () => {
        const plan = planMesh(settings({ enabled: false, drainOnDisable: false }), on());
        assert.deepEqual([plan.phase, plan.deploy, plan.cleanup], ["off", false, true]);
        assert.match(plan.notice!, /removed at once/);
        assert.equal(
            planMesh(settings({ enabled: false, drainOnDisable: false }), undefined).cleanup,
            false,
            "nothing to clean up",
        );
    });

    it("re-enabling mid-drain goes straight back on", () => {
        const plan = planMesh(settings({ mode: "strict" }), on({ phase: "draining-proxies", mode: "permissive" }));
        assert.equal(plan.phase, "on");
        assert.deepEqual(injectedNamespaces(plan), ["akko", "spark"]);
    });

    it("a namespace dropped from the config is drained in one run while the mesh stays on", () => {
        const plan = planMesh(settings({ namespaces: ["akko"] }), on({ mode: "permissive" }));
        assert.deepEqual(injectedNamespaces(plan), ["akko"]);
        assert.deepEqual(drainingNamespaces(plan), ["spark"]);
        assert.match(plan.notice!, /namespaces spark leave the mesh/);
        assert.deepEqual(plan.record.namespaces, ["akko"], "once drained it is no longer recorded");
        assert.match(
            plan.record.nextRun!,
            /remove what is left of namespaces spark/,
            "but the record asks for the run that removes the rest",
        );
        const next = planMesh(settings({ namespaces: ["akko"] }), plan.record);
        assert.deepEqual(drainingNamespaces(next), [], "and the next run forgets it");
        assert.equal(next.record.nextRun, undefined, "settled");
    });

    it("the ingress controller: meshed with the namespaces, drained when dropped or replaced, recorded", () => {
        const k3s = { enabled: true, controller: "k3s-traefik", mode: "ingress" } as const;
        const meshed = planMesh(settings({ ingress: k3s }), undefined);
        assert.deepEqual(meshed.ingress, { ...K3S_TRAEFIK, inject: true, injectMode: "ingress" });
        assert.deepEqual(meshed.record.ingress, K3S_TRAEFIK);
        const dropped = planMesh(settings(), meshed.record);
        assert.deepEqual(dropped.ingress, { ...K3S_TRAEFIK, inject: false, injectMode: "enabled" });
        assert.match(dropped.notice!, /ingress controller in kube-system leaves the mesh/);
        const replaced = planMesh(
            settings({
                ingress: { enabled: true, controller: "in-namespace", namespace: "ingress-nginx", mode: "enabled" },
            }),
            meshed.record,
        );
        assert.deepEqual(replaced.ingress, {
            controller: "in-namespace",
            namespace: "ingress-nginx",
            inject: true,
            injectMode: "enabled",
        });
        const draining = planMesh(settings({ enabled: false, ingress: k3s }), meshed.record);
        assert.deepEqual(
            [draining.phase, draining.ingress?.inject],
            ["draining-proxies", false],
            "it loses its proxy with the namespaces",
        );
    });

    it("the injector's scope: every namespace the mesh owns, drained ones, viz's and the ingress controller's", () => {
        const plan = planMesh(
            settings({ namespaces: ["akko"], ingress: { enabled: true, controller: "k3s-traefik", mode: "enabled" } }),
            on({ mode: "permissive" }),
        );
        assert.deepEqual(injectorScope(plan, "linkerd-viz"), ["akko", "spark", "linkerd-viz", "kube-system"]);
        assert.deepEqual(injectorScope(planMesh(settings(), undefined), undefined), ["akko", "spark"]);
    });
});

describe("readPreviousMesh: the last record, failing closed", () => {
    const configured = { namespaces: ["akko"], ingress: NO_INGRESS };
    it("a readable record is taken as is; a stack never meshed has none", () => {
        assert.deepEqual(readPreviousMesh({ meshState: on() }, configured), { state: on() });
        assert.deepEqual(readPreviousMesh({}, configured), { state: undefined });
    });
    it("a meshed stack whose record is missing or unreadable is assumed on and strict: a disable drains every step", () => {
        for (const outputs of [
            { mtlsEnabled: true },
            { linkerdChartVersion: "2026.8.3" },
            { mtlsEnabled: true, meshState: { phase: "sideways" } },
        ]) {
            const previous = readPreviousMesh(outputs, configured);
            assert.deepEqual(previous.state, { phase: "on", namespaces: ["akko"], mode: "strict" });
            assert.ok(previous.assumed);
        }
    });
});
