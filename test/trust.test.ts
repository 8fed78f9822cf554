/**
 * Who can sign for the mesh. The trust anchor's key must never enter a cluster, and every key that
 * can sign a certificate chaining to it must be reachable only by the identities that need it.
 *
 * Computed, not asserted by hand: from the real charts' RBAC (cert-manager, Linkerd's control plane
 * and viz, rendered with the values the program hands them), the program's own objects (a mock run),
 * Kubernetes' built-in roles and a tenant with `edit` in an application namespace, an RBAC oracle
 * (test/rbac.ts) says who can read each signing key and who can have cert-manager sign with a key
 * that chains to an anchor; the chains themselves are real X.509, verified (test/x509Chain.ts).
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { ofType, ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { WEBHOOK_OBJECTS } from "../lib/registry";
import { KubeObject, RbacModel, serviceAccount, Username } from "./rbac";
import { runStack, runStackOk, STACKS } from "./helpers";
import { renderRegistered, upstream } from "./upstream";
import { certificatesOf, keyMatches, verifyPath } from "./x509Chain";

const TENANT: Username = "tenant@akko";
const CERT_MANAGER_NAMESPACE = "cert-manager";

/** The program's trust anchors: certificate and private key, from the run's tls resources. */
function anchorsOf(run: ProgramRun): { generation: number; cert: crypto.X509Certificate; keyPem: string }[] {
    return ofType(run, "tls:index/selfSignedCert:SelfSignedCert")
        .filter((r) => /^akko-trust-anchor-g\d+-cert$/.test(r.name))
        .map((cert) => {
            const generation = Number(/-g(\d+)-cert$/.exec(cert.name)![1]);
            const key = ofType(run, "tls:index/privateKey:PrivateKey").find(
                (k) => k.name === `akko-trust-anchor-g${generation}-key`,
            )!;
            return {
                generation,
                cert: new crypto.X509Certificate(cert.state.certPem),
                keyPem: key.state.privateKeyPem,
            };
        });
}

/** A registered Kubernetes resource as the object the API server stores. */
function asObject(resource: RecordedResource): KubeObject {
    const kind = resource.type.split(":").pop()!;
    return { ...resource.inputs, kind, metadata: resource.inputs.metadata ?? { name: resource.name } };
}

const secretsOf = (run: ProgramRun) =>
    ofType(run, "kubernetes:core/v1:Secret").map((s) => ({
        namespace: s.inputs.metadata.namespace,
        name: s.inputs.metadata.name,
        data: s.inputs.stringData ?? {},
    }));

/** Whether a Secret's `tls.crt` (+ `ca.crt`) chains to one of the anchors, with `tls.key` its key: a key that signs for the mesh. */
function signsForMesh(data: Record<string, string>, anchors: crypto.X509Certificate[]): boolean {
    if (!data["tls.crt"] || !data["tls.key"]) return false;
    const [leaf, ...rest] = certificatesOf(data["tls.crt"]);
    if (!leaf?.ca || !keyMatches(data["tls.key"], leaf)) return false;
    try {
        verifyPath(leaf, [...rest, ...certificatesOf(data["ca.crt"] ?? "")], anchors);
        return true;
    } catch {
        return anchors.some((a) => a.fingerprint256 === leaf.fingerprint256);
    }
}

interface IssuerRef {
    kind: "Issuer" | "ClusterIssuer";
    namespace?: string;
    name: string;
}

/**
 * Where the mesh's signing keys are in the cluster, and the cert-manager issuers that sign with them:
 * a program Secret whose chain reaches an anchor, or the Secret a Certificate gets from such an issuer
 * (cert-manager writes it in the Certificate's namespace); an Issuer reads its CA Secret in its own
 * namespace, a ClusterIssuer in cert-manager's (cert-manager v1.21.1 ca.go `ResourceNamespace`).
 */
