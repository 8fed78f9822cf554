"use strict";
// Pod Security admission as the API server decides it, for the tests: the fake kubectl answers the
// Pod Security check's dry run with it (test/fakeCluster.ts), and the tests evaluate the program's
// pods with it. Plain Node, no dependency.
//
// Followed as written in k8s.io/pod-security-admission v0.36.2 (commit 39b45cd1):
// - admission/admission.go ValidatePod: an exempt namespace or user is admitted unchecked; the policy
//   is the namespace's labels over the AdmissionConfiguration's `defaults` (api/helpers.go
//   PolicyToEvaluate: each label overrides its mode; an enforce label stricter than the warn level
//   raises warn to it); a privileged enforce level admits; a refusal is
//   `violates PodSecurity "<level>:<version>": <reason> (<detail>), ...` (admission.go EvaluatePod,
//   policy/checks.go ForbiddenDetail), a warn-level violation a warning
//   `would violate PodSecurity "<level>:<version>": ...`;
// - policy/registry.go: baseline checks by sorted ID, then restricted ones; a restricted check
//   replaces the baseline check it overrides (capabilities, hostPath volumes, seccomp);
// - the checks below, each as its policy/check_<id>.go words it, for policy version >= 1.25 on Linux.
//   Not modelled (a pod that sets what they read is refused by this oracle, not judged):
//   appArmorProfile, hostProbesAndHostLifecycle, procMount, seLinuxOptions, sysctls,
//   windowsHostProcess, user-namespace pods (hostUsers: false).

const LEVELS = ["privileged", "baseline", "restricted"];
const BASELINE_CAPABILITIES = new Set([
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
]);
const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"];

const joinQuote = (items) => (items.length === 0 ? "" : `"${items.join('", "')}"`);
const pluralize = (singular, plural, count) => (count === 1 ? singular : plural);
const sorted = (set) => [...set].sort();
/** Init containers, then containers, then ephemeral containers (policy/visitor.go). */
const containersOf = (spec) => [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
const allowed = { allowed: true };
const forbidden = (reason, detail) => ({ allowed: false, reason, detail });

/** Fields read by checks this oracle does not model: judging such a pod here would be a guess. */
function unmodelled(pod) {
    const spec = pod.spec ?? {};
    const found = [];
    const contexts = [spec.securityContext ?? {}, ...containersOf(spec).map((c) => c.securityContext ?? {})];
    for (const field of ["appArmorProfile", "procMount", "seLinuxOptions", "sysctls", "windowsOptions"]) {
        if (contexts.some((context) => context[field] !== undefined)) found.push(field);
    }
    if (spec.hostUsers === false) found.push("hostUsers");
    if (spec.os?.name === "windows") found.push("os");
    if (Object.keys(pod.metadata?.annotations ?? {}).some((key) => key.startsWith("container.apparmor.security.beta.kubernetes.io/")))
        found.push("AppArmor annotations");
    for (const container of containersOf(spec)) {
        const handlers = [
            container.livenessProbe,
            container.readinessProbe,
            container.startupProbe,
            container.lifecycle?.postStart,
            container.lifecycle?.preStop,
        ];
        if (handlers.some((h) => h?.httpGet?.host !== undefined || h?.tcpSocket?.host !== undefined)) found.push("probe or lifecycle host");
    }
    return found;
}

/** Baseline checks, by ID; `overriddenBy` names the restricted check that replaces one at that level. */
const BASELINE = [
    {
        id: "capabilities_baseline",
        overriddenBy: "capabilities_restricted",
        check(spec) {
            const bad = [];
            const caps = new Set();
            for (const c of containersOf(spec)) {
                const added = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
                added.forEach((cap) => caps.add(cap));
                if (added.length > 0) bad.push(c.name);
            }
            return bad.length === 0
                ? allowed
                : forbidden(
                      "non-default capabilities",
                      `${pluralize("container", "containers", bad.length)} ${joinQuote(bad)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`,
                  );
        },
    },
    {
        id: "hostNamespaces",
        check(spec) {
            const host = [spec.hostNetwork && "hostNetwork=true", spec.hostPID && "hostPID=true", spec.hostIPC && "hostIPC=true"].filter(Boolean);
            return host.length === 0 ? allowed : forbidden("host namespaces", host.join(", "));
        },
    },
    {
        id: "hostPathVolumes",
        overriddenBy: "restrictedVolumes",
        check(spec) {
            const bad = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name);
            return bad.length === 0 ? allowed : forbidden("hostPath volumes", `${pluralize("volume", "volumes", bad.length)} ${joinQuote(bad)}`);
        },
    },
    {
        id: "hostPorts",
        check(spec) {
            const bad = [];
            const ports = new Set();
            for (const c of containersOf(spec)) {
                const host = (c.ports ?? []).filter((p) => p.hostPort);
                host.forEach((p) => ports.add(String(p.hostPort)));
                if (host.length > 0) bad.push(c.name);
            }
            return bad.length === 0
                ? allowed
                : forbidden(
                      "hostPort",
                      `${pluralize("container", "containers", bad.length)} ${joinQuote(bad)} ${pluralize("uses", "use", bad.length)} ${pluralize("hostPort", "hostPorts", ports.size)} ${sorted(ports).join(", ")}`,
                  );
        },
    },
    {
        id: "privileged",
        check(spec) {
            const bad = containersOf(spec)
                .filter((c) => c.securityContext?.privileged === true)
                .map((c) => c.name);
            return bad.length === 0
                ? allowed
                : forbidden("privileged", `${pluralize("container", "containers", bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true`);
        },
    },
    {
        id: "seccompProfile_baseline",
        overriddenBy: "seccompProfile_restricted",
        check: (spec) => seccomp(spec, false),
    },
];

