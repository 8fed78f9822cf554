/**
 * Config set with `pulumi config set --secret` stays secret (issue 17). Pulumi marks secrecy per
 * top-level key, so each scenario marks one key secret, gives its text leaves values that carry a
 * marker, runs the program, and looks for the marker and every secret text in everything the
 * program leaves in the open: stack outputs, component outputs, resource inputs outside their
 * secret paths, resource names and URNs, warnings, notes, and error messages. Certificates are
 * decoded (a PEM is base64, and a text inside its subject would not show as text): their subject,
 * issuer and SANs count as in the open wherever the certificate is, as every TLS peer reads them.
 */
import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import { ConfigError } from "../config";
import { ProgramRun, ProviderState, readStackConfig, runProgram, setConfigPath } from "../tools/mockRuntime";

/** In every secret text: a leak shows up even where a text was escaped, cut or embedded. */
const MARKER = "s3cr3t";
const DIGEST = `sha256:${"a".repeat(64)}`;

/** Runs a stack file with `--path` overrides and the given top-level keys marked secret; returns the run and the secret texts. */
async function runSecret(
    stack: string,
    overrides: Record<string, unknown>,
    secretKeys: string[],
    state?: ProviderState,
): Promise<{ run: ProgramRun; texts: readonly string[] }> {
    let config = readStackConfig(stack);
    for (const [key, value] of Object.entries(overrides)) config = setConfigPath(config, key, value);
    const run = await runProgram({ stack, config, secretKeys: secretKeys.map((k) => `akko-mtls:${k}`), state });
    // Every text the overrides put under a secret key, but an enumeration's choice (which the plan shows anyway).
    const texts = Object.entries(overrides)
        .filter(([key]) => secretKeys.includes(key.split(".")[0]) && !/\.(mode|controller)$/.test(key))
        .flatMap(([, value]) => leaves(value).map(([, text]) => text));
    return { run, texts };
}

/** Every string leaf of a value, with its dotted path (as the mock runtime's secretPaths spell it). */
function leaves(value: unknown, at: string[] = [], out: [string, string][] = []): [string, string][] {
    if (typeof value === "string") out.push([at.join("."), value]);
    else if (value !== null && typeof value === "object")
        for (const [key, child] of Object.entries(value)) leaves(child, [...at, key], out);
    return out;
}

const underSecret = (path: string, secretPaths: string[]) =>
    secretPaths.some((p) => p === "" || path === p || path.startsWith(`${p}.`));

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/**
 * The names in every X.509 certificate a text holds, as PEM or as base64 of PEM (a Secret's `data`,
 * a webhook's `caBundle`): subject, issuer and SANs, decoded with node:crypto.
 */
export function certificateNames(text: string): string[] {
    const pems = [...text.matchAll(PEM_CERTIFICATE)].map((m) => m[0]);
    if (pems.length === 0 && /^[A-Za-z0-9+/]{100,}={0,2}$/.test(text)) {
        const decoded = Buffer.from(text, "base64").toString("latin1");
        pems.push(...[...decoded.matchAll(PEM_CERTIFICATE)].map((m) => m[0]));
    }
    return pems.map((pem) => {
        const certificate = new X509Certificate(pem);
        return `subject ${certificate.subject} issuer ${certificate.issuer} SANs ${certificate.subjectAltName ?? ""}`;
    });
}