function signingMaterial(run: ProgramRun, anchors = anchorsOf(run).map((a) => a.cert)) {
    const keys = new Map<string, string>(); // "ns/secret" -> what it is
    for (const secret of secretsOf(run))
        if (signsForMesh(secret.data, anchors)) keys.set(`${secret.namespace}/${secret.name}`, `Secret ${secret.name}`);
    const issuers = [
        ...ofType(run, "kubernetes:cert-manager.io/v1:Issuer"),
        ...ofType(run, "kubernetes:cert-manager.io/v1:ClusterIssuer"),
    ].map((r) => ({
        ref: { kind: r.inputs.kind, namespace: r.inputs.metadata.namespace, name: r.inputs.metadata.name },
        secret: r.inputs.spec.ca
            ? `${r.inputs.kind === "Issuer" ? r.inputs.metadata.namespace : CERT_MANAGER_NAMESPACE}/${r.inputs.spec.ca.secretName}`
            : undefined,
    }));
    const certificates = ofType(run, "kubernetes:cert-manager.io/v1:Certificate").map((c) => ({
        namespace: c.inputs.metadata.namespace as string,
        name: c.inputs.metadata.name as string,
        secret: `${c.inputs.metadata.namespace}/${c.inputs.spec.secretName}`,
        issuerRef: c.inputs.spec.issuerRef,
    }));
    const signing = (ref: IssuerRef) =>
        issuers.find(
            (i) =>
                i.ref.kind === ref.kind &&
                i.ref.name === ref.name &&
                (ref.kind === "ClusterIssuer" || i.ref.namespace === ref.namespace),
        );
    // Certificates issued by a signing issuer put a signing key into their Secret, which may back another issuer: to a fixpoint.
    for (let grew = true; grew;) {
        grew = false;
        for (const c of certificates) {
            const issuer = signing({
                kind: c.issuerRef.kind ?? "Issuer",
                namespace: c.namespace,
                name: c.issuerRef.name,
            });
            if (issuer?.secret && keys.has(issuer.secret) && !keys.has(c.secret)) {
                keys.set(c.secret, `Certificate ${c.name}`);
                grew = true;
            }
        }
    }
    const signingIssuers = issuers.filter((i) => i.secret && keys.has(i.secret)).map((i) => i.ref);
    const certificatesFromThem = certificates
        .filter((c) =>
            signingIssuers.some(
                (i) =>
                    i.name === c.issuerRef.name &&
                    i.kind === (c.issuerRef.kind ?? "Issuer") &&
                    (i.kind === "ClusterIssuer" || i.namespace === c.namespace),
            ),
        )
        .map((c) => `${c.namespace}/${c.name}`);
    return { keys, signingIssuers, certificatesFromThem };
}

/** The cluster as RBAC sees it: the charts' objects, the program's, and a tenant editing its own namespace. */
async function clusterOf(context: Mocha.Context, run: ProgramRun): Promise<KubeObject[]> {
    const objects: KubeObject[] = [];
    for (const chart of ofType(run, "kubernetes:helm.sh/v4:Chart")) {
        if (!["cert-manager", "linkerd-control-plane", "linkerd-viz"].includes(chart.inputs.chart)) continue;
        for (const object of await upstream(context, () => renderRegistered(chart))) {
            const clusterScoped =
                /^Cluster|CustomResourceDefinition|Webhook|APIService|Namespace$|ValidatingAdmissionPolicy/.test(
                    object.kind,
                );
            objects.push({
                ...object,
                metadata: {
                    ...object.metadata,
                    namespace: clusterScoped ? undefined : (object.metadata.namespace ?? chart.inputs.namespace),
                },
            });
        }
    }
    for (const resource of run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.read && r.custom))
        objects.push(asObject(resource));
    objects.push({
        kind: "RoleBinding",
        metadata: { name: "tenant-edit", namespace: "akko" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
        subjects: [{ kind: "User", name: TENANT }],
    });
    return objects;
}

/**
 * Every Secret that holds (or will hold) a private key: those the program and the charts write with
 * one (`tls.key`, a PEM key, plain or base64), those cert-manager writes for a Certificate
 * (`spec.secretName`), and cert-manager's webhook serving CA, which its webhook creates at start
 * (v1.21.1 chart templates/webhook-deployment.yaml `--dynamic-serving-ca-secret-name=<fullname>-webhook-ca`).
 */
