/** `pulumi config set --path`, as the CLI parses and stores it (tools/configPath.ts). */
import { strict as assert } from "node:assert";
import { coerce, configSetPath, IndexOutOfRange, parseConfigKey, parsePropertyPath } from "../tools/configPath";

const set = (config: Record<string, string>, key: string, value: string) => configSetPath(config, key, value, "akko-mtls");

describe("pulumi config set --path, as the CLI does it", () => {
    it("paths: names, indexes, quoted keys (pulumi properties_path.go)", () => {
        assert.deepEqual(parsePropertyPath("mtls.enabled"), ["mtls", "enabled"]);
        assert.deepEqual(parsePropertyPath("mtls.namespaces[1]"), ["mtls", "namespaces", 1]);
        assert.deepEqual(parsePropertyPath('mtls.authorizations[0].podSelector["app.kubernetes.io/name"]'), [
            "mtls",
            "authorizations",
            0,
            "podSelector",
            "app.kubernetes.io/name",
        ]);
        assert.deepEqual(parsePropertyPath('a["with \\"quotes\\""]'), ["a", 'with "quotes"']);
        for (const bad of [".a", "a.", "a.[0]", "a[x]", 'a["open', "a[0"]) assert.throws(() => parsePropertyPath(bad), Error, bad);
    });

    it("values inside an object: true/false and integers are typed, everything else (JSON too) stays text (pulumi object.go coerce)", () => {
        assert.deepEqual(["true", "false", "42", "-3", "0", "0123", "1.5", "yes", '["akko"]', ""].map(coerce), [
            true,
            false,
            42,
            -3,
            0,
            "0123",
            "1.5",
            "yes",
            '["akko"]',
            "",
        ]);
    });

    it("one segment stores the text as given; more set inside the key's object, creating containers", () => {
        assert.deepEqual(set({}, "target", "k3s"), { "akko-mtls:target": "k3s" });
        assert.deepEqual(set({}, "mtls", '{"enabled":true}'), { "akko-mtls:mtls": '{"enabled":true}' }, "read as an object by config.getObject");
        const config = set({ "akko-mtls:mtls": '{"enabled":false,"namespaces":["akko"]}' }, "mtls.enabled", "true");
        assert.deepEqual(JSON.parse(config["akko-mtls:mtls"]), { enabled: true, namespaces: ["akko"] });
        const appended = set(config, "mtls.namespaces[1]", "spark");
        assert.deepEqual(JSON.parse(appended["akko-mtls:mtls"]).namespaces, ["akko", "spark"]);
        const created = set({}, "mtls.namespaceOptions.akko.opaquePorts[0]", "5432");
        assert.deepEqual(JSON.parse(created["akko-mtls:mtls"]), { namespaceOptions: { akko: { opaquePorts: [5432] } } });
        assert.deepEqual(set({}, "other:key.x", "1"), { "other:key": '{"x":1}' }, "another namespace");
    });

    it("refuses what the CLI refuses: an index past the end, a map key on an array", () => {
        const config = { "akko-mtls:mtls": '{"namespaces":["akko"]}' };
        assert.throws(() => set(config, "mtls.namespaces[3]", "x"), /array index out of range/);
        assert.throws(() => set(config, "mtls.namespaces.first", "x"), /key for an array must be an int/);
        assert.throws(() => set({ "akko-mtls:mtls": '{"enabled":true}' }, "mtls.enabled.deeper", "x"), /expected a map/);
    });

    it("the namespace comes from the key's first segment, as the CLI reads it (pulumi io.go parseConfigKey, key.go ParseKey)", () => {
        assert.deepEqual(parseConfigKey("mtls.enabled", "akko-mtls"), { namespace: "akko-mtls", path: ["mtls", "enabled"] });
        assert.deepEqual(parseConfigKey("akko-mtls:mtls.enabled", "akko-mtls"), { namespace: "akko-mtls", path: ["mtls", "enabled"] });
        assert.deepEqual(parseConfigKey("mtls:enabled", "akko-mtls"), { namespace: "mtls", path: ["enabled"] }, "a colon for a dot: another namespace");
        assert.deepEqual(
            parseConfigKey("mtls.ingress:x", "akko-mtls"),
            { namespace: "akko-mtls", path: ["mtls", "ingress:x"] },
            "a colon after the first segment is a name",
        );
        assert.deepEqual(parseConfigKey("akko-mtls:config:mtls", "akko-mtls"), { namespace: "akko-mtls", path: ["mtls"] }, "the old `config` module form");
        assert.throws(() => parseConfigKey("akko-mtls:mtls:enabled", "akko-mtls"), /could not parse/);
        assert.deepEqual(set({}, "mtls:enabled", "true"), { "mtls:enabled": "true" }, "stored where nothing reads it");
    });

    it("an index past the end says which list, where and how long it is", () => {
        let error: unknown;
        try {
            set({}, "mtls.namespaces[1]", "spark");
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof IndexOutOfRange);
        assert.deepEqual([error.list, error.index, error.length], [["mtls", "namespaces"], 1, 0]);
    });
});
