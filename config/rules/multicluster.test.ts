/** The multicluster rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { validateMulticluster } from "./multicluster";
import { issuesOf, validConfig } from "./testing";

describe("rules: multicluster", () => {
    it("accepts every target's preset (off)", () => {
        for (const target of TARGETS) assert.deepEqual(issuesOf(validateMulticluster, validConfig(target)), [], target);
    });

    it("accepts a target that grants a member and a source that links to it", () => {
        const grants = {
            mtls: { enabled: true },
            multicluster: {
                enabled: true,
                apiServerAddress: "https://10.0.0.1:6443",
                gatewayAddresses: ["203.0.113.7"],
                remoteAccess: ["netcup"],
            },
        };
        assert.deepEqual(issuesOf(validateMulticluster, validConfig("eks", grants)), []);
        assert.deepEqual(
            issuesOf(
                validateMulticluster,
                validConfig("k3s", { mtls: { enabled: true }, multicluster: { enabled: true, links: ["eks"] } }),
            ),
            [],
        );
    });

    it("refuses links without the extension, the extension without the mesh, and a member named twice", () => {
        assert.deepEqual(
            issuesOf(
                validateMulticluster,
                validConfig("k3s", { multicluster: { enabled: true, links: ["eks", "eks"] } }),
            ),
            [
                [
                    "multicluster.enabled",
                    "needs mtls.enabled: the multicluster controllers and gateway are meshed pods",
                ],
                ["multicluster.links.1", "names eks twice"],
            ],
        );
        assert.deepEqual(
            issuesOf(
                validateMulticluster,
                validConfig("k3s", { mtls: { enabled: true }, multicluster: { links: ["eks"] } }),
            ),
            [["multicluster.links", "needs multicluster.enabled: true"]],
        );
    });

    it("refuses the extension where the platform NetworkPolicies would cut every link", () => {
        const config = validConfig("eks", {
            mtls: { enabled: true },
            linkerd: { networkPolicies: true },
            multicluster: { enabled: true },
        });
        assert.deepEqual(
            issuesOf(validateMulticluster, config).map(([path]) => path),
            ["multicluster.enabled"],
        );
    });

    it("a grant needs the API server address pods reach, and in gateway mode the gateway's addresses; flat mode needs no gateway", () => {
        const grant = (target: "eks" | "k3d") =>
            validConfig(target, { mtls: { enabled: true }, multicluster: { enabled: true, remoteAccess: ["netcup"] } });
        assert.deepEqual(
            issuesOf(validateMulticluster, grant("eks")).map(([path]) => path),
            ["multicluster.apiServerAddress", "multicluster.gatewayAddresses"],
        );
        assert.deepEqual(
            issuesOf(validateMulticluster, grant("k3d")).map(([path]) => path),
            ["multicluster.apiServerAddress"],
        );
    });
});
