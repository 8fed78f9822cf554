/** `pulumi config set --path`, as the CLI parses and stores it, and paths written back as it reads them (config/configPath.ts). */
import { strict as assert } from "node:assert";
import {
    coerce,
    configSetPath,
    formatConfigKey,
    formatPropertyPath,
    IndexOutOfRange,
    parseConfigKey,
    parsePropertyPath,
    PathSegment,
} from "./configPath";

const set = (config: Record<string, string>, key: string, value: string) =>
    configSetPath(config, key, value, "akko-mtls");

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
        for (const bad of [".a", "a.", "a.[0]", "a[x]", 'a["open', "a[0", "a[1.5]", 'a["x"'])
            assert.throws(() => parsePropertyPath(bad), Error, bad);
        // A name is any text up to the next . or [ (the documented production "is not enforced"); an index may carry a sign; [*] is the text *.
        assert.deepEqual(parsePropertyPath("foo-bar.a/b c[+1][-1][*]"), ["foo-bar", "a/b c", 1, -1, "*"]);
        assert.deepEqual(
            parsePropertyPath('a["back\\slash"]'),
            ["a", "back\\slash"],
            "a backslash before anything but a quote is itself",
        );
    });

    it("paths written back read as the same path: bare names of letters, digits, _ and -, the others quoted with only the quote escaped (pulumi PropertyPath.String)", () => {
        const cases: [PathSegment[], string][] = [
            [["mtls", "enabled"], "mtls.enabled"],
            [["mtls", "authorizations", 0, "port"], "mtls.authorizations[0].port"],
            [
                ["mtls", "namespaceOptions", "akko-spark", "opaquePorts", 1],
                "mtls.namespaceOptions.akko-spark.opaquePorts[1]",
            ],
            [["viz", "podSelector", "app.kubernetes.io/name"], 'viz.podSelector["app.kubernetes.io/name"]'],
            [["a", 'say "hi"'], 'a["say \\"hi\\""]'],
            [["a", "back\\slash"], 'a["back\\slash"]'],
            [["0abc", ""], '["0abc"][""]'],
        ];
        for (const [path, text] of cases) {
            assert.equal(formatPropertyPath(path), text);
            assert.deepEqual(parsePropertyPath(text), path, text);
        }
        const hostile = [
            "",
            " ",
            ".",
            "[",
            "]",
            "[0]",
            '"',
            '\\"',
            "a.b[c]",
            "new\nline",
            "ünïcödé",
            "$x",
            "-x",
            "__proto__",
            "*",
            "a\\b",
        ];
        for (const name of hostile) {
            const path = ["top", name, 3, name];
            assert.deepEqual(parsePropertyPath(formatPropertyPath(path)), path, JSON.stringify(name));
        }
        assert.equal(
            formatConfigKey("akko-mtls", ["mtls", "authorizations", 0, "port"]),
            "akko-mtls:mtls.authorizations[0].port",
        );
        assert.equal(
            formatConfigKey("akko-mtls", ["mtls.enabled"]),
            "akko-mtls:mtls.enabled",
            "a top-level key set without --path, as Pulumi names it",
        );
        assert.deepEqual(parseConfigKey(formatConfigKey("akko-mtls", ["viz", "x.y", 2]), "other"), {
            namespace: "akko-mtls",
            path: ["viz", "x.y", 2],
        });
    });

    it("values inside an object: true/false and integers are typed, everything else (JSON too) stays text (pulumi object.go coerce)", () => {
        // strconv.ParseInt/ParseUint, 64 bits: a sign is read, a leading zero keeps the text (pulumi map_test.go: "00", "01", "0123456", "-1").
        assert.deepEqual(
            [
                "00",
                "01",
                "-1",
                "+5",
                "-0",
                "-05",
                "9223372036854775807",
                "18446744073709551615",
                "18446744073709551616",
                "1e3",
                " 1",
            ].map(coerce),
            [
                "00",
                "01",
                -1,
                5,
                0,
                -5,
                Number("9223372036854775807"),
                Number("18446744073709551615"),
                "18446744073709551616",
                "1e3",
                " 1",
            ],
        );
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
        assert.deepEqual(
            set({}, "mtls", '{"enabled":true}'),
            { "akko-mtls:mtls": '{"enabled":true}' },
            "read as an object by config.getObject",
        );
        const config = set({ "akko-mtls:mtls": '{"enabled":false,"namespaces":["akko"]}' }, "mtls.enabled", "true");
        assert.deepEqual(JSON.parse(config["akko-mtls:mtls"]), { enabled: true, namespaces: ["akko"] });
        const appended = set(config, "mtls.namespaces[1]", "spark");
        assert.deepEqual(JSON.parse(appended["akko-mtls:mtls"]).namespaces, ["akko", "spark"]);
        const created = set({}, "mtls.namespaceOptions.akko.opaquePorts[0]", "5432");
        assert.deepEqual(JSON.parse(created["akko-mtls:mtls"]), {
            namespaceOptions: { akko: { opaquePorts: [5432] } },
        });
        assert.deepEqual(set({}, "other:key.x", "1"), { "other:key": '{"x":1}' }, "another namespace");
    });

    it("refuses what the CLI refuses: an index past the end, a map key on an array", () => {
        const config = { "akko-mtls:mtls": '{"namespaces":["akko"]}' };
        assert.throws(() => set(config, "mtls.namespaces[3]", "x"), /array index out of range/);
        assert.throws(() => set(config, "mtls.namespaces.first", "x"), /key for an array must be an int/);
        assert.throws(
            () => set({ "akko-mtls:mtls": '{"enabled":true}' }, "mtls.enabled.deeper", "x"),
            /expected a map/,
        );
        assert.throws(
            () => set(config, "mtls.namespaces[-1]", "x"),
            /mtls\.namespaces\[-1\]: array index out of range/,
        );
        assert.throws(() => set({}, '[""]', "x"), /config key is empty/);
        assert.throws(() => set({}, "[0]", "x"), /a config key starts with a name/);
        // A map whose only key is `secure` would read as a secret's ciphertext (pulumi object.go errSecureReprReserved).
        assert.throws(() => set({}, "mtls.secure", "x"), /single key "secure" are reserved/);
        assert.deepEqual(JSON.parse(set({}, "mtls.secure", "true")["akko-mtls:mtls"]), { secure: true }, "not a text");
        assert.deepEqual(
            JSON.parse(set(config, "mtls.secure", "x")["akko-mtls:mtls"]),
            { namespaces: ["akko"], secure: "x" },
            "not the only key",
        );
    });

    it("--type string keeps the text as given", () => {
        const typed = configSetPath({}, "mtls.namespaces[0]", "0123", "akko-mtls");
        assert.deepEqual(JSON.parse(typed["akko-mtls:mtls"]), { namespaces: ["0123"] });
        const text = configSetPath({}, "linkerd.controllerReplicas", "3", "akko-mtls", { type: "string" });
        assert.deepEqual(JSON.parse(text["akko-mtls:linkerd"]), { controllerReplicas: "3" });
    });

    it("the namespace comes from the key's first segment, as the CLI reads it (pulumi io.go parseConfigKey, key.go ParseKey)", () => {
        assert.deepEqual(parseConfigKey("mtls.enabled", "akko-mtls"), {
            namespace: "akko-mtls",
            path: ["mtls", "enabled"],
        });
        assert.deepEqual(parseConfigKey("akko-mtls:mtls.enabled", "akko-mtls"), {
            namespace: "akko-mtls",
            path: ["mtls", "enabled"],
        });
        assert.deepEqual(
            parseConfigKey("mtls:enabled", "akko-mtls"),
            { namespace: "mtls", path: ["enabled"] },
            "a colon for a dot: another namespace",
        );
        assert.deepEqual(
            parseConfigKey("mtls.ingress:x", "akko-mtls"),
            { namespace: "akko-mtls", path: ["mtls", "ingress:x"] },
            "a colon after the first segment is a name",
        );
        assert.deepEqual(
            parseConfigKey("akko-mtls:config:mtls", "akko-mtls"),
            { namespace: "akko-mtls", path: ["mtls"] },
            "the old `config` module form",
        );
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
