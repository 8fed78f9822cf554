import { phaseFloor } from "../lib/issuanceLifetime";
import * as pulumi from "@pulumi/pulumi";
import { loadTrustConfig, TrustConfig } from "../config/fleet";
import { bundleSha256, FleetPlan, MemberState, planFleet } from "../lib/fleet";
import { parseRotationRecord, RotationPlan } from "../lib/rotation";
import { TRUST_OUTPUTS, TrustOutputName } from "../lib/stackOutputs";
import { IntermediateCa } from "./intermediateCa";
import { TrustAnchor } from "./trustAnchor";

export interface FleetTrustArgs {
    /** Which anchors exist in the fleet's rotation phase (lib/rotation.ts, through lib/fleet.ts planFleet). */
    rotation: RotationPlan;
    /** The member stacks, each signed an intermediate CA per anchor in the bundle. */
    members: readonly string[];
    /** The trust stack's `identity` settings: anchors' validity and warning, intermediates' validity and renewal, trust domain. */
    identity: TrustConfig["identity"];
}

/** One member's intermediate of one anchor generation, as exported (public part). */
export interface ExportedIntermediate {
    generation: number;
    certPem: string;
    notAfter: string;
}

/** One anchor of the fleet, as exported. */
export interface ExportedAnchor {
    generation: number;
    inBundle: boolean;
    signsIssuer: boolean;
    certPem: string;
    fingerprintSha256: string;
    notAfter: string;
}

/**
 * A fleet's trust (issue 21): the anchors, kept only here, in the trust stack's state (protected,
 * never replaced implicitly: components/trustAnchor.ts), and one intermediate CA per member and per
 * anchor in the bundle (components/intermediateCa.ts: path length 1, bounded validity, re-signed
 * by any `pulumi up` of this stack within `renewBeforeHours` of its expiry). A member never
 * receives an anchor key, only its own intermediates: a member that leaks its keys leaks CAs
 * bounded in time and depth, which sign for it alone.
 */
export class FleetTrust extends pulumi.ComponentResource {
    /** Every anchor the fleet's proxies trust, PEM, one after the other. */
    public readonly trustBundlePem: pulumi.Output<string>;
    /** The anchors, public parts. */
    public readonly anchors: pulumi.Output<ExportedAnchor[]>;
    /** Per member, its intermediates (public parts). */
    public readonly memberIntermediates: pulumi.Output<Record<string, ExportedIntermediate[]>>;
    /** Per member, its intermediates' keys by generation (a Pulumi secret). */
    public readonly memberIntermediateKeys: pulumi.Output<Record<string, Record<string, string>>>;

    constructor(name: string, args: FleetTrustArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:FleetTrust", name, { members: [...args.members] }, opts);
        const { identity } = args;
        const anchors = args.rotation.anchors.map((planned) => ({
            ...planned,
            anchor: new TrustAnchor(
                `${name}-trust-anchor-g${planned.generation}`,
                {
                    validityHours: identity.trustAnchor.validityHours,
                    expiryWarningDays: planned.inBundle ? identity.trustAnchor.expiryWarningDays : 0,
                    allowDeletion: planned.allowDeletion,
                },
                { parent: this },
            ),
        }));
        const inBundle = anchors.filter((a) => a.inBundle);
        this.trustBundlePem = pulumi
            .all(inBundle.map((a) => a.anchor.certPem))
            .apply((pems) => pems.map((p) => p.trim()).join("\n"));
        this.anchors = pulumi.all(
            anchors.map((a) =>
                pulumi
                    .all([a.anchor.certPem, a.anchor.fingerprintSha256, a.anchor.notAfter])
                    .apply(([certPem, fingerprintSha256, notAfter]) => ({
                        generation: a.generation,
                        inBundle: a.inBundle,
                        signsIssuer: a.signsIssuer,
                        certPem,
                        fingerprintSha256,
                        notAfter,
                    })),
            ),
        );

        const perMember = args.members.map((member) => ({
            member,
            intermediates: inBundle.map((a) => ({
                generation: a.generation,
                ca: new IntermediateCa(
                    `${name}-${member}-intermediate-g${a.generation}`,
                    {
                        signedBy: a.anchor,
                        // As a standalone stack names its own (components/mtlsMesh.ts): generation, member, trust domain.
                        commonName: `intermediate-g${a.generation}.${member}.linkerd.${identity.trustDomain}`,
                        validityHours: identity.intermediate.validityHours,
                        renewBeforeHours: identity.intermediate.renewBeforeHours,
                    },
                    { parent: this },
                ),
            })),
        }));
        this.memberIntermediates = pulumi
            .all(
                perMember.map(({ member, intermediates }) =>
                    pulumi
                        .all(
                            intermediates.map((i) =>
                                pulumi
                                    .all([i.ca.certPem, i.ca.notAfter])
                                    .apply(([certPem, notAfter]) => ({ generation: i.generation, certPem, notAfter })),
                            ),
                        )
                        .apply((list) => [member, list] as const),
                ),
            )
            .apply((entries) => Object.fromEntries(entries));
        this.memberIntermediateKeys = pulumi.secret(
            pulumi
                .all(
                    perMember.map(({ member, intermediates }) =>
                        pulumi
                            .all(
                                intermediates.map((i) =>
                                    i.ca.privateKeyPem.apply((key) => [String(i.generation), key] as const),
                                ),
                            )
                            .apply((keys) => [member, Object.fromEntries(keys)] as const),
                    ),
                )
                .apply((entries) => Object.fromEntries(entries)),
        );
        this.registerOutputs({
            trustBundlePem: this.trustBundlePem,
            anchors: this.anchors,
            memberIntermediates: this.memberIntermediates,
            memberIntermediateKeys: this.memberIntermediateKeys,
        });
    }
}

