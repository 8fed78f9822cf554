/**
 * Validators shared by several sections of the config: names, quantities, resources, labels,
 * callers, pinned images. Each leaf that uses one gets its own `.describe()` where it is used.
 */
import { z } from "zod";
import { MAX_VALIDITY_HOURS } from "../../lib/issuerLifetimes";
import { parseQuantity, QUANTITY_PATTERN } from "../../lib/quantity";
import { CERT_MANAGER_NAMESPACE, KUBERNETES_NAMESPACES, NAMESPACES } from "../../lib/registry";

export const TARGETS = ["k3d", "k3s", "eks", "gke"] as const;

/**
 * A stack of this project named in config (a fleet's trust stack, its members): a DNS label, so
 * that it is also a valid part of names derived from it (`fleet-<member>-intermediate-g1`, the
 * intermediate's common name) and one word in the commands the runbooks print.
 */
export const stackName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    message: "a stack name that is a DNS label: lower-case letters, digits and -, at most 63 characters",
});
export type Target = (typeof TARGETS)[number];

/** Targets that are one node: no HA, explicit limits everywhere. */
export const SINGLE_NODE_TARGETS: readonly Target[] = ["k3d", "k3s"];

/** Namespaces that are never meshed workload namespaces: Kubernetes' own, the mesh's (lib/registry.ts), cert-manager's. */
export const RESERVED_NAMESPACES: readonly string[] = [
    ...Object.values(KUBERNETES_NAMESPACES),
    ...Object.values(NAMESPACES),
    CERT_MANAGER_NAMESPACE,
];

export { MAX_VALIDITY_HOURS } from "../../lib/issuerLifetimes";

/**
 * Characters no config text may hold: controls (newline, tab, NUL, ESC, DEL, C1), format characters
 * (bidirectional overrides, zero-width spaces: text that shows other than it reads) and line or
 * paragraph separators. A newline in a value ends up in a command an operator copies, or a YAML text.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Why `text` holds a character no config text may, or undefined. */
export function invisibleProblem(text: string): string | undefined {
    const found = INVISIBLE.exec(text);
    if (!found) return undefined;
    const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    return `must not contain control or invisible characters (found U+${code} at position ${found.index + 1})`;
}

