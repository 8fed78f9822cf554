/**
 * The whole configuration contract: the shape (`config/schema`), every cross-key rule
 * (`config/rules`), and the defaults derived from other keys. It stands above both, so the
 * dependency runs one way: rules take the shape's type, the shape knows no rule.
 */
import type { z } from "zod";
import { validateConfig } from "./rules";
import { ConfigShape, configObject } from "./schema";

/** The derived default of `rotationJob.issuerMinHoursLeft`. */
export function defaultIssuerMinHoursLeft(config: ConfigShape): number {
    // Alert an hour after the issuer's renewal should have happened (cert-manager), or at
    // `linkerd check`'s 60 days (static).
    const issuer = config.identity.issuer;
    const renewBefore = issuer.mode === "static" ? issuer.static.renewBeforeHours : issuer.certManager.renewBeforeHours;
    return Math.min(renewBefore - 1, 1440);
}

/** The shape, every cross-key rule, and the derived defaults. */
export const configSchema = configObject.superRefine(validateConfig).transform((config) => {
    const issuerMinHoursLeft = config.rotationJob.issuerMinHoursLeft ?? defaultIssuerMinHoursLeft(config);
    return { ...config, rotationJob: { ...config.rotationJob, issuerMinHoursLeft } };
});

export type MeshConfig = z.output<typeof configSchema>;
