/**
 * How the Kubernetes provider diffs its own configuration, and so whether a change of the
 * provider's inputs replaces every resource it manages: a port of `DiffConfig` and the helpers it
 * calls (pulumi-kubernetes master after v4.32.0, the release line of the 4.34 SDK this project pins:
 * provider/pkg/provider/provider.go `DiffConfig`; util.go `parseKubeconfigString`,
 * `parseKubeconfigPropertyValue`, `getActiveClusterFromConfig`). The engine replaces the provider,
 * and with it every resource that uses it, when DiffConfig names replacement keys
 * (pulumi pkg/resource/deploy/step_generator.go `providerChanged`); a DiffConfig error fails the
 * preview.
 */
import YAML from "yaml";

/** A kubeconfig as client-go holds it: clusters and contexts by name. */
interface Kubeconfig {
    currentContext?: string;
    clusters: Record<string, unknown>;
    contexts: Record<string, { cluster?: string }>;
}

/** The machine the provider runs on: which files exist (path -> content). */
export type Machine = Record<string, string>;

/**
 * util.go parseKubeconfigString: "" is an empty config; an existing path is read; anything else
 * is taken for the kubeconfig's contents, and contents that are not a kubeconfig document are an
 * error (client-go `clientcmd.Load` cannot decode them).
 */
function parseKubeconfig(pathOrContents: string | undefined, machine: Machine): Kubeconfig {
    if (pathOrContents === undefined || pathOrContents === "") return { clusters: {}, contexts: {} };
    const contents = machine[pathOrContents] ?? pathOrContents;
    const document = YAML.parse(contents);
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
        throw new Error(
            `failed to parse kubeconfig: couldn't get version/kind; json parse error (${JSON.stringify(pathOrContents)})`,
        );
    }
    const byName = (list: any[] | undefined, field: string) =>
        Object.fromEntries((list ?? []).map((entry) => [entry.name, entry[field]]));
    return {
        currentContext: document["current-context"],
        clusters: byName(document.clusters, "cluster"),
        contexts: byName(document.contexts, "context"),
    };
}

/** util.go getActiveClusterFromConfig: the cluster of the `context` input, else of the current context. */
function activeCluster(config: Kubeconfig, inputs: ProviderInputs): unknown {
    if (Object.keys(config.clusters).length === 0) return undefined;
    const context = config.contexts[inputs.context ?? config.currentContext ?? ""];
    if (!context) return undefined;
    return config.clusters[inputs.cluster ?? context.cluster ?? ""];
}

export interface ProviderInputs {
    kubeconfig?: string;
    context?: string;
    cluster?: string;
    [key: string]: string | undefined;
}

export interface ConfigDiff {
    changed: string[];
    /** Keys that replace the provider, hence every Kubernetes resource it manages. */
    replaces: string[];
}

/** provider.go DiffConfig, for known inputs and without `clusterIdentifier`; throws where it errors. */
export function diffProviderConfig(olds: ProviderInputs, news: ProviderInputs, machine: Machine): ConfigDiff {
    const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])];
    const changed = keys.filter((key) => (olds[key] ?? null) !== (news[key] ?? null)).sort();
    if (changed.length === 0) return { changed, replaces: [] };
    const oldConfig = parseKubeconfig(olds.kubeconfig, machine);
    const newConfig = parseKubeconfig(news.kubeconfig, machine);
    const replaces = changed.includes("renderYamlToDirectory") ? ["renderYamlToDirectory"] : [];
    const before = activeCluster(oldConfig, olds);
    const after = activeCluster(newConfig, news);
    if (before !== undefined && after !== undefined && JSON.stringify(before) !== JSON.stringify(after)) {
        replaces.push(...["kubeconfig", "context", "cluster"].filter((key) => changed.includes(key)));
    }
    return { changed, replaces };
}
