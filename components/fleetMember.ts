import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import { z } from "zod";
import { bundleSha256, FLEET_STACK_KEY, FleetView } from "../lib/fleet";
import { parseRotationRecord, RotationError } from "../lib/rotation";
import { TRUST_OUTPUTS } from "../lib/stackOutputs";

/** One anchor of the fleet as a member uses it: the certificate, and this member's intermediate under it. */
export interface FleetAnchorMaterial {
    generation: number;
    certPem: pulumi.Output<string>;
    fingerprintSha256: pulumi.Output<string>;
    notAfter: pulumi.Output<string>;
    intermediate: {
        certPem: pulumi.Output<string>;
        /** A Pulumi secret, from the trust stack's secret output. */
        privateKeyPem: pulumi.Output<string>;
        notAfter: pulumi.Output<string>;
    };
}

export interface FleetMemberArgs {
    /** The trust stack's name (`identity.trustAnchor.fleetStack`). */
    fleetStack: string;
    /** This stack's name: its intermediates are listed under it. */
    member: string;
    /**
     * Whether this stack may still hold its own anchor: it is joining (lib/fleet.ts), its last record
     * being its own anchors' or a join phase. Recorded in the component's inputs, where the policy
     * pack reads it (policy/policies.ts `no-anchor-key-in-fleet-member`).
     */
    joining: boolean;
}

/** What the trust stack exports (components/fleetTrust.ts), as a member reads it back: checked, never assumed. */
const ANCHORS = z.array(
    z.object({ generation: z.number().int(), inBundle: z.boolean(), certPem: z.string(), notAfter: z.string() }),
);
const MEMBER_INTERMEDIATES = z.record(
    z.string(),
    z.array(z.object({ generation: z.number().int(), certPem: z.string(), notAfter: z.string() })),
);
/** Keys by member, then by generation. */
const MEMBER_KEYS = z.record(z.string(), z.record(z.string(), z.unknown()));

/** What a member reads of its fleet before anything is planned. */
interface FleetReading {
    view: FleetView;
    anchors: ReadonlyMap<number, FleetAnchorMaterial>;
    members: readonly string[];
}

/** The trust stack's output is missing or not what its program exports: names the output and the likely cause. */
export class FleetReadError extends RotationError {
    constructor(fleetStack: string, output: string, problem: string) {
        super(FLEET_STACK_KEY, `the trust stack "${fleetStack}" ${problem} (output ${output}; docs/admin/fleet.md)`);
        this.name = "FleetReadError";
    }
}

/**
 * A cluster stack's view of its fleet (issue 21): a StackReference `fleet-trust` to
 * `<organization>/<project>/<fleetStack>` (pulumi/pulumi v3.259.0 pkg/backend/diy/store.go parses
 * that form; Pulumi Cloud uses the real organization, `pulumi.getOrganization()`), the fleet's
 * record and bundle read before anything else is planned, and this member's intermediates.
 *
 * The keys are read with `requireOutput`, so they stay a secret Output end to end (@pulumi/pulumi
 * 3.270.0 stackReference.js marks an output secret when the engine lists it in
 * `secretOutputNames`); `getOutputDetails` would hand back the plaintext. The engine elides secrets
 * it cannot decrypt with only an info message (pkg/resource/deploy/builtins.go readStackReference,
 * "eliding undecryptable secrets"): the member's CI needs the trust stack's secrets provider, and a
 * missing key output fails here, naming it, before any resource is registered.
 */
export class FleetMember extends pulumi.ComponentResource {
    /** The fleet's record and bundle digest, for lib/fleet.ts planMemberTrust. */
    public get view(): FleetView {
        return this.loaded().view;
    }
    /** The fleet's anchors in its bundle, each with this member's intermediate, by generation. */
    public get anchors(): ReadonlyMap<number, FleetAnchorMaterial> {
        return this.loaded().anchors;
    }
    /** The fleet's member stacks, as its trust stack's `fleet.clusters` lists them: the stacks this one may link to. */
    public get members(): readonly string[] {
        return this.loaded().members;
    }

    static async read(
        name: string,
        args: FleetMemberArgs,
        opts?: pulumi.ComponentResourceOptions,
    ): Promise<FleetMember> {
        if (args.fleetStack === args.member) {
            throw new RotationError(
                FLEET_STACK_KEY,
                `names this stack itself: name the fleet's trust stack (a stack with target: trust), e.g. trust`,
            );
        }
        const member = new FleetMember(name, args, opts);
        await member.load(args);
        return member;
    }

    private readonly reference: pulumi.StackReference;
    /** Set once by {@link FleetMember.read}, before the member is handed out. */
    private reading: FleetReading | undefined;

    private loaded(): FleetReading {
        if (!this.reading)
            throw new Error("FleetMember: read before its trust stack was loaded (use FleetMember.read)");
        return this.reading;
    }