function keySecrets(objects: KubeObject[]): string[] {
    const holdsKey = (data: Record<string, string> = {}, base64 = false) =>
        Object.entries(data).some(
            ([key, value]) =>
                key.endsWith(".key") ||
                (base64 ? Buffer.from(value, "base64").toString() : value).includes("PRIVATE KEY"),
        );
    const found = new Set([`${CERT_MANAGER_NAMESPACE}/cert-manager-webhook-ca`]);
    for (const o of objects) {
        if (o.kind === "Secret" && (holdsKey(o.stringData) || holdsKey(o.data, true)))
            found.add(`${o.metadata.namespace}/${o.metadata.name}`);
        if (o.kind === "Certificate" && o.spec?.secretName) found.add(`${o.metadata.namespace}/${o.spec.secretName}`);
    }
    return [...found].sort();
}

/**
 * Who can have cert-manager sign with a key that chains to an anchor: make a CertificateRequest (or a
 * Certificate, which cert-manager's controller turns into one) that reaches a signing issuer and is
 * approved. An Issuer serves requests of its own namespace, a ClusterIssuer those of any. cert-manager's
 * approver approves every request and its webhook admits the approval when the approver may `approve`
 * the signer name `issuers.cert-manager.io/<ns>.<name>` or `.../*` (v1.21.1
 * internal/webhook/admission/certificaterequest/approval): the chart grants it for `approveSignerNames`.
 * Creating one's own Issuer over a signing key's Secret counts too.
 */
function obtainers(
    model: RbacModel,
    users: Username[],
    material: ReturnType<typeof signingMaterial>,
    namespaces: string[],
): Map<Username, string[]> {
    const approved = (ref: IssuerRef) => {
        const resource = ref.kind === "Issuer" ? "issuers" : "clusterissuers";
        const names = [
            `${resource}.cert-manager.io/*`,
            ref.kind === "Issuer"
                ? `${resource}.cert-manager.io/${ref.namespace}.${ref.name}`
                : `${resource}.cert-manager.io/${ref.name}`,
        ];
        return users.some((u) =>
            names.some((name) =>
                model.can(u, { verb: "approve", group: "cert-manager.io", resource: "signers", name }),
            ),
        );
    };
    const requests = (user: Username, namespace: string) =>
        ["certificaterequests", "certificates"].some((resource) =>
            model.can(user, { verb: "create", group: "cert-manager.io", resource, namespace }),
        );
    const result = new Map<Username, string[]>();
    for (const ref of material.signingIssuers.filter(approved)) {
        const where = ref.kind === "Issuer" ? [ref.namespace!] : namespaces;
        for (const user of model.closure(users, (u) => where.some((ns) => requests(u, ns)))) {
            result.set(user, [
                ...(result.get(user) ?? []),
                `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`,
            ]);
        }
    }
    for (const key of material.keys.keys()) {
        const [namespace] = key.split("/");
        const ownIssuer = (u: Username) =>
            model.can(u, { verb: "create", group: "cert-manager.io", resource: "issuers", namespace }) &&
            requests(u, namespace);
        for (const user of model.closure(users, ownIssuer))
            result.set(user, [...(result.get(user) ?? []), `own Issuer over ${key}`]);
    }
    return result;
}

/**
 * Keys in the cluster that can sign a certificate the API server trusts for one of Linkerd's or viz's
 * webhooks: for each webhook configuration and the tap APIService (as the charts render them), the
 * CA certificates it trusts — its `caBundle`, or what cainjector injects from a Certificate
 * (`cert-manager.io/inject-ca-from`): its CA Issuer's certificate (the Issuer's Secret holds the key),
 * or the Certificate itself when self-signed (its own Secret) — and every Secret, of the program's or
 * cert-manager's making, that holds such a key.
 */
