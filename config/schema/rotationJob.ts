/** `rotationJob`: the daily check-and-restart CronJob, and the rollout Jobs of `pulumi up`, in the linkerd-maintenance namespace. */
import { z } from "zod";
import { containerResources, imageByDigest, MAX_VALIDITY_HOURS } from "./primitives";

export const rotationJobConfig = z.strictObject({
    enabled: z
        .boolean()
        .describe(
            "The daily check-and-restart CronJob `linkerd-rotation-check`, in the linkerd-maintenance namespace.",
        ),
    windowStartHour: z
        .int()
        .min(0)
        .max(23)
        .describe("The Job runs at a minute drawn once per stack inside [windowStartHour, +windowHours) UTC."),
    windowHours: z.int().min(1).max(24).describe("Length of the Job's window, in hours."),
    issuerMinHoursLeft: z
        .int()
        .min(
            1,
            "must be at least 1: the daily check alerts when fewer hours than this are left on the issuer, and 0 would alert only once it expired",
        )
        .max(MAX_VALIDITY_HOURS)
        .optional()
        .meta({
            description:
                "Fail the Job (alert) when the identity issuer has fewer hours left; below the issuer's renewBeforeHours.",
            derivedDefault: "min(renewBeforeHours - 1, 1440)",
        }),
    anchorMinDaysLeft: z
        .int()
        .min(1)
        .max(365 * 20)
        .describe("Fail the Job when a trust anchor has fewer days left; below the anchor's validity in days."),
    maxConcurrentRestarts: z
        .int()
        .min(1)
        .max(20)
        .describe("Workloads restarted at the same time when the trust bundle changed."),
    rolloutTimeoutSeconds: z
        .int()
        .min(30)
        .max(3600)
        .describe("How long one workload's restart may take before it counts as failed (at most an hour)."),
    deadlineMinutes: z
        .int()
        .min(5)
        .max(24 * 60)
        .describe(
            "A maintenance Job (the daily one, or the rollout Job of a `pulumi up`) is stopped after this long " +
                "(activeDeadlineSeconds); it starts no restart it could not finish in time. `pulumi up` waits this long plus " +
                "5 minutes for the rollout Job. At most a day.",
        ),
    image: imageByDigest.describe("Runs the check script (node), pinned by digest."),
    kubectlImage: imageByDigest.describe("Provides the kubectl binary the script calls, pinned by digest."),
    resources: containerResources.describe("The maintenance Jobs' check container (the script: node and kubectl)."),
});
