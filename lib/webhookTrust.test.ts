/** The webhooks' trust step (lib/webhookTrust.ts): which run hands the webhooks over to the program's CA. */
import { strict as assert } from "node:assert";
import { planWebhookTrust, readPreviousWebhooks } from "./webhookTrust";

describe("webhook trust plan", () => {
    it("the plan: a deployed certManager stack with no record hands over once; anything else is settled", () => {
        const certManager = readPreviousWebhooks({ identityIssuerMode: "certManager", vizDashboard: "x" }, true);
        assert.deepEqual(planWebhookTrust(certManager, true).handover, { viz: true });
        assert.equal(planWebhookTrust({ ...certManager, record: "handover" }, true).step, "program");
        assert.equal(planWebhookTrust({ ...certManager, record: "program-ca" }, true).step, "program");
        assert.equal(planWebhookTrust({ ...certManager, issuerMode: "static" }, true).step, "program");
        assert.equal(
            planWebhookTrust({ ...certManager, meshDeployed: false }, true).step,
            "program",
            "a new or drained stack has nothing to move",
        );
        assert.equal(planWebhookTrust(certManager, false).step, "program", "nothing deployed in this run");
    });
});
