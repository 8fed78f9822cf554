import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AdmissionTarget, admissionRefusals, PodSecurityRefusal } from "../lib/podSecurity";

/** A namespace to read, and the Pulumi name of its read. */
export interface NamespaceRead extends AdmissionTarget {
    resourceName: string;
}

/**
 * The existing namespaces the mesh patches, read before the mesh builds anything else, and the
 * first of two checks that they admit injected pods.
 *
 * Each read is a registration of kind read (a GET through the stack's Kubernetes provider: nothing
 * is written, and a missing namespace fails the run, where a patch would have created it). This
 * check reads each namespace's Pod Security label (lib/podSecurity.ts) and refuses before anything
 * is built: right whenever a label decides. What no label shows (the API server's default level,
 * its exemptions) is decided on the cluster by the second: a Job dry-runs an injected pod in each of
 * {@link injected} before any of them asks for proxies (components/meshMaintenance.ts, podSecurity).
 */
export class NamespaceAdmission {
    /** Each namespace as read, by name: what a patch of it waits for. */
    readonly namespaces: ReadonlyMap<string, k8s.core.v1.Namespace>;
    /** Resolves once every namespace was read and admits injected pods; rejects with a {@link PodSecurityRefusal} (or the failed read). */
    readonly admitted: Promise<void>;
    /**
     * The namespaces this run asks proxies of, each once with the first config key that names it:
     * what the cluster-side check verifies.
     */
    readonly injected: readonly AdmissionTarget[];

    constructor(reads: readonly NamespaceRead[], cniEnabled: boolean, opts: pulumi.CustomResourceOptions) {
        const namespaces = new Map<string, k8s.core.v1.Namespace>();
        for (const read of reads) {
            if (!namespaces.has(read.namespace))
                namespaces.set(read.namespace, k8s.core.v1.Namespace.get(read.resourceName, read.namespace, opts));
        }
        this.namespaces = namespaces;
        const injected = new Map<string, AdmissionTarget>();
        for (const { namespace, key, inject } of reads)
            if (inject && !injected.has(namespace)) injected.set(namespace, { namespace, key, inject });
        this.injected = [...injected.values()];
        this.admitted = Promise.all(
            [...namespaces.entries()].map(async ([name, live]) => [name, await settled(live.metadata.labels)] as const),
        ).then((labels) => {
            const byName = new Map(labels);
            const refusals = admissionRefusals(reads, (name) => byName.get(name) ?? undefined, cniEnabled);
            if (refusals.length > 0) throw new PodSecurityRefusal(refusals);
        });
    }
}

/**
 * An output's value once known: undefined while unknown (a preview that cannot read), a rejection
 * when the registration failed. `promise()` is the Node SDK's own accessor of an Output's value
 * (@pulumi/pulumi 3.270 output.ts `OutputImpl.promise`), left out of its typings.
 */
function settled<T>(output: pulumi.Output<T>): Promise<T | undefined> {
    return (output as unknown as { promise(): Promise<T | undefined> }).promise();
}