/** Where a secret shows in the open: each finding names the place. */
function leaks(run: ProgramRun, texts: readonly string[]): string[] {
    // The project's name is in every URN and full config key: what a secret text is compared with is the rest.
    const showsAsText = (text: string) => {
        const rest = text.replace(/akko-mtls/g, "");
        return rest.includes(MARKER) || texts.some((secret) => secret.length >= 4 && rest.includes(secret));
    };
    const inCertificate = (text: string) => certificateNames(text).some(showsAsText);
    const shows = (text: string) => showsAsText(text) || inCertificate(text);
    const found: string[] = [];
    for (const [key, output] of Object.entries(run.outputs)) {
        if (!output.secret && shows(JSON.stringify(output.value))) found.push(`stack output ${key}`);
    }
    for (const [urn, outputs] of Object.entries(run.componentOutputs)) {
        for (const [path, text] of leaves(outputs.value))
            if (!underSecret(path, outputs.secretPaths) && shows(text)) found.push(`output ${path} of ${urn}`);
    }
    for (const resource of run.resources) {
        // The project's and the stack's own names are in every URN; what follows them comes from the program.
        if (shows(resource.urn.replace(`urn:pulumi:${run.stack}::`, ""))) found.push(`the name of ${resource.urn}`);
        for (const [path, text] of leaves(resource.inputs)) {
            if (!underSecret(path, resource.secretPaths) && shows(text))
                found.push(`input ${path} of ${resource.type} ${resource.name}`);
        }
        // A Kubernetes object's name and namespace are its ID in Pulumi state: never secret, even when marked so.
        for (const field of ["name", "namespace"]) {
            const value = resource.inputs?.metadata?.[field];
            if (typeof value === "string" && shows(value))
                found.push(`metadata.${field} of ${resource.type} ${resource.name}`);
        }
        // What the provider returned: a certificate it signed (@pulumi/tls `certPem`) is never a secret output.
        for (const [path, text] of leaves(resource.state))
            if (inCertificate(text)) found.push(`certificate in output ${path} of ${resource.type} ${resource.name}`);
    }
    for (const message of [...run.warnings, ...run.notes])
        if (shows(message)) found.push(`log: ${message.slice(0, 100)}`);
    if (run.error && shows(`${run.error.message}\n${run.error.stack ?? ""}`))
        found.push(`error: ${run.error.message.slice(0, 200)}`);
    return found;
}

const GKE_PRIVATE = { masterIpv4CidrBlock: "172.16.32.0/28", network: `${MARKER}-vpc`, nodeTag: `${MARKER}-nodes` };
const INGRESS = {
    enabled: true,
    host: `dash-${MARKER}.example.org`,
    className: `nginx-${MARKER}`,
    tlsSecretName: `tls-${MARKER}`,
    authAnnotations: {
        "nginx.ingress.kubernetes.io/auth-url": `https://sso.example.org/oauth2/auth?token=${MARKER}-token`,
        "nginx.ingress.kubernetes.io/auth-signin": `https://sso.example.org/start?rd=${MARKER}`,
    },
};

/** A rule of the namespace's own policies mirrored onto 4143: its selector names a NetworkPolicy through a hash. */
const OPAQUE_RULE = {
    podSelector: { matchLabels: { app: `pg-${MARKER}` } },
    ports: [5432],
    from: [{ podSelector: {} }],
};
const OPAQUE_EGRESS = { podSelector: {}, ports: [5432], to: [{ ipBlock: { cidr: "10.77.0.0/16" } }] };

/**
 * The Pulumi and Kubernetes names of a run: URNs, and every object's name and namespace (its ID in
 * Pulumi state). Compared across two runs whose secret values differ, it finds names derived from
 * a secret however they were derived (a hash included).
 */
function names(run: ProgramRun): string[] {
    return run.resources
        .flatMap((r) => [r.urn, `${r.inputs?.metadata?.namespace ?? ""}/${r.inputs?.metadata?.name ?? ""}`])
        .sort();
}

/** `value` with every secret marker replaced by another secret of the same shape. */
const otherSecret = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll(MARKER, "t0p5ec"));

