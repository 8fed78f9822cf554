/** The rules as a whole: named, documented, all run by the schema, silent on every stack's preset. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { configSchema } from "../contract";
import { TARGETS } from "../schema";
import * as rules from ".";
import { issuesOf, validConfig } from "./testing";

describe("rules: all of them", () => {
    it("each is a named, exported function run by configSchema", () => {
        const exported = Object.entries(rules).filter(
            ([name]) => name.startsWith("validate") && name !== "validateConfig",
        );
        assert.ok(exported.length >= 19, `${exported.length} rules`);
        for (const [name, rule] of exported) {
            assert.equal((rule as { name: string }).name, name);
            assert.ok(rules.CONFIG_RULES.includes(rule as rules.ConfigRule), `${name} is not run by validateConfig`);
        }
        assert.equal(new Set(rules.CONFIG_RULES).size, rules.CONFIG_RULES.length);
    });

    it("each has a TSDoc saying why it exists", () => {
        for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
            const text = fs.readFileSync(path.join(__dirname, file), "utf8");
            for (const match of text.matchAll(/export function (validate\w+)/g)) {
                const before = text.slice(0, match.index).trimEnd();
                assert.ok(before.endsWith("*/"), `${file}: ${match[1]} has no TSDoc`);
            }
        }
    });

    it("none refuses a target's preset; the schema accepts it whole", () => {
        for (const target of TARGETS) {
            const config = validConfig(target);
            assert.deepEqual(issuesOf(rules.validateConfig, config), [], target);
            assert.ok(configSchema.safeParse(config).success, target);
        }
    });

    it("the schema reports a rule's issue at the rule's path", () => {
        const config = validConfig("k3s", { rotationJob: { rolloutTimeoutSeconds: 3000 } });
        const result = configSchema.safeParse(config);
        assert.ok(!result.success);
        assert.deepEqual(
            result.error.issues.map((i) => i.path.join(".")),
            ["rotationJob.rolloutTimeoutSeconds"],
        );
    });
});
