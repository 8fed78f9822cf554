/**
 * akko-mtls: mutual TLS between every AKKO pod, with Linkerd.
 *
 * Reads the stack config once (a bad config throws before anything is registered),
 * checks the requested steps (rotation phase, mesh transitions) against the last deployment,
 * builds the mesh as one component, and exports its outputs. Private keys are never exported.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, loadConfigSecrets, OMIT, readConfigNamespace } from "./config";
import { isTrustStack } from "./config/fleet";
import { FleetMember } from "./components/fleetMember";
import { trustStackProgram } from "./components/fleetTrust";
import { linkedMembers } from "./components/multicluster";
import { MtlsMesh } from "./components/mtlsMesh";
import { planMesh, readPreviousMesh } from "./lib/meshLifecycle";
import { planWebhookTrust, readPreviousWebhooks } from "./lib/webhookTrust";
import { phaseFloor } from "./lib/issuanceLifetime";
import { parseMemberRecord, planMemberTrust } from "./lib/fleet";
import { READ_BACK_OUTPUTS, StackOutputName, StackOutputValues } from "./lib/stackOutputs";
import { readPreviousDeployment, refusedTransitions, transitionNotices } from "./lib/transitions";

export = async () => {
    // A fleet's trust stack (`target: trust`, issue 21): anchors and intermediates, no cluster.
    if (isTrustStack(readConfigNamespace())) return trustStackProgram();
    const config = loadConfig();
    // Secret config stays secret: in every resource input (one stack-wide transform), in outputs, in messages.
    const secrets = loadConfigSecrets();
    if (secrets.texts.length > 0) pulumi.runtime.registerResourceTransform(secrets.transform());

    // The stack's own last outputs say which rotation phase is deployed and which namespaces
    // are meshed (nothing on a new stack): steps are checked against them.
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const previousOutputs: StackOutputValues = Object.fromEntries(
        await Promise.all(
            READ_BACK_OUTPUTS.map(
                // A secret output (built from a key marked secret) is read as well as a plain one.
                async (key) =>
                    [
                        key,
                        ((details) => details.value ?? details.secretValue)(await self.getOutputDetails(key)),
                    ] as const,
            ),
        ),
    );
    const previousMesh = readPreviousMesh(previousOutputs, config.mtls);
    // Its own anchors, or (a fleet member) its trust stack's, read before anything is planned (lib/fleet.ts).
    const fleetStack = config.identity.trustAnchor.fleetStack;
    const previousTrust = parseMemberRecord(previousOutputs.trustAnchorRotation);
    const joining =
        previousTrust !== undefined && (previousTrust.fleet === undefined || previousTrust.joining !== undefined);
    const fleet =
        fleetStack === undefined
            ? undefined
            : await FleetMember.read("fleet", { fleetStack, member: pulumi.getStack(), joining });
    const rotation = planMemberTrust({
        settings: {
            ...config.identity.trustAnchor,
            phaseFloor: phaseFloor({
                ...config.identity.trustAnchor,
                issuanceLifetime: config.identity.issuer.issuanceLifetime,
            }),
        },
        fleetStack,
        fleet: fleet?.view,
        previous: previousTrust,
        meshRunning: previousMesh.state !== undefined && previousMesh.state.phase !== "off",
        now: new Date(),
    });
    const previous = readPreviousDeployment(previousOutputs, previousMesh.state);
    const refused = refusedTransitions(config, previous);
    if (refused.length > 0) {
        throw new ConfigError(
            refused.map((r) => ({ ...r, value: OMIT })),
            secrets,
            "Refused: a config change that would cut traffic on the running mesh (nothing was deployed)",
        );
    }
    // The members this stack links to, read before anything else is registered; a link they do not allow is refused.
    const linked = await linkedMembers(
        config.multicluster,
        secrets,
        fleet && fleetStack ? { stack: fleetStack, members: fleet.members } : undefined,
    );
    const meshPlan = planMesh(config.mtls, previousMesh.state);
    const webhookTrust = planWebhookTrust(
        readPreviousWebhooks(previousOutputs, previousMesh.state !== undefined && previousMesh.state.phase !== "off"),
        meshPlan.deploy,
    );
    if (previousMesh.assumed) pulumi.log.warn(secrets.redact(previousMesh.assumed));
    for (const notice of transitionNotices(
        config,
        previous,
        !meshPlan.deploy && previous.mesh?.phase !== "off" && previous.mesh !== undefined,
    )) {
        pulumi.log.warn(secrets.redact(notice));
    }

    // Reads the namespaces it will patch and refuses, before building anything else, one whose Pod Security refuses proxies.
    const mesh = await MtlsMesh.create("akko", {
        config,
        rotation,
        mesh: meshPlan,
        secrets,
        webhookTrust,
        linkedMembers: linked,
        fleet: fleet?.anchors,
    });
    // Another run is needed for the webhooks' trust too: the deploy workflow follows meshState.nextRun.
    const meshRecord =
        webhookTrust.nextRun && !meshPlan.record.nextRun
            ? { ...meshPlan.record, nextRun: webhookTrust.nextRun }
            : meshPlan.record;

    const optional = (outputs: Partial<Record<StackOutputName, pulumi.Output<string>>>) =>
        Object.fromEntries(
            Object.entries(outputs)
                .filter(([, value]) => value !== undefined)
                .map(([key, value]) => [key, secrets.guard(value)]),
        );
    return {
        target: config.target,
        mtlsEnabled: config.mtls.enabled,
        // Records of what this run achieved: they take their new value only once the run's work on
        // the cluster has completed. A failed `pulumi up` keeps every previous output (the engine
        // keeps old outputs when the stack's are never registered: pulumi step_executor.go,
        // "finalizingStackOutputs && errored"), so the next run starts from what really happened.
        meshState: mesh.settled(meshRecord),
        trustAnchorRotation: mesh.settled(rotation.record),
        webhookTrust: mesh.settled(webhookTrust.record),
        identityIssuerMode: config.identity.issuer.mode,
        trustAnchorPem: mesh.trustAnchorPem,
        trustAnchorFingerprintSha256: mesh.trustAnchorFingerprintSha256,
        trustAnchorNotAfter: mesh.trustAnchorNotAfter,
        trustBundlePem: mesh.trustBundlePem,
        // Only where they apply: an undefined output would only produce a warning.
        ...optional({
            identityIssuerNotAfter: mesh.identityIssuerNotAfter,
            identityIntermediateNotAfter: mesh.identityIntermediateNotAfter,
            linkerdChartVersion: mesh.linkerdChartVersion,
            certManagerChartVersion: mesh.certManagerChartVersion,
            rotationJobSchedule: mesh.rotationJobSchedule,
            vizDashboard: mesh.vizDashboard,
        }),
        // For the members linking here: the endpoint (plain) and each one's token (secret, never in the open).
        ...(mesh.multicluster?.exported ? { multicluster: mesh.multicluster.exported } : {}),
        ...(mesh.multicluster?.remoteAccessTokens
            ? { multiclusterRemoteAccessTokens: pulumi.secret(mesh.multicluster.remoteAccessTokens) }
            : {}),
    } satisfies StackOutputValues;
};