/** One scenario per top-level key that can be marked secret, each key's text leaves set in the stack. */
const SCENARIOS: [string, string, Record<string, unknown>][] = [
    [
        "cluster",
        "gke",
        {
            "mtls.enabled": true,
            "cluster.context": `gke_${MARKER}-project_europe-west1_akko`,
            "cluster.kubeconfig": `/home/ops/.kube/${MARKER}-config`,
            "cluster.gkePrivate": GKE_PRIVATE,
        },
    ],
    ["cluster", "netcup", { "mtls.enabled": true, "cluster.context": `netcup-${MARKER}` }],
    [
        "viz",
        "eks",
        {
            "mtls.enabled": true,
            "viz.dashboard.ingress": INGRESS,
            "viz.prometheus.alertmanagers": [`http://am-${MARKER}.monitoring.svc:9093`],
            "viz.prometheus.readers": { networks: ["10.99.0.0/16"] },
            "viz.prometheus.retention": "7d",
            "viz.prometheus.retentionSize": "2GB",
            "viz.prometheus.scraper.podSelector": { "app.kubernetes.io/name": `prom-${MARKER}` },
        },
    ],
    [
        "viz",
        "eks",
        {
            "mtls.enabled": true,
            "viz.prometheus.mode": "external",
            "viz.prometheus.url": `http://reader:${MARKER}-pw@prom-${MARKER}.example.org:9090`,
            "viz.prometheus.alertmanagers": [],
            "observability.prometheusOperator": true,
        },
    ],
    [
        "observability",
        "eks",
        {
            "mtls.enabled": true,
            "observability.runbookUrl": `https://wiki.example.org/${MARKER}-runbook`,
            "observability.ruleLabels": { release: `kps-${MARKER}` },
            "observability.prometheusOperator": true,
            "observability.grafanaDashboards": {
                enabled: true,
                folder: `Mesh ${MARKER}`,
                label: `dash-${MARKER}`,
                labelValue: `on-${MARKER}`,
            },
        },
    ],
    [
        "mtls",
        "netcup",
        {
            "mtls.enabled": true,
            "mtls.ingress.k3sTraefikValues": {
                additionalArguments: [`--providers.file.filename=/${MARKER}/dynamic.yaml`],
                ports: { websecure: { tls: { options: `${MARKER}-options` } } },
            },
        },
    ],
    [
        "linkerd",
        "netcup",
        {
            "mtls.enabled": true,
            "linkerd.cni.enabled": true,
            "linkerd.cni.netDir": `/var/lib/${MARKER}/net.d`,
            "linkerd.cni.binDir": `/opt/${MARKER}/bin`,
            "linkerd.repository": `https://charts.example.org/${MARKER}-linkerd`,
        },
    ],
    [
        "certManager",
        "netcup",
        { "mtls.enabled": true, "certManager.repository": `https://charts.example.org/${MARKER}-jetstack` },
    ],
    [
        "rotationJob",
        "netcup",
        {
            "mtls.enabled": true,
            "rotationJob.kubectlImage": `registry.example.org/${MARKER}/kubectl:1.34@${DIGEST}`,
        },
    ],
];

