/** Types of test/podSecurityAdmission.cjs (Pod Security admission, plain Node). */

export type Level = "privileged" | "baseline" | "restricted";

/** The API server's PodSecurityConfiguration (AdmissionConfiguration, plugin PodSecurity). */
export interface PodSecurityConfiguration {
    defaults?: Partial<Record<"enforce" | "enforce-version" | "warn" | "warn-version" | "audit" | "audit-version", string>>;
    exemptions?: { namespaces?: string[]; usernames?: string[]; runtimeClasses?: string[] };
}

export interface Policy {
    enforce: string;
    enforceVersion: string;
    warn: string;
    warnVersion: string;
}

export type Verdict = { allowed: true; warnings: string[] } | { allowed: false; message: string };

/** The refusal of `pod` at `level` (`reason (detail), ...`), or undefined when admitted. */
export function evaluate(level: Level, pod: object): string | undefined;
/** The policy a namespace's labels and the cluster's defaults give. */
export function policyOf(labels?: Record<string, string>, defaults?: PodSecurityConfiguration["defaults"]): Policy;
/** What Pod Security admission answers for creating `pod` in `namespace` as `username`. */
export function admit(
    configuration: PodSecurityConfiguration | undefined,
    namespaceLabels: Record<string, string> | undefined,
    namespace: string,
    username: string,
    pod: object,
): Verdict;
