/**
 * The secret texts of a stack and the rules they follow (config/secrets.ts): marking inputs and
 * outputs, redacting messages, and texts shorter than {@link MIN_SECRET_LENGTH}.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigSecrets, MIN_SECRET_LENGTH, REDACTED } from "./secrets";

describe("ConfigSecrets", () => {
    const secrets = ConfigSecrets.from(
        {
            viz: {
                dashboard: { ingress: { host: "dash-s3cr3t.example.org" } },
                prometheus: { retention: "7d", mode: "bundled" },
            },
            mtls: { c: "public" },
        },
        ["viz"],
        (path) => path[path.length - 1] === "mode",
    );

    it("the texts under the keys marked secret, longest first, but an enumeration's choice", () => {
        assert.deepEqual(secrets.texts, ["dash-s3cr3t.example.org", "7d"]);
        assert.ok(secrets.isSecretPath(["viz", "prometheus"]) && !secrets.isSecretPath(["mtls", "c"]));
        assert.ok(secrets.isSecretText(["viz", "prometheus", "retention"], "7d"));
        assert.ok(!secrets.isSecretText(["mtls", "c"], "public"));
    });

    it(`a long text anywhere; a text shorter than ${MIN_SECRET_LENGTH} characters only as a whole value (inputs) or a whole word (messages)`, () => {
        assert.ok(secrets.contains("https://dash-s3cr3t.example.org/"));
        assert.ok(secrets.contains("7d"));
        assert.ok(!secrets.contains("--storage.tsdb.retention.time=17d"), "inside a longer text it is not told apart");
        assert.ok(!secrets.contains("--storage.tsdb.retention.time=7d"), "nor where it ends one");
        assert.equal(
            secrets.redact("retention 7d, host dash-s3cr3t.example.org"),
            `retention ${REDACTED}, host ${REDACTED}`,
        );
        assert.equal(secrets.redact("17d 7days x7d"), "17d 7days x7d", "not inside a word");
    });

    it("marks every string that contains a secret text, and only those; the transform changes nothing when none does", async () => {
        const { value, changed } = secrets.mark({ a: "x-dash-s3cr3t.example.org-y", b: ["z", "7d"], c: "plain" });
        assert.ok(changed);
        const marked = value as { a: unknown; b: unknown[]; c: unknown };
        assert.ok(await pulumi.isSecret(pulumi.output(marked.a)));
        assert.ok(await pulumi.isSecret(pulumi.output(marked.b[1])));
        assert.equal(marked.b[0], "z");
        assert.equal(marked.c, "plain");
        assert.equal(
            secrets.transform()({ type: "t", name: "n", custom: true, props: { a: "zzz" }, opts: {} }),
            undefined,
        );
    });

    it("no key marked secret: nothing is a secret", () => {
        assert.deepEqual(ConfigSecrets.none.texts, []);
        assert.equal(ConfigSecrets.none.redact("anything 7d"), "anything 7d");
        assert.equal(ConfigSecrets.none.mark({ a: "x" }).changed, false);
    });
});