describe("secret config stays secret (issue 17)", () => {
    for (const [key, stack, overrides] of SCENARIOS) {
        it(`${key} marked secret (${stack}: ${Object.keys(overrides).slice(1).join(", ")}): nowhere in the open`, async () => {
            const { run, texts } = await runSecret(stack, overrides, [key]);
            assert.equal(run.error, undefined, String(run.error));
            assert.ok(
                texts.some((t) => t.includes(MARKER)),
                "the scenario holds secret texts",
            );
            assert.deepEqual(leaks(run, texts), []);
        });
    }

    it("no name depends on a secret value: two runs whose secrets differ have the same names", async () => {
        // Every netcup scenario at once (all keys secret), and the others one by one: 5 pairs of runs, not 18.
        const netcup = SCENARIOS.filter(([, stack]) => stack === "netcup");
        const pairs: [string[], string, Record<string, unknown>][] = [
            [netcup.map(([key]) => key), "netcup", Object.assign({}, ...netcup.map(([, , o]) => o))],
            ...SCENARIOS.filter(([, stack]) => stack !== "netcup").map(
                ([key, stack, o]): [string[], string, Record<string, unknown>] => [[key], stack, o],
            ),
        ];
        for (const [keys, stack, overrides] of pairs) {
            // One state for both, as two `up`s of one stack: the keys and certificates are the same, not drawn anew.
            const state = new ProviderState();
            const { run } = await runSecret(stack, overrides, keys, state);
            const { run: other } = await runSecret(
                stack,
                otherSecret(overrides) as Record<string, unknown>,
                keys,
                state,
            );
            assert.equal(run.error, undefined, String(run.error));
            assert.deepEqual(names(other), names(run), `${keys.join(", ")} on ${stack}`);
        }
    });

    it("the names comparison finds a hashed name: an opaque rule's selector, not secret, changes a NetworkPolicy's name", async () => {
        const overrides = {
            "mtls.enabled": true,
            "mtls.networkPolicies": true,
            "mtls.namespaceOptions": { akko: { opaqueIngress: [OPAQUE_RULE] } },
        };
        const state = new ProviderState();
        const { run } = await runSecret("netcup", overrides, [], state);
        const { run: other } = await runSecret("netcup", otherSecret(overrides) as Record<string, unknown>, [], state);
        assert.equal(run.error, undefined, String(run.error));
        const changed = names(run).filter((n) => !names(other).includes(n));
        assert.ok(
            changed.some((n) => /linkerd-mesh-opaque-[0-9a-f]{10}$/.test(n)),
            changed.join("\n"),
        );
        assert.ok(
            changed.some((n) => /linkerd-network-preflight-[0-9a-f]{10}$/.test(n)),
            changed.join("\n"),
        );
    });

    it("the same values, not marked secret, do show: the scenarios reach outputs, inputs and warnings", async () => {
        const shown = async (stack: string, overrides: Record<string, unknown>) => {
            const { run } = await runSecret(stack, overrides, []);
            assert.equal(run.error, undefined, String(run.error));
            return leaks(run, [MARKER]);
        };
        const [, , gke] = SCENARIOS[0];
        const found = [...(await shown("gke", gke)), ...(await shown("eks", SCENARIOS[2][2]))];
        assert.ok(
            found.some((f) => f === "stack output vizDashboard"),
            found.join("\n"),
        );
        assert.ok(found.some((f) => f.startsWith("log: GKE private cluster")));
        assert.ok(found.some((f) => f.includes("akko-viz-dashboard")));
    });

    it("a trust domain, not marked secret, shows in the certificates' subjects and SANs: the leak check decodes them", async () => {
        const { run } = await runSecret(
            "k3d",
            { "mtls.enabled": true, "identity.trustDomain": `${MARKER}.example` },
            [],
        );
        assert.equal(run.error, undefined, String(run.error));
        const found = leaks(run, [MARKER]);
        assert.ok(
            found.some((f) => f.startsWith("certificate in output certPem")),
            found.join("\n"),
        );
        const names = run.resources.flatMap((r) => leaves(r.state).flatMap(([, text]) => certificateNames(text)));
        assert.ok(
            names.some((n) => n.includes(`CN=identity.linkerd.${MARKER}.example`)),
            names.join("\n"),
        );
    });

    it("the GKE firewall command keeps its shape, the secret values shown as [secret]", async () => {
        const { run } = await runSecret("gke", SCENARIOS[0][2], ["cluster"]);
        const warning = run.warnings.find((w) => w.startsWith("GKE private cluster"));
        assert.match(
            warning ?? "",
            /gcloud compute firewall-rules create \[secret\]-linkerd-webhooks --network \[secret\] .*--source-ranges \[secret\] --target-tags \[secret\] /,
        );
    });
});