/** A string refined by a check that returns its problem (one message, the first problem found). */
function checkedString(check: (text: string) => string | undefined) {
    return z.string().superRefine((text, ctx) => {
        const problem = check(text);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
}

/** Text a person reads (a Grafana folder): printable, not blank, no leading or trailing whitespace, at most `max` characters. */
export function displayText(max: number) {
    return checkedString((text) => {
        if (!/^\S(.*\S)?$/s.test(text)) return "must not be empty or start or end with whitespace";
        if (text.length > max) return `must be at most ${max} characters`;
        return invisibleProblem(text);
    });
}

/**
 * A kubeconfig context name as the dashboard command (`linkerd viz dashboard --context …`) prints
 * it: letters, digits and `. _ : @ / + = -`, which covers the names k3d, EKS
 * (`arn:aws:eks:…:cluster/name`), GKE (`gke_project_zone_name`) and `user@cluster` contexts give,
 * and nothing a shell would read as more than one word.
 */
export const kubeContext = checkedString((text) => {
    if (text.length === 0 || text.length > 253) return "must be 1 to 253 characters";
    if (!/^[A-Za-z0-9._:@/+=-]+$/.test(text))
        return "a kubeconfig context name: letters, digits and . _ : @ / + = - (no spaces, quotes or shell characters)";
    return undefined;
});

/** A file path (the kubeconfig): a path, not a kubeconfig's contents, without control characters. */
export const filePath = checkedString((text) => {
    if (!/^\S(.*\S)?$/s.test(text)) return "must not be empty or start or end with whitespace";
    if (text.length > 4096) return "must be at most 4096 characters";
    return invisibleProblem(text);
});

/**
 * An absolute path on a node (the CNI plugin's directories, mounted as hostPath volumes): normalized
 * (no `.` or `..` segment, no `//`, no trailing `/`), not the root, and in the characters such paths
 * use, so that the plugin writes where the reader of the config thinks.
 */
export const nodePath = checkedString((text) => {
    if (text === "/") return "must not be the root (/): the plugin writes its files there";
    if (text.length > 255) return "must be at most 255 characters";
    if (
        !/^(\/[A-Za-z0-9._+@-]+)+$/.test(text) ||
        text.split("/").some((segment) => segment === "." || segment === "..")
    ) {
        return "an absolute, normalized path: / then names of letters, digits and . _ + @ -, without . or .. segments, // or a trailing / (k3s: /var/lib/rancher/k3s/agent/etc/cni/net.d)";
    }
    return undefined;
});

/**
 * A Google Cloud resource name (a VPC network): RFC 1035, a lower-case letter first, at most `max`
 * characters (cloud.google.com/compute/docs/naming-resources).
 */
export function gcpName(max: number, why: string) {
    return checkedString((text) =>
        /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(text) && text.length <= max
            ? undefined
            : `a GCP name: lower-case letters, digits and -, starting with a letter and not ending with -, at most ${max} characters (${why})`,
    );
}

/** A GCE network tag: lower-case letters, digits and -, starting and ending with a letter or digit, at most 63 (cloud.google.com/vpc/docs/add-remove-network-tags). */
export const gcpNetworkTag = checkedString((text) =>
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(text)
        ? undefined
        : "a GCE network tag: lower-case letters, digits and -, starting and ending with a letter or digit, at most 63 characters",
);

/** The ranges GKE's control plane may take its /28 from: private (RFC 1918) and shared (RFC 6598) address space. */
const PRIVATE_IPV4 = [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
    ["100.64.0.0", 10],
] as const;

const ipv4Number = (ip: string) => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);

/** Why a CIDR is not a GKE private cluster's control-plane range, or undefined: a /28 network address in private space. */
export function gkeControlPlaneRangeProblem(cidr: string): string | undefined {
    const [ip, bits] = cidr.split("/");
    const allowed =
        "a /28 network in private address space (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10), e.g. 172.16.0.0/28";
    if (Number(bits) !== 28) return `must be ${allowed}: GKE gives its control plane a /28`;
    const address = ipv4Number(ip);
    if (address % 16 !== 0) return `must be ${allowed}: ${ip} is not the first address of its /28`;
    const inside = PRIVATE_IPV4.some(
        ([base, size]) => Math.floor(address / 2 ** (32 - size)) === Math.floor(ipv4Number(base) / 2 ** (32 - size)),
    );
    return inside ? undefined : `must be ${allowed}`;
}

/** Helm chart versions must be exact: a range would let `pulumi up` pick a new chart on its own. */
export const exactChartVersion = z
    .string()
    .max(64)
    .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, {
        message: "an exact chart version such as 2026.8.3 (no range, no 'latest', no 'v')",
    });
/** cert-manager's chart versions carry a `v`. */
export const exactVChartVersion = z
    .string()
    .max(64)
    .regex(/^v[0-9]+\.[0-9]+\.[0-9]+$/, { message: "an exact chart version such as v1.21.1 (with the 'v', no range)" });

/** An image reference pinned by digest: a tag alone can be moved under a running CronJob. */
export const imageByDigest = z
    .string()
    .max(512)
    .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9._-]+)*(:[A-Za-z0-9._-]+)?@sha256:[a-f0-9]{64}$/, {
        message: "an image pinned by digest, e.g. docker.io/library/node:24-alpine@sha256:<64 hex>",
    });

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes namespace name (RFC 1123 label). */
export const namespaceName = z
    .string()
    .regex(RFC1123_LABEL, { message: "a namespace name (RFC 1123 label: lower-case letters, digits, '-')" })
    .max(63);

/** A Kubernetes object name such as a Secret's (RFC 1123 subdomain, at most 253 characters). */
export const objectName = z
    .string()
    .regex(RFC1123_SUBDOMAIN, {
        message: "a Kubernetes object name (RFC 1123 subdomain: lower-case letters, digits, '-', '.')",
    })
    .max(253);

