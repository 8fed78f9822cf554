/** Shared test helpers: running stacks under mocks, reading what they registered. */
import { WEBHOOK_OBJECTS } from "../lib/registry";
import {
    clusterStackNames,
    defaultCluster,
    FakeCluster,
    ProgramRun,
    readStack,
    runProgram,
    RunOptions,
    setConfigPath,
    stackNames,
} from "../tools/mockRuntime";

/** The cluster stacks (every stack file but the fleet's trust stack, which has no cluster). */
export const STACKS = clusterStackNames();

/** The fleet's trust stack files (`akko-mtls:target: trust`). */
export const TRUST_STACKS = stackNames().filter((stack) => !STACKS.includes(stack));

/** How a test runs the program, beyond the stack file and its overrides. */
export type StackRunOptions = Omit<RunOptions, "stack" | "config" | "program">;

/** Runs a stack file's config with `--path` overrides, e.g. `{ "mtls.enabled": true }`. */
export async function runStack(
    stack: string,
    overrides: Record<string, unknown> = {},
    options: StackRunOptions = {},
): Promise<ProgramRun> {
    const file = readStack(stack);
    let config = file.config;
    for (const [key, value] of Object.entries(overrides)) config = setConfigPath(config, key, value);
    return runProgram({ stack, config, secretKeys: file.secretKeys, ...options });
}

/**
 * Runs of a stack file with overrides and no state, shared between tests: the program is
 * deterministic for them, and tests only read runs. Keeps the suite well under a minute.
 */
const sharedRuns = new Map<string, Promise<ProgramRun>>();

/** Like {@link runStack}, but fails the test if the program threw. */
export async function runStackOk(
    stack: string,
    overrides: Record<string, unknown> = {},
    options: StackRunOptions = {},
): Promise<ProgramRun> {
    const fresh = Object.values(options).some((value) => value !== undefined);
    const key = JSON.stringify([stack, overrides]);
    let pending = fresh ? undefined : sharedRuns.get(key);
    if (!pending) {
        pending = runStack(stack, overrides, options);
        if (!fresh) sharedRuns.set(key, pending);
    }
    const run = await pending;
    if (run.error) throw run.error;
    return run;
}

/** Every leaf path of a plain object, dotted (`proxy.resources.cpu.request`). */
export function leafPaths(value: unknown, prefix: string[] = []): string[] {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
        return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
    }
    return [prefix.join(".")];
}

/** The trust bundle the program gives the cluster (ConfigMap linkerd-identity-trust-roots). */
export function trustRootsOf(run: ProgramRun): string {
    const configMap = run.resources.find(
        (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata?.name === "linkerd-identity-trust-roots",
    );
    if (!configMap) throw new Error(`${run.stack}: no trust-roots ConfigMap`);
    return configMap.inputs.data["ca-bundle.crt"];
}

/** A Secret's stringData by its Kubernetes name (and namespace). */
export function secretData(run: ProgramRun, name: string, namespace?: string): Record<string, string> {
    const secret = run.resources.find(
        (r) =>
            r.type === "kubernetes:core/v1:Secret" &&
            r.inputs.metadata?.name === name &&
            (namespace === undefined || r.inputs.metadata?.namespace === namespace),
    );
    if (!secret) throw new Error(`${run.stack}: no Secret ${namespace ?? "*"}/${name}`);
    return secret.inputs.stringData;
}

/** A strict-mode mesh of two AKKO namespaces with the three kinds of authorization: ServiceAccount clients, a named port, a probe network. */
export const STRICT = {
    "mtls.enabled": true,
    "mtls.namespaces": ["akko", "spark"],
    "mtls.mode": "strict",
    "mtls.authorizations": [
        {
            namespace: "akko",
            name: "trino",
            podSelector: { "app.kubernetes.io/name": "trino" },
            port: 8080,
            proxyProtocol: "HTTP/1",
            serviceAccount: "trino",
            clients: [
                "spark.spark.serviceaccount.identity.linkerd.cluster.local",
                "superset.akko.serviceaccount.identity.linkerd.cluster.local",
            ],
        },
        {
            namespace: "spark",
            name: "spark-connect",
            podSelector: { "app.kubernetes.io/name": "spark-connect" },
            port: "grpc",
            clients: ["jupyter.akko.serviceaccount.identity.linkerd.cluster.local"],
        },
        {
            // Its gRPC health probe: kubelet is not meshed, and Linkerd authorizes only httpGet probes itself.
            namespace: "spark",
            name: "spark-connect-health",
            podSelector: { "app.kubernetes.io/name": "spark-connect" },
            port: 15002,
            networks: ["10.42.0.0/16"],
        },
    ],
};

/**
 * A cluster whose webhooks cert-manager served (the layout before issue 18): every webhook
 * configuration and the tap APIService carry `caPem` as the bundle cainjector wrote.
 */
export function clusterServedByCertManager(caPem: string, viz = true): FakeCluster {
    const cluster = defaultCluster();
    const caBundle = Buffer.from(caPem).toString("base64");
    for (const [key, object] of Object.entries(WEBHOOK_OBJECTS)) {
        if (!viz && (key === "tap" || key === "tapInjector")) continue;
        const metadata = { name: object.name, annotations: { "cert-manager.io/inject-ca-from": "x/y" } };
        if (object.kind === "APIService") {
            cluster.objects[`kubernetes:apiregistration.k8s.io/v1:APIService::${object.name}`] = {
                metadata,
                spec: { caBundle },
            };
        } else {
            cluster.objects[`kubernetes:admissionregistration.k8s.io/v1:${object.kind}::${object.name}`] = {
                metadata,
                webhooks: [{ name: `${key}.linkerd.io`, clientConfig: { caBundle } }],
            };
        }
    }
    return cluster;
}

/** The flags of `pulumi stack output` that take a value (pulumi `pulumi stack output --help`). */
const STACK_OUTPUT_VALUE_FLAGS = new Set(["--stack", "-s", "--color", "--cwd", "-C"]);

/**
 * The output each `pulumi stack output` command of a text names, in order: its first operand
 * (`pulumi stack output meshState --json --stack netcup` names `meshState`), or `undefined` for a
 * command that prints every output. An operand that is not a literal name (`"$NAME"`) is given as
 * written, so that a check against the output list refuses it.
 */
export function stackOutputsNamed(text: string): (string | undefined)[] {
    return [...text.matchAll(/pulumi stack output\b([^\n|;&)`<>]*)/g)].map(([, rest]) => {
        const words = rest.trim().split(/\s+/).filter(Boolean);
        for (let i = 0; i < words.length; i++) {
            if (words[i].startsWith("-")) {
                if (STACK_OUTPUT_VALUE_FLAGS.has(words[i])) i++;
                continue;
            }
            return words[i].replace(/^(["'])(.*)\1$/, "$2");
        }
        return undefined;
    });
}