describe("a name is never built from a secret value: such a key is refused, naming it (issue 17)", () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
        [
            "mtls",
            "netcup",
            { "mtls.enabled": true, "mtls.namespaces": [`data-${MARKER}`] },
            "akko-mtls:mtls.namespaces[0]",
        ],
        [
            "mtls",
            "eks",
            {
                "mtls.enabled": true,
                "mtls.ingress": { enabled: true, controller: "in-namespace", namespace: `ingress-${MARKER}` },
            },
            "akko-mtls:mtls.ingress.namespace",
        ],
        [
            "certManager",
            "netcup",
            { "mtls.enabled": true, "certManager.namespace": `certs-${MARKER}` },
            "akko-mtls:certManager.namespace",
        ],
        [
            "identity",
            "k3d",
            { "mtls.enabled": true, "identity.trustDomain": `${MARKER}.example` },
            "akko-mtls:identity.trustDomain",
        ],
        [
            "rotationJob",
            "netcup",
            { "mtls.enabled": true, "rotationJob.image": `registry.example.org/${MARKER}/node:24@${DIGEST}` },
            "akko-mtls:rotationJob.image",
        ],
        [
            "linkerd",
            "netcup",
            { "mtls.enabled": true, "linkerd.proxy.resources.memory.limit": `${MARKER.length}00Mi` },
            "akko-mtls:linkerd.proxy.resources.memory.limit",
        ],
        [
            "mtls",
            "netcup",
            {
                "mtls.enabled": true,
                "mtls.networkPolicies": true,
                "mtls.namespaceOptions": { akko: { opaqueIngress: [OPAQUE_RULE] } },
            },
            "akko-mtls:mtls.namespaceOptions.akko.opaqueIngress[0].podSelector.matchLabels.app",
        ],
        [
            "mtls",
            "netcup",
            {
                "mtls.enabled": true,
                "mtls.networkPolicies": true,
                "mtls.namespaceOptions": { akko: { denyEgress: true, opaqueEgress: [OPAQUE_EGRESS] } },
            },
            "akko-mtls:mtls.namespaceOptions.akko.opaqueEgress[0].to[0].ipBlock.cidr",
        ],
        [
            "mtls",
            "eks",
            { "mtls.enabled": true, "mtls.egress": { mode: "enforce", allowedHosts: [`${MARKER}.example.com`] } },
            "akko-mtls:mtls.egress.allowedHosts[0]",
        ],
        [
            "observability",
            "netcup",
            { "mtls.enabled": true, "observability.grafanaDashboards.namespace": `grafana-${MARKER}` },
            "akko-mtls:observability.grafanaDashboards.namespace",
        ],
    ];
    for (const [key, stack, overrides, named] of cases) {
        it(`${named} under a secret ${key}`, async () => {
            const { run, texts } = await runSecret(stack, overrides, [key]);
            assert.ok(run.error instanceof ConfigError, String(run.error));
            assert.deepEqual(
                run.error.problems.map((p) => p.key),
                [named],
            );
            const why =
                key === "identity"
                    ? "is in the subject and SANs of every certificate"
                    : named.includes(".opaque")
                      ? "names Kubernetes objects through a short hash"
                      : /image|resources/.test(named)
                        ? "is in the env of the Pod Security check Job, whose name is a short hash"
                        : "names Kubernetes objects and Pulumi resources";
            assert.match(run.error.message, new RegExp(`${why}.*yet ${key} is marked secret`));
            assert.deepEqual(leaks(run, texts), []);
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
                "nothing registered",
            );
        });
    }

    it("a strict authorization (its Server's name and namespace) under a secret mtls", async () => {
        const authorization = {
            namespace: "akko",
            name: `trino-${MARKER}`,
            podSelector: { app: "trino" },
            port: 8080,
            clients: ["superset.akko.serviceaccount.identity.linkerd.cluster.local"],
        };
        const { run } = await runSecret(
            "netcup",
            { "mtls.enabled": true, "mtls.mode": "strict", "mtls.authorizations": [authorization] },
            ["mtls"],
        );
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.deepEqual(
            run.error.problems.map((p) => p.key),
            ["akko-mtls:mtls.authorizations[0].namespace", "akko-mtls:mtls.authorizations[0].name"],
        );
    });

    it("every key secret at once, names left to the presets: no name, URN or Kubernetes name holds a secret", async () => {
        const overrides = Object.assign({}, ...SCENARIOS.filter(([, stack]) => stack === "netcup").map(([, , o]) => o));
        const keys = ["cluster", "mtls", "linkerd", "identity", "certManager", "viz", "observability", "rotationJob"];
        const { run, texts } = await runSecret("netcup", overrides, keys);
        assert.equal(run.error, undefined, String(run.error));
        assert.deepEqual(leaks(run, texts), []);
    });
});

