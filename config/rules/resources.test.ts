/** The resources rule, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { everyContainerResources, validateResources } from "./resources";
import { issuesOf, validConfig } from "./testing";

describe("rules: resources", () => {
    describe("validateResources", () => {
        it("accepts every target's preset (HA leaves CPU limits empty, as values-ha.yaml)", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateResources, validConfig(target)), [], target);
        });

        it("covers every container's resources, the CNI plugin's included", () => {
            const keys = everyContainerResources(validConfig("k3s")).map(([path]) => path.join("."));
            assert.ok(keys.includes("linkerd.cni.resources"));
            assert.equal(keys.length, 16);
        });

        it("refuses a request above its limit", () => {
            const config = validConfig("k3s", {
                linkerd: {
                    proxy: { resources: { memory: { request: "1Gi" } } },
                    cni: { resources: { cpu: { request: "2" } } },
                },
            });
            assert.deepEqual(issuesOf(validateResources, config), [
                ["linkerd.proxy.resources.memory.request", "must not exceed its limit (128Mi)"],
                ["linkerd.cni.resources.cpu.request", "must not exceed its limit (100m)"],
            ]);
        });

        it("refuses a missing limit on a single node, accepts it on a multi-node target", () => {
            const k3d = validConfig("k3d");
            delete k3d.linkerd.controlPlaneResources.destination.cpu.limit;
            assert.deepEqual(issuesOf(validateResources, k3d), [
                [
                    "linkerd.controlPlaneResources.destination.cpu.limit",
                    "is required on the single-node target k3d (every container has explicit limits)",
                ],
            ]);
            const eks = validConfig("eks");
            delete eks.linkerd.controlPlaneResources.destination.memory.limit;
            assert.deepEqual(issuesOf(validateResources, eks), []);
        });

        it("skips quantities the schema already reported", () => {
            const config = validConfig("k3s");
            config.linkerd.proxy.resources.memory.request = "lots";
            assert.deepEqual(issuesOf(validateResources, config), []);
        });
    });
});