/** A DNS host name with at least two labels, each at most 63 characters. */
export const hostName = z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/, {
        message: "a DNS host name",
    });

/**
 * Why `text` is not a URL this config takes, or undefined: the given schemes only; the characters
 * RFC 3986 allows, written out (no space, quote, brace or control character: the WHATWG parser
 * would silently drop a newline, and `{{` would open a Go template where Prometheus reads the text
 * as one); a host name or IP address; no user or password unless `credentials` (they would be kept
 * in the open, or silently dropped where only host and port are used).
 */
export function urlProblem(text: string, schemes: readonly string[], credentials: boolean): string | undefined {
    const allowed = `a${schemes.length > 1 ? "n" : ""} ${schemes.map((s) => `${s}://`).join(" or ")} URL`;
    if (text.length > 2048) return `${allowed} of at most 2048 characters`;
    if (!/^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/.test(text)) {
        return `${allowed} in the characters RFC 3986 allows (percent-encode anything else: no space, quote, brace or control character)`;
    }
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        return allowed;
    }
    if (!schemes.includes(url.protocol.replace(/:$/, ""))) return allowed;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const dns =
        /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i.test(host) && host.length <= 253;
    if (!dns && !z.ipv4().safeParse(host).success && !z.ipv6().safeParse(host).success)
        return `${allowed} with a host name or IP address`;
    if (!credentials && (url.username !== "" || url.password !== "")) return `${allowed} without a user or password`;
    return undefined;
}

/**
 * A URL schema, checked by {@link urlProblem} on the text as written (zod's `z.url()` hands on the
 * WHATWG parser's normalized text, a newline silently dropped), and typed `URL` in the reference.
 */
function url(schemes: readonly string[], credentials: boolean) {
    return checkedString((text) => urlProblem(text, schemes, credentials)).meta({ kind: "URL" });
}

/** An http(s) URL (a link, an Alertmanager): anything else (`javascript:`, `file:`) is no place for a link or a scrape. */
export const httpUrl = url(["http", "https"], false);
/** An http(s) URL that may carry credentials (a Prometheus behind basic auth: set it with --secret). */
export const httpUrlWithCredentials = url(["http", "https"], true);
/** An https URL (chart repositories). */
export const httpsUrl = url(["https"], false);

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Why `key` is not a Kubernetes qualified name (label or annotation key), or undefined:
 * an optional DNS-subdomain prefix (at most 253) and `/`, then a name of at most 63 of
 * [A-Za-z0-9._-] that starts and ends alphanumeric (apimachinery validation.IsQualifiedName).
 */
export function qualifiedNameProblem(key: string): string | undefined {
    const parts = key.split("/");
    if (parts.length > 2) return "a qualified name has at most one '/' (prefix/name)";
    const [name, prefix] = parts.length === 2 ? [parts[1], parts[0]] : [parts[0], undefined];
    if (prefix !== undefined) {
        if (prefix.length === 0) return "the prefix before '/' must not be empty";
        if (prefix.length > 253 || !RFC1123_SUBDOMAIN.test(prefix))
            return "the prefix before '/' must be a DNS subdomain (lower-case, at most 253 characters)";
    }
    if (name.length === 0) return "the name must not be empty";
    if (name.length > 63) return "the name must be at most 63 characters";
    if (!LABEL_NAME.test(name))
        return "the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
    return undefined;
}

/** Why `value` is not a Kubernetes label value, or undefined: empty, or at most 63 of [A-Za-z0-9._-] starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
    if (value === "") return undefined;
    if (value.length > 63) return "a label value is at most 63 characters";
    if (!LABEL_NAME.test(value))
        return "a label value is letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)";
    return undefined;
}

/** A Kubernetes label key (qualified name). */
export const labelKey = z.string().superRefine((key, ctx) => {
    const problem = qualifiedNameProblem(key);
    if (problem) ctx.addIssue({ code: "custom", message: `is not a valid label key: ${problem}` });
});

