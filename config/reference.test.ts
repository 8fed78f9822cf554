/** The config reference: every leaf key once, described, with its default from the presets. */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { configReference } from "./reference";
import { configObject } from "./schema";

/** Every leaf key, walking objects only (as test/docs.test.ts does). */
function leafKeys(): string[] {
    const keys: string[] = [];
    const walk = (schema: z.core.$ZodType, path: string[]) => {
        while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap();
        if (schema instanceof z.ZodObject)
            for (const [key, child] of Object.entries(schema.shape)) walk(child as z.core.$ZodType, [...path, key]);
        else keys.push(path.join("."));
    };
    walk(configObject, []);
    return keys;
}

describe("config reference", () => {
    const rows = configReference();
    const row = (key: string) => {
        const found = rows.find((r) => r.key === key);
        assert.ok(found, key);
        return found;
    };

    it("has every leaf key of the schema exactly once", () => {
        assert.deepEqual(
            rows.map((r) => r.key),
            leafKeys(),
        );
        assert.equal(new Set(rows.map((r) => r.key)).size, rows.length);
        assert.ok(rows.length > 60);
    });

    it("describes every key, at runtime", () => {
        for (const r of rows) {
            assert.ok(r.description.trim().length > 10, `${r.key} has no description`);
            assert.ok(r.type.length > 0, `${r.key} has no type`);
            assert.ok(!/[|<>]/.test(r.type), `${r.key}: the type must fit in a Markdown table (${r.type})`);
        }
    });

    it("gives one default, a default per target, or none", () => {
        assert.equal(row("mtls.enabled").default, "`false`");
        assert.equal(row("mtls.ingress.enabled").default, "`true` on k3d/k3s, `false` on eks/gke");
        assert.equal(row("identity.issuer.mode").default, "`static` on k3d, `certManager` on k3s/eks/gke");
        assert.equal(row("linkerd.proxy.resources.cpu.limit").default, '`"1"` on k3d/k3s, — on eks/gke');
        assert.equal(row("target").default, "—");
        assert.equal(row("viz.prometheus.url").default, "—");
        assert.equal(row("mtls.namespaces").default, '`["akko"]`');
        assert.equal(row("linkerd.chartVersion").default, "`2026.8.3`");
        assert.equal(row("rotationJob.issuerMinHoursLeft").default, "derived: min(renewBeforeHours - 1, 1440)");
    });

    it("gives types with their ranges and choices", () => {
        assert.equal(row("linkerd.controllerReplicas").type, "integer 1–7");
        assert.equal(row("identity.trustAnchor.validityHours").type, "integer 720–175200");
        assert.equal(row("mtls.mode").type, "one of permissive, strict");
        assert.equal(row("identity.trustAnchor.rotationPhase").type, "one of 0, 1, 2, 3");
        assert.equal(row("mtls.namespaces").type, "list of string");
        assert.equal(row("viz.prometheus.readers.networks").type, "list of CIDR (IPv4 or IPv6)");
        assert.equal(row("observability.ruleLabels").type, "map of string");
        assert.equal(row("mtls.namespaceOptions").type, "map of objects");
        assert.equal(row("observability.runbookUrl").type, "URL");
    });

    it("a key inside an optional object says what the object is for", () => {
        assert.match(
            row("viz.prometheus.readers.clients").description,
            /^Bundled Prometheus: who else may query it.*ServiceAccount identities/,
        );
        assert.match(
            row("viz.prometheus.scraper.authentication.networks").description,
            /^External Prometheus in strict mode.*CIDRs/,
        );
    });
});