function webhookSigningKeys(objects: KubeObject[], run: ProgramRun): { webhook: string; secret: string }[] {
    const names = new Set<string>(Object.values(WEBHOOK_OBJECTS).map((o) => o.name));
    const found: { webhook: string; secret: string }[] = [];
    const secrets = secretsOf(run);
    for (const object of objects.filter((o) => names.has(o.metadata.name))) {
        const bundles: string[] =
            object.kind === "APIService"
                ? [object.spec?.caBundle]
                : (object.webhooks ?? []).map((w: any) => w.clientConfig?.caBundle);
        for (const cert of bundles
            .filter(Boolean)
            .flatMap((b) => certificatesOf(Buffer.from(b, "base64").toString("utf8")))) {
            for (const secret of secrets) {
                const key = secret.data["tls.key"];
                if (typeof key === "string" && key.includes("PRIVATE KEY") && keyMatches(key, cert))
                    found.push({ webhook: object.metadata.name, secret: `${secret.namespace}/${secret.name}` });
            }
        }
        const injected = (object.metadata as any).annotations?.["cert-manager.io/inject-ca-from"] as string | undefined;
        if (!injected) continue;
        const [namespace, name] = injected.split("/");
        const certificate = ofType(run, "kubernetes:cert-manager.io/v1:Certificate").find(
            (c) => c.inputs.metadata.namespace === namespace && c.inputs.metadata.name === name,
        );
        if (!certificate) continue;
        const issuer = ofType(run, "kubernetes:cert-manager.io/v1:Issuer").find(
            (i) =>
                i.inputs.metadata.namespace === namespace &&
                i.inputs.metadata.name === certificate.inputs.spec.issuerRef.name,
        );
        if (issuer?.inputs.spec.ca)
            found.push({ webhook: object.metadata.name, secret: `${namespace}/${issuer.inputs.spec.ca.secretName}` });
        else if (issuer?.inputs.spec.selfSigned)
            found.push({ webhook: object.metadata.name, secret: `${namespace}/${certificate.inputs.spec.secretName}` });
    }
    return found;
}

const CERT_MANAGER_CONTROLLER = serviceAccount("cert-manager", "cert-manager");
const CAINJECTOR = serviceAccount("cert-manager", "cert-manager-cainjector");
const DESTINATION = serviceAccount("linkerd", "linkerd-destination");
const IDENTITY = serviceAccount("linkerd", "linkerd-identity");

