/** Validation against Kubernetes and CRD schemas (tools/kubeValidate.ts): the Go regular expressions CRDs use. */
import { strict as assert } from "node:assert";
import { goRegExp } from "./kubeValidate";

describe("kubeValidate", () => {
    it("CRD patterns are Go regular expressions: a leading inline flag becomes a RegExp flag", () => {
        assert.ok(goRegExp("^(?i)(abort|warn)?$", "u").test("WARN"));
        assert.ok(!goRegExp("^(?i)(abort|warn)?$", "u").test("fail"));
        assert.ok(!goRegExp("^(abort|warn)$", "u").test("WARN"));
    });
});