    private constructor(name: string, args: FleetMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "akko:mtls:FleetMember",
            name,
            { fleetStack: args.fleetStack, member: args.member, joining: args.joining },
            opts,
        );
        this.reference = new pulumi.StackReference(
            "fleet-trust",
            { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${args.fleetStack}` },
            { parent: this },
        );
    }

    private async load({ fleetStack, member }: FleetMemberArgs): Promise<void> {
        /** An output of the trust stack in the shape its program exports, or a refusal naming it. */
        const parsed = <T>(output: string, schema: z.ZodType<T>, value: unknown): T => {
            const result = schema.safeParse(value);
            if (!result.success) {
                throw new FleetReadError(
                    fleetStack,
                    output,
                    "holds a value this program did not write: deploy it again to rewrite it",
                );
            }
            return result.data;
        };
        const details = async (output: string) => this.reference.getOutputDetails(output);
        const plain = async (output: string): Promise<unknown> => {
            const found = await details(output);
            const value = found.value ?? found.secretValue;
            if (value === undefined)
                throw new FleetReadError(fleetStack, output, "has no such output: deploy it first, and check the name");
            return value;
        };
        const target = await details(TRUST_OUTPUTS.target);
        if (target.value !== "trust") {
            throw new FleetReadError(
                fleetStack,
                TRUST_OUTPUTS.target,
                `is not a trust stack (its target is ${JSON.stringify(target.value ?? null)})`,
            );
        }
        const fleetRotation = await plain(TRUST_OUTPUTS.fleetRotation);
        let record;
        try {
            record = parseRotationRecord(fleetRotation);
        } catch (error) {
            throw new FleetReadError(
                fleetStack,
                TRUST_OUTPUTS.fleetRotation,
                `holds no rotation record this program wrote: ${error instanceof Error ? error.message : String(error)}`,
            );
        }
        if (record === undefined) {
            throw new FleetReadError(fleetStack, TRUST_OUTPUTS.fleetRotation, "has no such output: deploy it first");
        }
        const members = parsed(
            TRUST_OUTPUTS.fleetMembers,
            z.array(z.string()),
            await plain(TRUST_OUTPUTS.fleetMembers),
        );
        const bundle = String(await plain(TRUST_OUTPUTS.trustBundlePem));
        const anchors = parsed(TRUST_OUTPUTS.trustAnchors, ANCHORS, await plain(TRUST_OUTPUTS.trustAnchors));
        const intermediates = parsed(
            TRUST_OUTPUTS.memberIntermediates,
            MEMBER_INTERMEDIATES,
            await plain(TRUST_OUTPUTS.memberIntermediates),
        )[member];
        if (intermediates === undefined) {
            throw new FleetReadError(
                fleetStack,
                TRUST_OUTPUTS.memberIntermediates,
                `signs no intermediate for the stack "${member}": add it to its fleet.clusters and deploy it`,
            );
        }
        // Whether the key output is there, secret, and holds this member's keys: checked before anything is
        // registered. Its value is then read as a secret Output (requireOutput), never into a resource from here.
        const keys = await details(TRUST_OUTPUTS.memberIntermediateKeys);
        if (keys.value !== undefined) {
            throw new FleetReadError(
                fleetStack,
                TRUST_OUTPUTS.memberIntermediateKeys,
                "exports the intermediate keys as a plain output: refusing to use keys that are not secret",
            );
        }
        const allKeys = keys.secretValue === undefined ? undefined : MEMBER_KEYS.safeParse(keys.secretValue).data;
        const ownKeys = allKeys?.[member];
        const missing = anchors
            .filter((a) => a.inBundle && typeof ownKeys?.[String(a.generation)] !== "string")
            .map((a) => a.generation);
        if (keys.secretValue === undefined || missing.length > 0) {
            // A secret the CLI cannot decrypt reaches the program as an empty object (pulumi v3.259.0
            // pkg/backend/secrets.go errorCatchingSecretsManager: "return an empty object"), with only an info
            // message (pkg/resource/deploy/builtins.go readStackReference: "eliding undecryptable secrets").
            throw new FleetReadError(
                fleetStack,
                TRUST_OUTPUTS.memberIntermediateKeys,
                `gave no intermediate key for "${member}"${missing.length > 0 ? ` (generation ${missing.join(", ")})` : ""}: either it was never deployed with ` +
                    "this member listed, or this run cannot decrypt its secrets (Pulumi then hands over an empty value): this stack's deployments need the " +
                    "trust stack's secrets provider (its passphrase or KMS key) and backend",
            );
        }
        const secretKeys = this.reference.requireOutput(TRUST_OUTPUTS.memberIntermediateKeys);
        const material = new Map(
            anchors
                .filter((a) => a.inBundle)
                .map((anchor): [number, FleetAnchorMaterial] => {
                    const intermediate = intermediates.find((i) => i.generation === anchor.generation);
                    if (!intermediate) {
                        throw new FleetReadError(
                            fleetStack,
                            TRUST_OUTPUTS.memberIntermediates,
                            `has no intermediate of generation ${anchor.generation} for "${member}"`,
                        );
                    }
                    return [
                        anchor.generation,
                        {
                            generation: anchor.generation,
                            certPem: pulumi.output(anchor.certPem),
                            fingerprintSha256: pulumi.output(new crypto.X509Certificate(anchor.certPem).fingerprint256),
                            notAfter: pulumi.output(anchor.notAfter),
                            intermediate: {
                                certPem: pulumi.output(intermediate.certPem),
                                privateKeyPem: secretKeys.apply((all) => {
                                    const key = MEMBER_KEYS.safeParse(all).data?.[member]?.[String(anchor.generation)];
                                    if (typeof key !== "string" || key === "")
                                        throw new FleetReadError(
                                            fleetStack,
                                            TRUST_OUTPUTS.memberIntermediateKeys,
                                            `has no key of generation ${anchor.generation} for "${member}"`,
                                        );
                                    return key;
                                }),
                                notAfter: pulumi.output(intermediate.notAfter),
                            },
                        },
                    ];
                }),
        );
        this.reading = {
            view: { stack: fleetStack, record, bundleSha256: bundleSha256(bundle) },
            anchors: material,
            members,
        };
        this.registerOutputs({ fleetStack, member });
    }
}
