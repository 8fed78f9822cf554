/**
 * certManager issuer mode: cert-manager installed and proven ready before any Issuer,
 * the identity issuer and webhook certificates as cert-manager objects that validate
 * against the pinned CRDs, and one dependency graph where nothing waits that need not.
 */
import { run as celRun } from "@bufbuild/cel";
import { strict as assert } from "node:assert";
import { dependsOn, ofType, one, ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { asObject, assertValid, schemasFor } from "./crdSchemas";
import { runStackOk, secretData, trustRootsOf } from "./helpers";
import { certificatesOf, issueAsCertManagerCa, linkerdCheckIdentity, linkerdLoadsIssuer } from "./x509Chain";

const CHART = "kubernetes:helm.sh/v4:Chart";
const ISSUER = "kubernetes:cert-manager.io/v1:Issuer";
const CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer";
const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";

describe("cert-manager issuer mode", () => {
    let run: ProgramRun;
    let controlPlane: RecordedResource;
    before(async () => {
        run = await runStackOk("netcup", { "mtls.enabled": true });
        controlPlane = one(run, CHART, "akko-linkerd-control-plane");
    });

    it("is the preset on netcup, eks and gke; k3d keeps the static issuer", async () => {
        for (const stack of ["netcup", "eks", "gke"]) {
            const r = await runStackOk(stack, { "mtls.enabled": true });
            assert.equal(r.outputs.identityIssuerMode.value, "certManager", stack);
        }
        const k3d = await runStackOk("k3d", { "mtls.enabled": true });
        assert.equal(k3d.outputs.identityIssuerMode.value, "static");
        assert.deepEqual(ofType(k3d, CERTIFICATE), []);
    });

    it("installs the official cert-manager chart v1.21.1 with its CRDs", () => {
        const chart = one(run, CHART, "akko-cert-manager-chart");
        assert.equal(chart.inputs.chart, "cert-manager");
        assert.equal(chart.inputs.version, "v1.21.1");
        assert.equal(chart.inputs.repositoryOpts.repo, "https://charts.jetstack.io");
        assert.equal(chart.inputs.namespace, "cert-manager");
        assert.deepEqual(chart.inputs.values.crds, { enabled: true, keep: true });
        assert.equal(chart.inputs.values.startupapicheck.enabled, false, "a Helm hook: replaced by the API check Job");
    });

    it("waits for cert-manager's API to really accept objects before any Issuer (pulumi-kubernetes#2674)", () => {
        const check = one(run, "kubernetes:batch/v1:Job", "akko-cert-manager-api-check");
        const container = check.inputs.spec.template.spec.containers[0];
        assert.equal(container.image, "quay.io/jetstack/cert-manager-startupapicheck:v1.21.1");
        assert.deepEqual(container.args, ["check", "api", "--wait=4m"]);
        assert.ok(dependsOn(run, check, one(run, CHART, "akko-cert-manager-chart")), "the check runs after the chart");
        for (const issuer of [...ofType(run, ISSUER), ...ofType(run, CLUSTER_ISSUER)]) {
            assert.ok(dependsOn(run, issuer, check), `${issuer.name} waits for the API check`);
        }
        const role = one(run, "kubernetes:rbac.authorization.k8s.io/v1:Role", "akko-cert-manager-api-check");
        assert.deepEqual(role.inputs.rules, [
            { apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["create"] },
        ]);
        // Where the chart runs its own check: cert-manager's namespace, never the control plane's, where the intermediate's Issuer signs.
        assert.equal(role.inputs.metadata.namespace, "cert-manager");
        assert.equal(check.inputs.metadata.namespace, "cert-manager");
    });

    it("the API check's identity may only dry-run: a ValidatingAdmissionPolicy, evaluated with CEL on allowed and hostile requests", () => {
        const vap = one(
            run,
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
            "akko-cert-manager-api-check-dry-run-only",
        );
        const binding = one(
            run,
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
            "akko-cert-manager-api-check-dry-run-only",
        );
        assert.deepEqual(binding.inputs.spec, {
            policyName: "akko-mtls-api-check-dry-run-only",
            validationActions: ["Deny"],
        });
        const spec = vap.inputs.spec;
        assert.equal(spec.failurePolicy, "Fail");
        assert.deepEqual(spec.matchConstraints.resourceRules, [
            { apiGroups: ["cert-manager.io"], apiVersions: ["*"], operations: ["*"], resources: ["*", "*/*"] },
        ]);
        const account = "system:serviceaccount:cert-manager:cert-manager-api-check";
        /** The API server's verdict: the policy applies when every match condition holds, and then denies unless every validation holds. */
        const request = (username: string, operation: string, dryRun: boolean, resource = "certificaterequests") => ({
            userInfo: { username },
            operation,
            dryRun,
            resource: { group: "cert-manager.io", version: "v1", resource },
        });
        type AdmissionRequest = ReturnType<typeof request>;
        const admitted = (request: AdmissionRequest) =>
            !spec.matchConditions.every((c: { expression: string }) => celRun(c.expression, { request }) === true) ||
            spec.validations.every((v: { expression: string }) => celRun(v.expression, { request }) === true);
        // What `cmctl check api` sends (cert-manager v1.21.1 pkg/util/cmapichecker: DryRun creates).
        assert.ok(admitted(request(account, "CREATE", true)), "the check's dry-run create");
        const hostile: [string, AdmissionRequest][] = [
            ["a real CertificateRequest (with its stolen token)", request(account, "CREATE", false)],
            ["a real Certificate", request(account, "CREATE", false, "certificates")],
            ["an update of a request's status", request(account, "UPDATE", false, "certificaterequests/status")],
            ["a deletion", request(account, "DELETE", false)],
        ];
        for (const [why, r] of hostile) assert.equal(admitted(r), false, why);
        // Nobody else is concerned: cert-manager's own controller creates real requests.
        assert.ok(admitted(request("system:serviceaccount:cert-manager:cert-manager", "CREATE", false)));
        assert.ok(
            admitted(request("system:serviceaccount:linkerd:cert-manager-api-check", "CREATE", false)),
            "only this namespace's identity",
        );
        // The identity gets its right only once the policy is there.
        const roleBinding = one(
            run,
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            "akko-cert-manager-api-check",
        );
        assert.ok(dependsOn(run, roleBinding, binding));
    });

    it("identity issuer: Certificate linkerd-identity-issuer, CA, ECDSA P-256, 48 h, renewed 25 h before, new key each time", () => {
        const certificate = one(run, CERTIFICATE, "akko-identity-issuer-certificate");
        assert.equal(certificate.inputs.metadata.name, "linkerd-identity-issuer");
        assert.equal(certificate.inputs.metadata.namespace, "linkerd");
        assert.deepEqual(certificate.inputs.spec, {
            secretName: "linkerd-identity-issuer",
            duration: "48h0m0s",
            renewBefore: "25h0m0s",
            issuerRef: { name: "linkerd-intermediate-g1", kind: "Issuer", group: "cert-manager.io" },
            commonName: "identity.linkerd.cluster.local",
            dnsNames: ["identity.linkerd.cluster.local"],
            isCA: true,
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
        });
        // A namespaced Issuer beside the Certificate: it signs only for requests made in linkerd.
        const intermediateIssuer = one(run, ISSUER, "akko-identity-issuer-intermediate-g1");
        assert.deepEqual(intermediateIssuer.inputs.spec, { ca: { secretName: "linkerd-intermediate-g1" } });
        assert.equal(intermediateIssuer.inputs.metadata.namespace, "linkerd");
        assert.deepEqual(ofType(run, CLUSTER_ISSUER), [], "no ClusterIssuer at all");
        const secret = one(run, "kubernetes:core/v1:Secret", "akko-identity-issuer-intermediate-g1");
        assert.equal(secret.inputs.type, "kubernetes.io/tls");
        assert.equal(secret.inputs.metadata.namespace, "linkerd");
        assert.deepEqual(Object.keys(secret.inputs.stringData).sort(), ["ca.crt", "tls.crt", "tls.key"]);
        assert.ok(
            secret.secretPaths.some((p) => p === "stringData" || p === "stringData.tls.key"),
            "the intermediate key is a secret",
        );
    });

    it("what cert-manager's CA issuer writes from the intermediate: issuer + intermediate, ca.crt the anchor; identity loads it, linkerd check passes", async () => {
        const certificate = one(run, CERTIFICATE, "akko-identity-issuer-certificate").inputs.spec;
        const request = { commonName: certificate.commonName, isCA: certificate.isCA, durationHours: 48 };
        const caSecret = secretData(run, "linkerd-intermediate-g1", "linkerd");
        const issued = await issueAsCertManagerCa(caSecret, request);
        const [issuer, intermediate] = certificatesOf(issued["tls.crt"]);
        assert.equal(certificatesOf(issued["tls.crt"]).length, 2);
        assert.equal(intermediate.subject, "CN=intermediate-g1.netcup.linkerd.cluster.local");
        assert.equal(
            issued["ca.crt"].trim(),
            trustRootsOf(run).trim(),
            "ca.crt: the anchor, what linkerd check verifies against",
        );
        assert.equal(linkerdLoadsIssuer(issued["tls.crt"], issued["tls.key"], trustRootsOf(run)).length, 3);
        assert.deepEqual(linkerdCheckIdentity(issued), []);
        assert.ok(issuer.ca);
        // Why the intermediate's Secret carries ca.crt: without it cert-manager ends the chain at the intermediate and
        // writes it as ca.crt, so `linkerd check` would verify the issuer against the intermediate, not the anchor.
        const { "ca.crt": _anchor, ...withoutCa } = caSecret;
        const bare = await issueAsCertManagerCa(withoutCa, request);
        assert.equal(certificatesOf(bare["ca.crt"])[0].subject, "CN=intermediate-g1.netcup.linkerd.cluster.local");
    });

    it("Linkerd reads the issuer from cert-manager's Secret and waits for the Certificate to be Ready", () => {
        assert.deepEqual(controlPlane.inputs.values.identity.issuer, { scheme: "kubernetes.io/tls" });
        const certificate = one(run, CERTIFICATE, "akko-identity-issuer-certificate");
        assert.equal(certificate.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
        assert.ok(dependsOn(run, controlPlane, certificate));
        for (const resource of [...ofType(run, ISSUER), ...ofType(run, CERTIFICATE)]) {
            assert.equal(resource.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Ready", resource.name);
        }
    });

    it("webhook certificates come from the program's webhook CA, not cert-manager: external Secrets + its bundle, nothing generated per render", () => {
        const ca = one(run, "tls:index/selfSignedCert:SelfSignedCert", "akko-linkerd-webhooks-ca");
        for (const [key, service] of [
            ["proxyInjector", "linkerd-proxy-injector"],
            ["profileValidator", "linkerd-sp-validator"],
            ["policyValidator", "linkerd-policy-validator"],
        ]) {
            const { namespaceSelector, ...tls } = controlPlane.inputs.values[key];
            assert.deepEqual(tls, { externalSecret: true, caBundle: ca.state.certPem });
            assert.ok(key !== "proxyInjector" || namespaceSelector);
            const secret = one(run, "kubernetes:core/v1:Secret", `akko-linkerd-webhooks-${service}-secret`);
            assert.equal(secret.inputs.metadata.name, `${service}-k8s-tls`, "the Secret the chart mounts");
            assert.equal(
                secret.inputs.metadata.annotations["pulumi.com/patchForce"],
                "true",
                "taken over from cert-manager on a stack it served",
            );
            assert.ok(dependsOn(run, controlPlane, secret), `control plane waits for ${service}`);
        }
        assert.equal(
            ca.inputs.earlyRenewalHours,
            0,
            "the bundle in the chart values never changes before the CA's end",
        );
        assert.deepEqual(
            ofType(run, CERTIFICATE).map((c) => c.name),
            ["akko-identity-issuer-certificate"],
            "cert-manager issues the identity issuer only",
        );
    });

    it("every Certificate, Issuer and ClusterIssuer validates against cert-manager v1.21.1's CRD schemas", async function () {
        const schemas = await schemasFor(this);
        const certificates = ofType(run, CERTIFICATE);
        const issuers = [...ofType(run, ISSUER), ...ofType(run, CLUSTER_ISSUER)];
        // linkerd: the identity issuer (the webhooks' certificates are the program's).
        assert.equal(certificates.length, 1);
        // linkerd: the intermediate CA's Issuer.
        assert.equal(issuers.length, 1);
        for (const object of [...certificates, ...issuers]) await assertValid(schemas, asObject(object), object.name);
    });

    it("the schema check catches a wrong field", async function () {
        const schemas = await schemasFor(this);
        const certificate = structuredClone(asObject(one(run, CERTIFICATE, "akko-identity-issuer-certificate"))) as any;
        certificate.spec.privateKey.rotationPolicy = "Sometimes";
        await assert.rejects(assertValid(schemas, certificate, "x"), /rotationPolicy|allowed values/);
        const typo = structuredClone(asObject(one(run, CERTIFICATE, "akko-identity-issuer-certificate"))) as any;
        typo.spec.renewbefore = "25h";
        await assert.rejects(assertValid(schemas, typo, "x"), /additional properties/);
    });

    it("one graph, nothing waits that need not", () => {
        const crds = one(run, CHART, "akko-linkerd-crds");
        const certManagerChart = one(run, CHART, "akko-cert-manager-chart");
        const check = one(run, "kubernetes:batch/v1:Job", "akko-cert-manager-api-check");
        const intermediateSecret = one(run, "kubernetes:core/v1:Secret", "akko-identity-issuer-intermediate-g1");
        const cronJob = one(run, "kubernetes:batch/v1:CronJob", "akko-maintenance-cronjob");
        assert.ok(dependsOn(run, controlPlane, check) && dependsOn(run, controlPlane, crds));
        assert.ok(dependsOn(run, cronJob, controlPlane), "the rotation CronJob comes after the control plane");
        assert.ok(!dependsOn(run, crds, certManagerChart), "Linkerd's CRDs install beside cert-manager");
        assert.ok(!dependsOn(run, intermediateSecret, check), "a Secret needs no cert-manager webhook");
        assert.ok(!dependsOn(run, certManagerChart, controlPlane) && !dependsOn(run, check, controlPlane), "no cycle");
    });

    it("certManager.install: false uses the existing installation, still proven ready", async () => {
        const existing = await runStackOk("netcup", { "mtls.enabled": true, "certManager.install": false });
        assert.equal(ofType(existing, CHART).filter((c) => c.inputs.chart === "cert-manager").length, 0);
        assert.deepEqual(
            ofType(existing, "kubernetes:core/v1:Namespace")
                .map((n) => n.inputs.metadata.name)
                .sort(),
            ["linkerd", "linkerd-maintenance", "linkerd-viz"],
            "no cert-manager namespace",
        );
        const check = one(existing, "kubernetes:batch/v1:Job", "akko-cert-manager-api-check");
        for (const issuer of ofType(existing, ISSUER)) assert.ok(dependsOn(existing, issuer, check));
    });

    it("HA cert-manager on eks and gke", async () => {
        const values = one(await runStackOk("eks", { "mtls.enabled": true }), CHART, "akko-cert-manager-chart").inputs
            .values;
        assert.equal(values.replicaCount, 2);
        assert.equal(values.webhook.replicaCount, 3);
        assert.equal(values.cainjector.replicaCount, 2);
        assert.equal(values.podDisruptionBudget.enabled, true);
        assert.equal(run.resources.find((r) => r.name === "akko-cert-manager-chart")!.inputs.values.replicaCount, 1);
    });
});