/** A Kubernetes label value. */
export const labelValue = z.string().superRefine((value, ctx) => {
    const problem = labelValueProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: `is not a valid label value: ${problem}` });
});

/**
 * A map of Kubernetes labels, each problem reported at the label's own key. (A key schema on the
 * record would abort the parse at the first bad key, hiding every other problem of the config.)
 */
export const labels = z.record(z.string(), z.string()).superRefine((map, ctx) => {
    if (Object.keys(map).length > 64) ctx.addIssue({ code: "custom", message: "must hold at most 64 labels" });
    for (const [key, value] of Object.entries(map)) {
        const keyProblem = qualifiedNameProblem(key);
        if (keyProblem)
            ctx.addIssue({ code: "custom", path: [key], message: `is not a valid label key: ${keyProblem}` });
        const valueProblem = labelValueProblem(value);
        if (valueProblem)
            ctx.addIssue({ code: "custom", path: [key], message: `has an invalid label value: ${valueProblem}` });
    }
});

/** A label selector's `matchLabels`: valid labels, at least one (an empty selector selects every pod). */
export const podSelector = labels.refine((map) => Object.keys(map).length > 0, {
    message: "must select pods by at least one label",
});

/** A map of Kubernetes annotations: keys are qualified names, values any text. */
export const annotations = z.record(z.string(), z.string()).superRefine((map, ctx) => {
    for (const key of Object.keys(map)) {
        const problem = qualifiedNameProblem(key);
        if (problem)
            ctx.addIssue({ code: "custom", path: [key], message: `is not a valid annotation key: ${problem}` });
    }
});

/**
 * Reports each entry of a list that repeats an earlier one, at the repeat's index. The message
 * names the earlier index, not the value (which may belong to a key marked secret).
 */
export function noRepeats<T>(items: readonly T[], ctx: z.RefinementCtx): void {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
        const key = JSON.stringify(item);
        const first = seen.get(key);
        if (first !== undefined)
            ctx.addIssue({ code: "custom", path: [i], message: `repeats item ${first}: list each entry once` });
        else seen.set(key, i);
    });
}

const quantity = z.string().regex(QUANTITY_PATTERN, { message: "a Kubernetes quantity such as 100m, 20Mi or 1Gi" });
const MI = 2 ** 20;

/**
 * The sensible range of each resource, with the reason a value outside it is refused. Memory below
 * the floor OOM-kills a container at start (Linkerd's proxy alone peaks near 26 MB in Linkerd's own
 * benchmark, and requests 20Mi in its HA values); CPU below 1m is finer than Kubernetes counts, and
 * a limit below 10m throttles a container to a standstill; above the ceiling, no component of the
 * mesh needs more, and a request larger than a node is never scheduled.
 */
const BOUNDS = {
    cpu: {
        request: { min: 0.001, max: 64, low: "at least 1m: Kubernetes counts CPU in millicores" },
        limit: { min: 0.01, max: 64, low: "at least 10m: a smaller limit throttles the container to a standstill" },
        high: "at most 64 cores: no component of the mesh needs more, and a request larger than a node is never scheduled",
    },
    memory: {
        request: {
            min: 4 * MI,
            max: 64 * 2 ** 30,
            low: "at least 4Mi: a smaller request reserves nothing, and the pod is evicted first",
        },
        limit: {
            min: 32 * MI,
            max: 64 * 2 ** 30,
            low: "at least 32Mi: below that the container is OOM-killed at start (Linkerd's proxy alone uses 20 to 26 MB)",
        },
        high: "at most 64Gi: no component of the mesh needs more, and a request larger than a node is never scheduled",
    },
} as const;