describe("the trust anchor never enters a cluster (every stack, every rotation phase)", () => {
    const runs: { label: string; run: ProgramRun }[] = [];
    before(async () => {
        for (const stack of STACKS) runs.push({ label: stack, run: await runStackOk(stack, { "mtls.enabled": true }) });
        const previousOutputs = (phase: number) => ({
            trustAnchorRotation: { generation: 1, phase, since: "2026-01-01T00:00:00Z" },
        });
        for (const phase of [1, 2, 3] as const) {
            const run = await runStackOk(
                "netcup",
                { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": phase },
                { previousOutputs: previousOutputs(phase - 1) },
            );
            runs.push({ label: `netcup phase ${phase}`, run });
        }
    });

    it("no Secret the program writes holds an anchor's private key (compared by key material)", () => {
        for (const { label, run } of runs) {
            const anchors = anchorsOf(run);
            assert.ok(anchors.length >= 1, label);
            for (const secret of secretsOf(run)) {
                for (const value of Object.values(secret.data)) {
                    if (typeof value !== "string" || !value.includes("PRIVATE KEY")) continue;
                    for (const anchor of anchors)
                        assert.ok(
                            !keyMatches(value, anchor.cert),
                            `${label}: Secret ${secret.namespace}/${secret.name} holds trust anchor g${anchor.generation}'s key`,
                        );
                }
            }
        }
    });

    it("no ClusterIssuer signs with a key that chains to an anchor; the signing Issuers are namespaced in linkerd", () => {
        for (const { label, run } of runs) {
            const material = signingMaterial(run);
            assert.deepEqual(
                material.signingIssuers.filter((i) => i.kind === "ClusterIssuer"),
                [],
                `${label}: a CA ClusterIssuer chains to the anchor`,
            );
            for (const issuer of material.signingIssuers)
                assert.equal(issuer.namespace, "linkerd", `${label}: ${issuer.name}`);
            if (run.outputs.identityIssuerMode.value === "certManager") {
                assert.deepEqual(
                    material.certificatesFromThem,
                    ["linkerd/linkerd-identity-issuer"],
                    `${label}: the only Certificate they sign`,
                );
            }
        }
    });
});

describe("who can sign for the mesh, computed from the real charts' RBAC and the program's objects", function () {
    this.timeout(120_000);

    describe("certManager mode (netcup)", () => {
        let run: ProgramRun;
        let objects: KubeObject[];
        let model: RbacModel;
        let users: Username[];
        let material: ReturnType<typeof signingMaterial>;
        before(async function () {
            run = await runStackOk("netcup", { "mtls.enabled": true });
            objects = await clusterOf(this, run);
            model = new RbacModel(objects);
            users = model.users([TENANT]);
            material = signingMaterial(run);
        });

        it("the signing keys in the cluster: the intermediate (linkerd) and the identity issuer cert-manager issues from it", () => {
            assert.deepEqual(Object.fromEntries(material.keys), {
                "linkerd/linkerd-intermediate-g1": "Secret linkerd-intermediate-g1",
                "linkerd/linkerd-identity-issuer": "Certificate linkerd-identity-issuer",
            });
            assert.ok(
                users.includes(CERT_MANAGER_CONTROLLER) && users.includes(TENANT) && users.length >= 15,
                users.join(", "),
            );
        });

        it("only cert-manager's controller can have a certificate signed that chains to the anchor; a tenant with `edit` cannot", () => {
            const found = obtainers(model, users, material, ["akko", "linkerd", "cert-manager", "default"]);
            assert.deepEqual([...found.keys()], [CERT_MANAGER_CONTROLLER]);
            assert.deepEqual(found.get(CERT_MANAGER_CONTROLLER), ["Issuer linkerd/linkerd-intermediate-g1"]);
            // The tenant can make requests, in its own namespace, where nothing signs for the mesh.
            assert.ok(
                model.can(TENANT, {
                    verb: "create",
                    group: "cert-manager.io",
                    resource: "certificaterequests",
                    namespace: "akko",
                }),
            );
            assert.ok(
                !model.can(TENANT, {
                    verb: "create",
                    group: "cert-manager.io",
                    resource: "certificaterequests",
                    namespace: "linkerd",
                }),
            );
        });

        it("who can read each signing key: the set Linkerd's and cert-manager's charts grant, and no one else", () => {
            // cert-manager's controller and cainjector read every Secret (ClusterRoles cert-manager-controller-*,
            // cert-manager-cainjector); linkerd-destination reads every Secret in linkerd (Role remote-discovery,
            // for multicluster); linkerd-identity mounts its issuer.
            assert.deepEqual(
                model.secretReaders(users, "linkerd", "linkerd-intermediate-g1"),
                [CERT_MANAGER_CONTROLLER, CAINJECTOR, DESTINATION].sort(),
            );
            assert.deepEqual(
                model.secretReaders(users, "linkerd", "linkerd-identity-issuer"),
                [CERT_MANAGER_CONTROLLER, CAINJECTOR, DESTINATION, IDENTITY].sort(),
            );
        });

        it("the maintenance Jobs may patch the control plane's Deployments, but the restart-only policy keeps them from mounting a Secret", () => {
            const rollout = serviceAccount("linkerd-maintenance", "linkerd-mesh-rollout");
            assert.ok(
                model.can(rollout, {
                    verb: "patch",
                    group: "apps",
                    resource: "deployments",
                    namespace: "linkerd",
                    name: "linkerd-identity",
                }),
            );
            assert.ok(!model.canRunPods(rollout, "linkerd", ["linkerd-identity"]));
            // The oracle can tell: without the policy's binding, that patch right would read the issuer's key.
            const unconfined = new RbacModel(objects.filter((o) => o.kind !== "ValidatingAdmissionPolicyBinding"));
            assert.ok(unconfined.canRunPods(rollout, "linkerd", ["linkerd-identity"]));
            assert.ok(unconfined.secretReaders(users, "linkerd", "linkerd-identity-issuer").includes(rollout));
        });

        it("no key that signs for Linkerd's or viz's webhooks is in the cluster: none for anyone in linkerd or linkerd-viz to read", () => {
            const keys = webhookSigningKeys(objects, run);
            const readers = keys.map(({ webhook, secret }) => {
                const [namespace, name] = secret.split("/");
                return `${webhook}: ${secret}, read by ${model.secretReaders(users, namespace, name).join(", ")}`;
            });
            assert.deepEqual(readers, []);
            // Each webhook trusts the program's CA (its key in Pulumi state), as the charts render it.
            assert.ok(
                objects.some(
                    (o) =>
                        o.metadata.name === "linkerd-proxy-injector-webhook-config" &&
                        o.webhooks[0].clientConfig.caBundle,
                ),
            );
        });

        it("the API check's identity obtains nothing and reads no key", () => {
            const check = serviceAccount("cert-manager", "cert-manager-api-check");
            assert.ok(users.includes(check));
            // Its right stays after the check (a deliberate deviation, docs/admin/rotation.md "Who can sign"), confined to dry runs.
            assert.ok(
                model.can(check, {
                    verb: "create",
                    group: "cert-manager.io",
                    resource: "certificaterequests",
                    namespace: "cert-manager",
                }),
            );
            assert.ok(
                !model.can(check, {
                    verb: "create",
                    group: "cert-manager.io",
                    resource: "certificaterequests",
                    namespace: "linkerd",
                }),
            );
            assert.ok(!obtainers(model, users, material, ["cert-manager", "linkerd"]).has(check));
            const keys = keySecrets(objects);
            assert.ok(keys.length >= 4, keys.join(", "));
            for (const secret of keys) {
                const [namespace, name] = secret.split("/");
                assert.ok(
                    !model.secretReaders(users, namespace, name).includes(check),
                    `the API check reads ${secret}`,
                );
            }
            // The oracle can tell: a Role letting it get Secrets in its namespace makes it read cert-manager's webhook CA key.
            const reading = new RbacModel([
                ...objects,
                {
                    apiVersion: "rbac.authorization.k8s.io/v1",
                    kind: "Role",
                    metadata: { name: "x", namespace: "cert-manager" },
                    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
                },
                {
                    apiVersion: "rbac.authorization.k8s.io/v1",
                    kind: "RoleBinding",
                    metadata: { name: "x", namespace: "cert-manager" },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "x" },
                    subjects: [{ kind: "ServiceAccount", name: "cert-manager-api-check", namespace: "cert-manager" }],
                },
            ]);
            assert.ok(reading.secretReaders(users, "cert-manager", "cert-manager-webhook-ca").includes(check));
        });
    });

    describe("certManager mode mid-rotation (netcup phases 1 and 2: two anchors live)", () => {
        for (const phase of [1, 2] as const) {
            it(`phase ${phase}: only cert-manager's controller can have a certificate signed that chains to either anchor`, async function () {
                const run = await runStackOk(
                    "netcup",
                    { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": phase },
                    {
                        previousOutputs: {
                            trustAnchorRotation: { generation: 1, phase: phase - 1, since: "2026-01-01T00:00:00Z" },
                        },
                    },
                );
                const objects = await clusterOf(this, run);
                const model = new RbacModel(objects);
                const users = model.users([TENANT]);
                const material = signingMaterial(run);
                assert.equal(anchorsOf(run).length, 2, "both anchors are trusted");
                const issuers = material.signingIssuers.map((i) => `${i.kind} ${i.namespace}/${i.name}`).sort();
                // Each anchor's intermediate, namespaced in linkerd: the issuer moves from g1's to g2's in phase 2.
                assert.deepEqual(issuers, [
                    "Issuer linkerd/linkerd-intermediate-g1",
                    "Issuer linkerd/linkerd-intermediate-g2",
                ]);
                const found = obtainers(model, users, material, ["akko", "linkerd", "cert-manager", "default"]);
                assert.deepEqual([...found.keys()], [CERT_MANAGER_CONTROLLER]);
                assert.deepEqual([...found.get(CERT_MANAGER_CONTROLLER)!].sort(), issuers);
                assert.deepEqual(
                    material.certificatesFromThem,
                    ["linkerd/linkerd-identity-issuer"],
                    "the only Certificate they sign",
                );
                for (const key of material.keys.keys()) {
                    const [namespace, name] = key.split("/");
                    assert.ok(!model.secretReaders(users, namespace, name).includes(TENANT), `the tenant reads ${key}`);
                }
            });
        }
    });

    describe("static mode (k3d)", () => {
        it("no Issuer signs for the mesh; the issuer's key is read by linkerd-destination and mounted by identity only", async function () {
            const run = await runStackOk("k3d", { "mtls.enabled": true });
            const objects = await clusterOf(this, run);
            const model = new RbacModel(objects);
            const users = model.users([TENANT]);
            const material = signingMaterial(run);
            assert.deepEqual(Object.fromEntries(material.keys), {
                "linkerd/linkerd-identity-issuer": "Secret linkerd-identity-issuer",
            });
            assert.deepEqual(material.signingIssuers, []);
            assert.deepEqual([...obtainers(model, users, material, ["akko", "linkerd", "default"]).keys()], []);
            assert.deepEqual(
                model.secretReaders(users, "linkerd", "linkerd-identity-issuer"),
                [DESTINATION, IDENTITY].sort(),
            );
            assert.deepEqual(webhookSigningKeys(objects, run), [], "the webhook CA's key stays in Pulumi state");
        });
    });

    describe("a fleet member (netcup, its anchor in the trust stack)", () => {
        it("the fleet anchor's key is in no Secret; only cert-manager's controller can obtain a certificate chaining to it, through the fleet intermediate's Issuer", async function () {
            const trust = await runStackOk("trust", {}, { stacks: { netcup: {}, eks: {}, gke: {} } });
            const run = await runStack(
                "netcup",
                { "identity.trustAnchor.fleetStack": "trust", "mtls.enabled": true },
                { stacks: { trust: trust.outputs } },
            );
            if (run.error) throw run.error;
            const anchorCert = ofType(trust, "tls:index/selfSignedCert:SelfSignedCert").find(
                (r) => r.name === "fleet-trust-anchor-g1-cert",
            )!;
            const anchorKey = ofType(trust, "tls:index/privateKey:PrivateKey").find(
                (r) => r.name === "fleet-trust-anchor-g1-key",
            )!;
            const anchor = new crypto.X509Certificate(anchorCert.state.certPem);
            assert.ok(keyMatches(anchorKey.state.privateKeyPem, anchor));
            for (const secret of secretsOf(run)) {
                for (const value of Object.values(secret.data)) {
                    if (typeof value === "string" && value.includes("PRIVATE KEY"))
                        assert.ok(!keyMatches(value, anchor), `${secret.namespace}/${secret.name}`);
                }
            }
            const objects = await clusterOf(this, run);
            const model = new RbacModel(objects);
            const users = model.users([TENANT]);
            const material = signingMaterial(run, [anchor]);
            assert.deepEqual(Object.fromEntries(material.keys), {
                "linkerd/linkerd-intermediate-fleet-g1": "Secret linkerd-intermediate-fleet-g1",
                "linkerd/linkerd-identity-issuer": "Certificate linkerd-identity-issuer",
            });
            const found = obtainers(model, users, material, ["akko", "linkerd", "cert-manager", "default"]);
            assert.deepEqual([...found.keys()], [CERT_MANAGER_CONTROLLER]);
            assert.deepEqual(found.get(CERT_MANAGER_CONTROLLER), ["Issuer linkerd/linkerd-intermediate-fleet-g1"]);
            assert.deepEqual(
                model.secretReaders(users, "linkerd", "linkerd-intermediate-fleet-g1"),
                [CERT_MANAGER_CONTROLLER, CAINJECTOR, DESTINATION].sort(),
            );
        });
    });
});
