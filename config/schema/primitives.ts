/**
 * Validators shared by several sections of the config: names, quantities, resources, labels,
 * callers, pinned images. Each leaf that uses one gets its own `.describe()` where it is used.
 */
import { z } from "zod";
import { parseQuantity, QUANTITY_PATTERN } from "../../lib/quantity";

export const TARGETS = ["k3d", "k3s", "eks", "gke"] as const;
export type Target = (typeof TARGETS)[number];

/** Targets that are one node: no HA, explicit limits everywhere. */
export const SINGLE_NODE_TARGETS: readonly Target[] = ["k3d", "k3s"];

/** Namespaces that are never meshed workload namespaces. */
export const RESERVED_NAMESPACES = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "linkerd",
    "linkerd-viz",
    "linkerd-cni",
    "linkerd-maintenance",
    "cert-manager",
];

/** 20 years: the longest validity any certificate here may ask for (@pulumi/tls counts hours in a Go duration). */
export const MAX_VALIDITY_HOURS = 24 * 365 * 20;

/** Text that names something: not empty, no leading or trailing whitespace (a blank name is a typo, not a name). */
export const nonBlank = z.string().regex(/^\S(.*\S)?$/s, { message: "must not be empty or start or end with whitespace" });

/** Helm chart versions must be exact: a range would let `pulumi up` pick a new chart on its own. */
export const exactChartVersion = z
    .string()
    .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, { message: "an exact chart version such as 2026.8.3 (no range, no 'latest', no 'v')" });
/** cert-manager's chart versions carry a `v`. */
export const exactVChartVersion = z.string().regex(/^v[0-9]+\.[0-9]+\.[0-9]+$/, { message: "an exact chart version such as v1.21.1 (with the 'v', no range)" });

/** An image reference pinned by digest: a tag alone can be moved under a running CronJob. */
export const imageByDigest = z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9._-]+)*(:[A-Za-z0-9._-]+)?@sha256:[a-f0-9]{64}$/, {
    message: "an image pinned by digest, e.g. docker.io/library/node:24-alpine@sha256:<64 hex>",
});

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes namespace name (RFC 1123 label). */
export const namespaceName = z.string().regex(RFC1123_LABEL, { message: "a namespace name (RFC 1123 label: lower-case letters, digits, '-')" }).max(63);

/** A Kubernetes object name such as a Secret's (RFC 1123 subdomain, at most 253 characters). */
export const objectName = z
    .string()
    .regex(RFC1123_SUBDOMAIN, { message: "a Kubernetes object name (RFC 1123 subdomain: lower-case letters, digits, '-', '.')" })
    .max(253);

/** A DNS host name with at least two labels, each at most 63 characters. */
export const hostName = z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/, { message: "a DNS host name" });

/** An http(s) URL: anything else (`javascript:`, `file:`) is no place for a link or a scrape. */
export const httpUrl = z.url({ protocol: /^https?$/, message: "an http:// or https:// URL" });
/** An https URL (chart repositories). */
export const httpsUrl = z.url({ protocol: /^https$/, message: "an https:// URL" });

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
        if (prefix.length > 253 || !RFC1123_SUBDOMAIN.test(prefix)) return "the prefix before '/' must be a DNS subdomain (lower-case, at most 253 characters)";
    }
    if (name.length === 0) return "the name must not be empty";
    if (name.length > 63) return "the name must be at most 63 characters";
    if (!LABEL_NAME.test(name)) return "the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
    return undefined;
}

/** Why `value` is not a Kubernetes label value, or undefined: empty, or at most 63 of [A-Za-z0-9._-] starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
    if (value === "") return undefined;
    if (value.length > 63) return "a label value is at most 63 characters";
    if (!LABEL_NAME.test(value)) return "a label value is letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)";
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
    for (const [key, value] of Object.entries(map)) {
        const keyProblem = qualifiedNameProblem(key);
        if (keyProblem) ctx.addIssue({ code: "custom", path: [key], message: `is not a valid label key: ${keyProblem}` });
        const valueProblem = labelValueProblem(value);
        if (valueProblem) ctx.addIssue({ code: "custom", path: [key], message: `has an invalid label value: ${valueProblem}` });
    }
});

/** A label selector's `matchLabels`: valid labels, at least one (an empty selector selects every pod). */
export const podSelector = labels.refine((map) => Object.keys(map).length > 0, { message: "must select pods by at least one label" });

/** A map of Kubernetes annotations: keys are qualified names, values any text. */
export const annotations = z.record(z.string(), z.string()).superRefine((map, ctx) => {
    for (const key of Object.keys(map)) {
        const problem = qualifiedNameProblem(key);
        if (problem) ctx.addIssue({ code: "custom", path: [key], message: `is not a valid annotation key: ${problem}` });
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
        if (first !== undefined) ctx.addIssue({ code: "custom", path: [i], message: `repeats item ${first}: list each entry once` });
        else seen.set(key, i);
    });
}

const quantity = z.string().regex(QUANTITY_PATTERN, { message: "a Kubernetes quantity such as 100m, 20Mi or 1Gi" });
const isZero = (q: string) => QUANTITY_PATTERN.test(q) && parseQuantity(q) === 0;

/** One resource of a container: a request, and a limit unless left unlimited. */
function requestAndLimit(resource: "cpu" | "memory") {
    const example = resource === "cpu" ? "cores, or millicores such as 100m" : "bytes, such as 64Mi or 1Gi";
    return z.strictObject({
        request: quantity
            .refine((q) => !isZero(q), { message: "must be more than zero: a container that requests nothing is scheduled anywhere and evicted first" })
            .describe(`${resource === "cpu" ? "CPU" : "Memory"} request (${example}).`),
        limit: quantity
            .refine((q) => !isZero(q), { message: "must be more than zero: a zero limit kills the container (leave it unset for no limit, where allowed)" })
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
export const portList = z.array(portNumber).min(1).superRefine(noRepeats);

/** IPv4 or IPv6 CIDRs, each once. */
export const cidrs = z.array(z.cidrv4().or(z.cidrv6())).min(1).superRefine(noRepeats);

/** ServiceAccount identities, each once (their form is checked against the trust domain by the rules). */
export const identities = z.array(z.string()).min(1).superRefine(noRepeats);

/**
 * Who may call a server that is not one of the platform's (a Prometheus, a Grafana): meshed clients
 * by ServiceAccount identity, or unmeshed ones by network. One of the two: a Linkerd
 * AuthorizationPolicy requires every authentication it names at once.
 */
export const callers = z.strictObject({
    clients: identities.optional().describe("ServiceAccount identities, `<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>`."),
    networks: cidrs.optional().describe("CIDRs of unmeshed callers (a NetworkAuthentication)."),
});
export type Callers = z.output<typeof callers>;

/** A Linkerd ServiceAccount identity in the trust domain: `<sa>.<ns>.serviceaccount.identity.linkerd.<trustDomain>`. */
export function identityPattern(trustDomain: string): RegExp {
    const label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    // Every special character escaped: an invalid trust domain (already reported) must not throw here.
    const domain = trustDomain.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return new RegExp(`^${label}\\.${label}\\.serviceaccount\\.identity\\.linkerd\\.${domain}$`);
}
