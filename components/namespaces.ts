import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaceObject } from "../lib/objects";
import { LINKERD_ANNOTATIONS } from "../lib/registry";

/**
 * The Pod Security level of Linkerd's own namespaces, as the charts' namespace.yaml sets it:
 * `privileged` while linkerd-init (NET_ADMIN, NET_RAW) runs in every pod, `restricted` with the CNI
 * plugin (charts/linkerd-control-plane/templates/namespace.yaml:16-17).
 */
const podSecurity = (cniEnabled: boolean) => (cniEnabled ? "restricted" : "privileged");

/**
 * The Linkerd control-plane namespace, labelled as charts/linkerd-control-plane's
 * namespace.yaml renders it for `linkerd install` (Helm users create it themselves).
 *
 * Created by the mesh before the control plane, because cert-manager objects (issuer
 * Certificate, webhook Certificates) live in it and the control-plane chart waits for them.
 */
export function linkerdNamespace(
    resourceName: string,
    args: { name: string; cniEnabled: boolean },
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Namespace {
    const metadata = namespaceObject({
        name: args.name,
        annotations: { [LINKERD_ANNOTATIONS.inject]: "disabled" },
        labels: {
            "linkerd.io/is-control-plane": "true",
            "config.linkerd.io/admission-webhooks": "disabled",
            "linkerd.io/control-plane-ns": args.name,
            "pod-security.kubernetes.io/enforce": podSecurity(args.cniEnabled),
        },
    });
    return new k8s.core.v1.Namespace(resourceName, metadata, opts);
}

/**
 * The linkerd-viz namespace with the metadata viz's namespace-metadata Job would add
 * (linkerd/linkerd-extension-init: label `linkerd.io/extension: viz`, pod-security as the
 * control plane's, annotation `viz.linkerd.io/external-prometheus`
 * with an external Prometheus). That Job is a Helm post-install hook, which
 * `helm.v4.Chart` does not run; the CLI (`linkerd viz check`) finds viz by this label.
 */
export function vizNamespace(
    resourceName: string,
    args: { name: string; externalPrometheusUrl?: string; cniEnabled: boolean },
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Namespace {
    const metadata = namespaceObject({
        name: args.name,
        labels: { "linkerd.io/extension": "viz", "pod-security.kubernetes.io/enforce": podSecurity(args.cniEnabled) },
        annotations: args.externalPrometheusUrl
            ? { "viz.linkerd.io/external-prometheus": args.externalPrometheusUrl }
            : {},
    });
    return new k8s.core.v1.Namespace(resourceName, metadata, opts);
}

/**
 * The linkerd-multicluster namespace with what the chart's namespace.yaml renders under the CLI only
 * (`{{- if eq .Release.Service "CLI"}}`: label `linkerd.io/extension: multicluster`, pod-security as the
 * control plane's) and its namespace-metadata Job would add — a post-install hook `helm.v4.Chart` does
 * not run. `linkerd multicluster check` finds the extension by this label.
 */
export function multiclusterNamespace(
    resourceName: string,
    args: { name: string; cniEnabled: boolean },
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Namespace {
    const metadata = namespaceObject({
        name: args.name,
        labels: {
            "linkerd.io/extension": "multicluster",
            "pod-security.kubernetes.io/enforce": podSecurity(args.cniEnabled),
        },
    });
    return new k8s.core.v1.Namespace(resourceName, metadata, opts);
}