const validSeccomp = (type) => type === "RuntimeDefault" || type === "Localhost";

/** check_seccompProfile_baseline.go (1.19) and, `required`, check_seccompProfile_restricted.go. */
function seccomp(spec, required) {
    const setters = [];
    const values = new Set();
    let podSet = false;
    const podProfile = spec.securityContext?.seccompProfile;
    if (podProfile) {
        if (!validSeccomp(podProfile.type)) {
            setters.push("pod");
            values.add(podProfile.type);
        } else podSet = true;
    }
    const explicit = [];
    const implicit = [];
    for (const c of containersOf(spec)) {
        const profile = c.securityContext?.seccompProfile;
        if (profile) {
            if (!validSeccomp(profile.type)) {
                explicit.push(c.name);
                values.add(profile.type);
            }
        } else if (!podSet) implicit.push(c.name);
    }
    if (explicit.length > 0) setters.push(`${pluralize("container", "containers", explicit.length)} ${joinQuote(explicit)}`);
    if (setters.length > 0)
        return forbidden("seccompProfile", `${setters.join(" and ")} must not set securityContext.seccompProfile.type to ${joinQuote(sorted(values))}`);
    if (required && implicit.length > 0) {
        return forbidden(
            "seccompProfile",
            `pod or ${pluralize("container", "containers", implicit.length)} ${joinQuote(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
        );
    }
    return allowed;
}

const RESTRICTED = [
    {
        id: "allowPrivilegeEscalation",
        check(spec) {
            const bad = containersOf(spec)
                .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
                .map((c) => c.name);
            return bad.length === 0
                ? allowed
                : forbidden(
                      "allowPrivilegeEscalation != false",
                      `${pluralize("container", "containers", bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false`,
                  );
        },
    },
    {
        id: "capabilities_restricted",
        check(spec) {
            const missingDrop = [];
            const adding = [];
            const caps = new Set();
            for (const c of containersOf(spec)) {
                const capabilities = c.securityContext?.capabilities;
                if (!capabilities) {
                    missingDrop.push(c.name);
                    continue;
                }
                if (!(capabilities.drop ?? []).includes("ALL")) missingDrop.push(c.name);
                const added = (capabilities.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
                added.forEach((cap) => caps.add(cap));
                if (added.length > 0) adding.push(c.name);
            }
            const details = [];
            if (missingDrop.length > 0)
                details.push(
                    `${pluralize("container", "containers", missingDrop.length)} ${joinQuote(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`,
                );
            if (adding.length > 0)
                details.push(
                    `${pluralize("container", "containers", adding.length)} ${joinQuote(adding)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`,
                );
            return details.length === 0 ? allowed : forbidden("unrestricted capabilities", details.join("; "));
        },
    },
    {
        id: "restrictedVolumes",
        check(spec) {
            const bad = [];
            const types = new Set();
            for (const volume of spec.volumes ?? []) {
                if (RESTRICTED_VOLUMES.some((type) => volume[type] !== undefined)) continue;
                bad.push(volume.name);
                types.add(Object.keys(volume).find((key) => key !== "name") ?? "unknown");
            }
            return bad.length === 0
                ? allowed
                : forbidden(
                      "restricted volume types",
                      `${pluralize("volume", "volumes", bad.length)} ${joinQuote(bad)} ${pluralize("uses", "use", bad.length)} ${pluralize("restricted volume type", "restricted volume types", types.size)} ${joinQuote(sorted(types))}`,
                  );
        },
    },
    {
        id: "runAsNonRoot",
        check(spec) {
            const setters = [];
            let podNonRoot = false;
            const podValue = spec.securityContext?.runAsNonRoot;
            if (podValue !== undefined) {
                if (!podValue) setters.push("pod");
                else podNonRoot = true;
            }
            const explicit = [];
            const implicit = [];
            for (const c of containersOf(spec)) {
                const value = c.securityContext?.runAsNonRoot;
                if (value !== undefined) {
                    if (!value) explicit.push(c.name);
                } else if (!podNonRoot) implicit.push(c.name);
            }
            if (explicit.length > 0) setters.push(`${pluralize("container", "containers", explicit.length)} ${joinQuote(explicit)}`);
            if (setters.length > 0) return forbidden("runAsNonRoot != true", `${setters.join(" and ")} must not set securityContext.runAsNonRoot=false`);
            if (implicit.length > 0)
                return forbidden(
                    "runAsNonRoot != true",
                    `pod or ${pluralize("container", "containers", implicit.length)} ${joinQuote(implicit)} must set securityContext.runAsNonRoot=true`,
                );
            return allowed;
        },
    },
    {
        id: "runAsUser",
        check(spec) {
            const setters = spec.securityContext?.runAsUser === 0 ? ["pod"] : [];
            const bad = containersOf(spec)
                .filter((c) => c.securityContext?.runAsUser === 0)
                .map((c) => c.name);
            if (bad.length > 0) setters.push(`${pluralize("container", "containers", bad.length)} ${joinQuote(bad)}`);
            return setters.length === 0 ? allowed : forbidden("runAsUser=0", `${setters.join(" and ")} must not set runAsUser=0`);
        },
    },
    {
        id: "seccompProfile_restricted",
        check: (spec) => seccomp(spec, true),
    },
];

/** The checks a level runs, in the registry's order. */
function checksFor(level) {
    if (level === "baseline") return BASELINE;
    if (level !== "restricted") return [];
    const overridden = new Set(BASELINE.filter((c) => c.overriddenBy).map((c) => c.id));
    return [...BASELINE.filter((c) => !overridden.has(c.id)), ...RESTRICTED];
}

/** The refusal of `pod` at `level`, in policy/checks.go ForbiddenDetail's words, or undefined when admitted. */
function evaluate(level, pod) {
    if (!LEVELS.includes(level)) throw new Error(`unknown Pod Security level ${level}`);
    const gaps = unmodelled(pod);
    if (gaps.length > 0) throw new Error(`the Pod Security oracle does not model ${gaps.join(", ")}`);
    const failures = checksFor(level)
        .map((c) => c.check(pod.spec ?? {}))
        .filter((r) => !r.allowed);
    return failures.length === 0 ? undefined : failures.map((f) => (f.detail ? `${f.reason} (${f.detail})` : f.reason)).join(", ");
}

/**
 * The policy a namespace's labels and the cluster's defaults give (api/helpers.go PolicyToEvaluate):
 * `{enforce, enforceVersion, warn, warnVersion}`.
 */
function policyOf(labels = {}, defaults = {}) {
    const policy = {
        enforce: defaults.enforce ?? "privileged",
        enforceVersion: defaults["enforce-version"] ?? "latest",
        warn: defaults.warn ?? "privileged",
        warnVersion: defaults["warn-version"] ?? "latest",
    };
    const label = (mode) => labels[`pod-security.kubernetes.io/${mode}`];
    if (label("enforce") !== undefined) policy.enforce = label("enforce");
    if (label("enforce-version") !== undefined) policy.enforceVersion = label("enforce-version");
    if (label("warn") !== undefined) policy.warn = label("warn");
    if (label("warn-version") !== undefined) policy.warnVersion = label("warn-version");
    if (label("warn") === undefined && label("enforce") !== undefined && LEVELS.indexOf(policy.enforce) > LEVELS.indexOf(policy.warn)) {
        policy.warn = policy.enforce;
        if (label("warn-version") === undefined) policy.warnVersion = policy.enforceVersion;
    }
    return policy;
}

/**
 * What the API server's Pod Security admission answers for creating `pod` in `namespace` as
 * `username`, given the cluster's PodSecurityConfiguration (`{defaults, exemptions: {namespaces,
 * usernames}}`) and the namespace's labels: `{allowed: true, warnings}` or `{allowed: false, message}`.
 */
function admit(configuration, namespaceLabels, namespace, username, pod) {
    const exemptions = configuration?.exemptions ?? {};
    if ((exemptions.namespaces ?? []).includes(namespace) || (exemptions.usernames ?? []).includes(username)) return { allowed: true, warnings: [] };
    const policy = policyOf(namespaceLabels, configuration?.defaults);
    if (policy.enforce !== "privileged") {
        const refusal = evaluate(policy.enforce, pod);
        if (refusal) return { allowed: false, message: `violates PodSecurity "${policy.enforce}:${policy.enforceVersion}": ${refusal}` };
    }
    const warning = policy.warn === "privileged" ? undefined : evaluate(policy.warn, pod);
    return { allowed: true, warnings: warning ? [`would violate PodSecurity "${policy.warn}:${policy.warnVersion}": ${warning}`] : [] };
}

module.exports = { evaluate, policyOf, admit };
