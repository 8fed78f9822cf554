/**
 * The no-bypass admission policy, evaluated with a real CEL engine (@bufbuild/cel) on the pods the
 * API server hands validating admission in an enforced namespace (after the injector): injected pods
 * pass, every way around the proxy is refused, dry runs are not matched.
 */
import { run as celRun } from "@bufbuild/cel";
import { strict as assert } from "node:assert";
import { selects } from "../test/admission";
import { egressBypassPolicy } from "./egressBypass";

const policyOf = (cniEnabled: boolean) => egressBypassPolicy({ namespaces: ["akko"], cniEnabled });

/** The messages of the validations a pod fails (an evaluation error refuses too: failurePolicy Fail). */
function refusals(pod: any, cniEnabled = false): string[] {
    return policyOf(cniEnabled)
        .validations.filter((v) => {
            try {
                return celRun(v.expression, { object: pod }) !== true;
            } catch {
                return true;
            }
        })
        .map((v) => v.message);
}

/** A pod as the injector leaves it (edge-26.8.3, native sidecar, proxy-init without CNI). */
function injected(): any {
    return {
        metadata: {
            name: "spark-driver",
            namespace: "akko",
            annotations: {
                "linkerd.io/inject": "enabled",
                "config.linkerd.io/skip-outbound-ports": "",
                "config.linkerd.io/proxy-metrics-hostname-labels": "true",
            },
        },
        spec: {
            securityContext: { runAsNonRoot: true },
            initContainers: [
                {
                    name: "linkerd-init",
                    securityContext: {
                        capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
                        runAsUser: 65534,
                    },
                },
                {
                    name: "linkerd-proxy",
                    restartPolicy: "Always",
                    securityContext: { runAsUser: 2102, runAsNonRoot: true },
                },
            ],
            containers: [{ name: "spark", securityContext: { runAsUser: 185, capabilities: { drop: ["ALL"] } } }],
        },
    };
}

describe("lib/egressBypass: no way around the proxy where egress is enforced", () => {
    it("admits injected pods, with or without the CNI plugin, and pods with no annotations or security context", () => {
        assert.deepEqual(refusals(injected()), []);
        const cni = injected();
        cni.spec.initContainers.shift();
        assert.deepEqual(refusals(cni, true), []);
        assert.deepEqual(refusals({ metadata: { name: "bare" }, spec: { containers: [{ name: "app" }] } }), []);
    });

    const hostile: [string, (pod: any) => void, RegExp][] = [
        [
            "opts out of injection",
            (p) => (p.metadata.annotations["linkerd.io/inject"] = "disabled"),
            /opt out of the proxy/,
        ],
        [
            "skips an outbound port",
            (p) => (p.metadata.annotations["config.linkerd.io/skip-outbound-ports"] = "443"),
            /skip-outbound-ports/,
        ],
        ["moves the proxy's UID", (p) => (p.metadata.annotations["config.linkerd.io/proxy-uid"] = "1000"), /proxy-uid/],
        ["runs the app as the proxy's UID", (p) => (p.spec.containers[0].securityContext.runAsUser = 2102), /UID 2102/],
        [
            "runs every container as the proxy's UID at pod level",
            (p) => {
                p.spec.securityContext.runAsUser = 2102;
                delete p.spec.containers[0].securityContext;
            },
            /UID 2102/,
        ],
        [
            "adds an init container as the proxy's UID",
            (p) => p.spec.initContainers.push({ name: "setup", securityContext: { runAsUser: 2102 } }),
            /UID 2102/,
        ],
        [
            "debugs as the proxy's UID",
            (p) => (p.spec.ephemeralContainers = [{ name: "debugger", securityContext: { runAsUser: 2102 } }]),
            /UID 2102/,
        ],
        [
            "adds NET_ADMIN to the app",
            (p) => (p.spec.containers[0].securityContext.capabilities.add = ["NET_ADMIN"]),
            /NET_ADMIN/,
        ],
        [
            "adds ALL capabilities",
            (p) => (p.spec.containers[0].securityContext.capabilities.add = ["ALL"]),
            /NET_ADMIN/,
        ],
        ["runs on the host network", (p) => (p.spec.hostNetwork = true), /hostNetwork/],
    ];
    for (const [what, change, message] of hostile) {
        it(`refuses a pod that ${what}`, () => {
            const pod = injected();
            change(pod);
            const refused = refusals(pod);
            assert.equal(refused.length, 1, refused.join("; "));
            assert.match(refused[0], message);
        });
    }

    it("with the CNI plugin, not even linkerd-init may hold NET_ADMIN", () => {
        assert.equal(refusals(injected(), true).length, 1);
    });

    it("matches pod creates and ephemeral containers in the enforced namespaces only, and no dry run", () => {
        const policy = policyOf(false);
        const selector = policy.matchConstraints.namespaceSelector;
        assert.ok(selects(selector, { "kubernetes.io/metadata.name": "akko" }));
        assert.ok(!selects(selector, { "kubernetes.io/metadata.name": "spark" }));
        assert.deepEqual(
            policy.matchConstraints.resourceRules.map((r) => `${r.operations.join()} ${r.resources.join()}`),
            ["CREATE pods", "UPDATE pods/ephemeralcontainers"],
        );
        assert.equal(celRun(policy.matchConditions[0].expression, { request: { dryRun: true } }), false);
        assert.equal(celRun(policy.matchConditions[0].expression, { request: { dryRun: false } }), true);
    });
});