/** Why a quantity is outside its resource's range, or undefined (a malformed one is reported by the pattern). */
export function quantityBoundsProblem(
    resource: "cpu" | "memory",
    kind: "request" | "limit",
    q: string,
): string | undefined {
    if (!QUANTITY_PATTERN.test(q)) return undefined;
    const value = parseQuantity(q);
    if (value === 0) {
        return kind === "request"
            ? "must be more than zero: a container that requests nothing is scheduled anywhere and evicted first"
            : "must be more than zero: a zero limit kills the container (leave it unset for no limit, where allowed)";
    }
    const bounds = BOUNDS[resource];
    if (value < bounds[kind].min) {
        // 128m of memory is 0.128 bytes: m is milli, Mi is mebi.
        const milli =
            resource === "memory" && q.endsWith("m")
                ? ` (${q} is ${value} bytes: m means milli; write Mi for mebibytes)`
                : "";
        return `must be ${bounds[kind].low}${milli}`;
    }
    if (value > bounds[kind].max) return `must be ${bounds.high}`;
    if (resource === "cpu" && Math.abs(value * 1000 - Math.round(value * 1000)) > 1e-9)
        return "must be a whole number of millicores (1m is the finest CPU unit)";
    return undefined;
}

/** One resource of a container: a request, and a limit unless left unlimited. */
function requestAndLimit(resource: "cpu" | "memory") {
    const example = resource === "cpu" ? "cores, or millicores such as 100m" : "bytes, such as 64Mi or 1Gi";
    const bounded = (kind: "request" | "limit") =>
        quantity.superRefine((q, ctx) => {
            const problem = quantityBoundsProblem(resource, kind, q);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
        });
    return z.strictObject({
        request: bounded("request").describe(`${resource === "cpu" ? "CPU" : "Memory"} request (${example}).`),
        limit: bounded("limit")
            .optional()
            .describe(
                `${resource === "cpu" ? "CPU" : "Memory"} limit (${example}). Unset means no limit (Linkerd's HA values leave the CPU limit empty); ` +
                    "required on single-node targets.",
            ),
    });
}

/** Linkerd's own resource shape (charts/linkerd-control-plane/values.yaml `proxy.resources`). */
export const containerResources = z.strictObject({
    cpu: requestAndLimit("cpu"),
    memory: requestAndLimit("memory"),
});
export type ContainerResources = z.output<typeof containerResources>;

/** A number of hours: a whole number from 1 to 20 years. */
export const hours = z.int().min(1).max(MAX_VALIDITY_HOURS);

export const portNumber = z.int().min(1).max(65535);
/** A list of port numbers, e.g. for Linkerd's opaque or skipped ports: each once. */
export const portList = z.array(portNumber).min(1).max(64).superRefine(noRepeats);

/** IPv4 or IPv6 CIDRs, each once. */
export const cidrs = z.array(z.cidrv4().or(z.cidrv6())).min(1).max(64).superRefine(noRepeats);

/** ServiceAccount identities, each once (their form is checked against the trust domain by the rules). */
export const identities = z.array(z.string().max(253)).min(1).max(64).superRefine(noRepeats);

/**
 * Who may call a server that is not one of the platform's (a Prometheus, a Grafana): meshed clients
 * by ServiceAccount identity, or unmeshed ones by network. One of the two: a Linkerd
 * AuthorizationPolicy requires every authentication it names at once.
 */
export const callers = z.strictObject({
    clients: identities
        .optional()
        .describe(
            "ServiceAccount identities, `<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>`.",
        ),
    networks: cidrs.optional().describe("CIDRs of unmeshed callers (a NetworkAuthentication)."),
});
export type Callers = z.output<typeof callers>;

/** A Linkerd ServiceAccount identity in the trust domain: `<sa>.<ns>.serviceaccount.identity.linkerd.<trustDomain>`. */
export function identityPattern(trustDomain: string): { test(identity: string): boolean } {
    // The trust domain is compared as text, never compiled into a pattern: an invalid one (already
    // reported) must not throw here, whatever its characters or length.
    const suffix = `.serviceaccount.identity.linkerd.${trustDomain}`;
    const names = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    return {
        test: (identity) => identity.endsWith(suffix) && names.test(identity.slice(0, identity.length - suffix.length)),
    };
}
