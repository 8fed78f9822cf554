import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { runProgram, type ResolvedOutput } from "../tools/mockRuntime";

/** A trust stack's outputs as its own run resolved them: one secret, one plain. */
const trustOutputs: Record<string, ResolvedOutput> = {
    trustBundlePem: { value: "-----BEGIN CERTIFICATE-----", secret: false, dependencies: [] },
    intermediateKeyPem: { value: "the key", secret: true, dependencies: [] },
};

describe("mock runtime: StackReference reads the stack it names", () => {
    it("hands another stack's outputs over with their secretness, as the engine does", async () => {
        const run = await runProgram({
            stack: "netcup",
            config: {},
            stacks: { trust: trustOutputs },
            program: () => {
                const trust = new pulumi.StackReference("fleet-trust", { name: "organization/akko-mtls/trust" });
                return {
                    bundle: trust.requireOutput("trustBundlePem"),
                    key: trust.requireOutput("intermediateKeyPem"),
                };
            },
        });
        assert.equal(run.error, undefined);
        assert.deepEqual(run.outputs.bundle.value, "-----BEGIN CERTIFICATE-----");
        assert.equal(run.outputs.bundle.secret, false);
        assert.equal(run.outputs.key.value, "the key");
        assert.equal(run.outputs.key.secret, true, "a secret output of the referenced stack stays secret");
    });

    it("refuses a stack it does not know, and a name the DIY backend would not parse", async () => {
        for (const name of ["organization/akko-mtls/gke", "someone/akko-mtls/trust"]) {
            const run = await runProgram({
                stack: "netcup",
                config: {},
                stacks: { trust: trustOutputs },
                program: () => ({ out: new pulumi.StackReference(name).requireOutput("trustBundlePem") }),
            });
            assert.ok(run.error, `${name} must fail`);
        }
    });

    it("answers a reference to the running stack with its last deployment's outputs", async () => {
        const run = await runProgram({
            stack: "netcup",
            config: {},
            previousOutputs: { target: "k3s" },
            program: () => ({ target: new pulumi.StackReference("organization/akko-mtls/netcup").getOutput("target") }),
        });
        assert.equal(run.outputs.target.value, "k3s");
    });
});
