/** Sizing: the Netcup box (16 GiB) must run the mesh with 50 meshed pods on 10 % of its memory. */
import { strict as assert } from "node:assert";
import { meshFootprint } from "../tools/footprint";
import { MIB } from "../lib/quantity";
import { runStackOk } from "./helpers";

const NETCUP_MEMORY = 16 * 1024 * MIB;

describe("footprint", () => {
    it("netcup: control plane + 50 meshed proxies request at most 10 % of 16 GiB, and every container is bounded", async () => {
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        const footprint = meshFootprint(run, 50);
        assert.ok(footprint.containers.length >= 8, "control-plane containers and proxies are counted");
        const charts = new Set(footprint.containers.map((c) => c.chart));
        assert.deepEqual(
            [...charts].sort(),
            ["cert-manager", "linkerd-control-plane", "linkerd-viz"],
            "cert-manager and viz count too",
        );
        assert.ok(
            footprint.memoryRequest <= 0.1 * NETCUP_MEMORY,
            `memory requests ${(footprint.memoryRequest / MIB).toFixed(0)} MiB > ${(0.1 * NETCUP_MEMORY) / MIB} MiB`,
        );
        assert.deepEqual(footprint.unbounded, []);
    });

    it("counts replicas: HA multiplies the control plane by three", async () => {
        const eks = meshFootprint(await runStackOk("eks", { "mtls.enabled": true }), 0);
        const destination = eks.containers.find(
            (c) => c.pod === "linkerd-destination" && c.container === "destination",
        )!;
        assert.equal(destination.replicas, 3);
        assert.equal(destination.memoryRequest, 50 * MIB);
        // values-ha.yaml: 3 x (destination 3 x 50Mi + identity 10Mi + injector 50Mi + 3 proxies x 20Mi),
        // cert-manager HA: 2 controllers x 64Mi, 3 webhooks x 32Mi, 2 cainjectors x 64Mi,
        // viz values-ha.yaml: Prometheus 300Mi, 3 taps, tap-injector, web, metrics-api x 50Mi, each + a 20Mi proxy.
        const controlPlane = 3 * (3 * 50 + 10 + 50 + 3 * 20);
        const certManager = 2 * 64 + 3 * 32 + 2 * 64;
        const viz = 300 + 20 + 3 * (50 + 20) + 3 * (50 + 20);
        assert.equal(eks.memoryRequest, (controlPlane + certManager + viz) * MIB);
    });
});