describe("refusals never show a secret value (issue 17)", () => {
    // Each a bad config under a key marked secret whose message (the rule's, the hint's, zod's) could quote a value.
    const refusals: [string, string, Record<string, unknown>, string[]][] = [
        ["a namespace listed twice", "netcup", { "mtls.namespaces": [`a-${MARKER}`, `a-${MARKER}`] }, ["mtls"]],
        ["an invalid kube context", "netcup", { "cluster.context": `${MARKER} context` }, ["cluster"]],
        ["a kube context set as a number", "netcup", { "cluster.context": 12345 }, ["cluster"]],
        ["a request above its limit", "netcup", { "linkerd.proxy.resources.memory.request": "129Mi" }, ["linkerd"]],
        [
            "a reader that is not an identity of a secret trust domain",
            "eks",
            { "identity.trustDomain": `${MARKER}.example`, "viz.prometheus.readers": { clients: ["grafana"] } },
            ["identity"],
        ],
        [
            "an unmeshed external scraper in strict mode, in a secret namespace",
            "eks",
            {
                "mtls.enabled": true,
                "mtls.mode": "strict",
                "viz.prometheus.mode": "external",
                "viz.prometheus.url": `http://prom-${MARKER}.example.org:9090`,
                "viz.prometheus.alertmanagers": [],
                "viz.prometheus.scraper.namespace": `mon-${MARKER}`,
                "observability.prometheusOperator": true,
            },
            ["viz"],
        ],
        [
            "a URL for the bundled Prometheus",
            "eks",
            { "viz.prometheus.url": `http://prom-${MARKER}.example.org:9090` },
            ["viz"],
        ],
        [
            "a runbook URL with a template",
            "netcup",
            { "observability.runbookUrl": `https://wiki.example.org/{{ $labels.${MARKER} }}` },
            ["observability"],
        ],
        ["a boolean as text", "eks", { "viz.dashboard.ingress.enabled": MARKER }, ["viz"]],
        [
            "an auth annotation that is no forward auth",
            "eks",
            { "viz.dashboard.ingress": { ...INGRESS, authAnnotations: { "example.com/auth": MARKER } } },
            ["viz"],
        ],
        [
            "a client in an unmeshed namespace",
            "netcup",
            {
                "mtls.mode": "strict",
                "mtls.authorizations": [
                    {
                        namespace: "akko",
                        name: "x",
                        podSelector: { a: "b" },
                        port: 1,
                        clients: [`x.${MARKER}.serviceaccount.identity.linkerd.cluster.local`],
                    },
                ],
            },
            ["mtls"],
        ],
        [
            "an image by tag",
            "netcup",
            { "rotationJob.image": `registry.example.org/${MARKER}/node:24` },
            ["rotationJob"],
        ],
        [
            "a Traefik value with a controller in its own namespace",
            "eks",
            { "mtls.ingress.k3sTraefikValues": { token: MARKER } },
            ["mtls"],
        ],
    ];
    for (const [why, stack, overrides, keys] of refusals) {
        it(why, async () => {
            const { run, texts } = await runSecret(stack, { "mtls.enabled": true, ...overrides }, keys);
            assert.ok(run.error instanceof ConfigError, `refused: ${run.error}`);
            assert.deepEqual(leaks(run, texts), []);
        });
    }

    it("a key set without --path under a secret name", async () => {
        const config = {
            ...readStackConfig("netcup"),
            "akko-mtls:viz.dashboard.ingress.host": `dash-${MARKER}.example.org`,
        };
        const run = await runProgram({ stack: "netcup", config, secretKeys: ["akko-mtls:viz.dashboard.ingress.host"] });
        assert.ok(run.error instanceof ConfigError);
        assert.match(
            run.error.message,
            /pulumi config set --secret --path viz\.dashboard\.ingress\.host <value> \(got \[secret\]\)/,
        );
        assert.doesNotMatch(run.error.message, new RegExp(MARKER));
    });
});