/** An output of a stack reference as a plain value (a secret one too), or undefined when the stack has none. */
async function plainOutput(reference: pulumi.StackReference, name: string): Promise<unknown> {
    const details = await reference.getOutputDetails(name);
    return details.value ?? details.secretValue;
}

/** The fleet's state member by member, as the trust stack exports it and `npm run plan` prints it. */
export function fleetStateOutput(plan: FleetPlan): Record<string, { status: MemberState["status"]; state: string }> {
    return Object.fromEntries(plan.members.map((m) => [m.name, { status: m.state.status, state: m.line }]));
}

/**
 * The trust stack's program (`akko-mtls:target: trust`, index.ts): no cluster, no Kubernetes
 * provider. Reads its own last record and every member's, refuses a phase step the members have not
 * all reached (naming the laggards, before any resource is registered: only the StackReference reads
 * come first), then holds the anchors and signs the members' intermediates.
 */
export async function trustStackProgram(): Promise<Record<TrustOutputName, unknown>> {
    const stack = pulumi.getStack();
    const config = loadTrustConfig(stack);
    const project = `${pulumi.getOrganization()}/${pulumi.getProject()}`;
    const self = new pulumi.StackReference(`${project}/${stack}`);
    const previous = parseRotationRecord(await plainOutput(self, TRUST_OUTPUTS.fleetRotation));
    const previousBundle = await plainOutput(self, TRUST_OUTPUTS.trustBundlePem);
    // Each member's evidence: its `trustAnchorRotation`, which its `pulumi up` settles only once the
    // run's work on the cluster (the rollout Job's proof included) has completed (index.ts).
    const members = await Promise.all(
        config.fleet.clusters.map(async (member) => ({
            name: member,
            record: await plainOutput(
                new pulumi.StackReference(`fleet-member-${member}`, { name: `${project}/${member}` }),
                "trustAnchorRotation",
            ),
        })),
    );
    const plan = planFleet({
        stack,
        settings: {
            ...config.identity.trustAnchor,
            phaseFloor: phaseFloor({
                ...config.identity.trustAnchor,
                issuanceLifetime: config.identity.issuer.issuanceLifetime,
            }),
        },
        previous,
        previousBundleSha256: typeof previousBundle === "string" ? bundleSha256(previousBundle) : undefined,
        members,
        now: new Date(),
    });
    const trust = new FleetTrust("fleet", {
        rotation: plan.rotation,
        members: config.fleet.clusters,
        identity: config.identity,
    });
    return {
        target: config.target,
        fleetRotation: plan.rotation.record,
        fleetMembers: [...config.fleet.clusters],
        trustBundlePem: trust.trustBundlePem,
        trustAnchors: trust.anchors,
        memberIntermediates: trust.memberIntermediates,
        memberIntermediateKeys: trust.memberIntermediateKeys,
        fleetState: fleetStateOutput(plan),
    };
}
