"use strict";
// The contract between the maintenance Jobs and the script they run (cluster/mesh-check.mjs): its
// tasks, the environment each task reads and in what format, the annotations it writes, the labels
// it recognizes (contract.json, the data), and the one reader of that environment (below). Plain
// Node, no dependency: the script imports it from the ConfigMap it is mounted from, the program
// (lib/maintenancePlan.ts) declares every Job's environment from the same data, and the tests hold
// each side to it. No value has a default: a Job that leaves one out, or gives one the script cannot
// read, is a misconfiguration the script names (exit 2) before it asks anything of the cluster. The
// `overrides` are no setting: hooks no Job sets (another day's restart order, where the termination
// message goes outside a pod), read when given and undefined otherwise.

const data = require("./contract.json");

const TASKS = Object.keys(data.tasks);
const RESTARTING_TASKS = TASKS.filter((task) => data.tasks[task].restarts);

/** A value the contract refuses, naming the variable. */
class ContractError extends Error {}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** A namespace: what `kubectl -n` gets, never an option. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const isName = (value) => typeof value === "string" && value.length <= 253 && NAME.test(value);
const isNamespace = (value) => typeof value === "string" && value.length <= 63 && LABEL.test(value);
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isStringMap = (value) => isObject(value) && Object.values(value).every((v) => typeof v === "string");

function parseJson(text, what) {
    try {
        return JSON.parse(text);
    } catch {
        throw new ContractError(`must be ${what} (JSON)`);
    }
}

/** A comma-separated list of namespaces; `some`: at least one. */
function namespaces(text, some) {
    const items = text
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
    if (some && items.length === 0) throw new ContractError("must name at least one namespace");
    const bad = items.find((item) => !isNamespace(item));
    if (bad !== undefined) throw new ContractError(`must be namespace names, not ${JSON.stringify(bad)}`);
    return items;
}

function wholeNumber(text, min, what) {
    const value = Number(text);
    if (text.trim() === "" || !Number.isSafeInteger(value) || value < min) throw new ContractError(`must be ${what}`);
    return value;
}

/** Each format: how a value is read, or why it cannot be. */
const FORMATS = {
    tasks(text) {
        const tasks = text
            .split(",")
            .map((task) => task.trim())
            .filter(Boolean);
        if (tasks.length === 0) throw new ContractError(`must name the run's tasks (${TASKS.join(", ")})`);
        const unknown = tasks.find((task) => !TASKS.includes(task));
        if (unknown !== undefined) throw new ContractError(`names an unknown task ${unknown} (${TASKS.join(", ")})`);
        // Restarting pods while the issuer or an anchor is expired, not yet valid, or the issuer does not
        // chain to the bundle only breaks them: new proxies get no identity (linkerd2#3676). The script
        // runs the check before any other task.
        const restarting = tasks.filter((task) => RESTARTING_TASKS.includes(task));
        if (restarting.length > 0 && !tasks.includes("certificates")) {
            throw new ContractError(
                `names ${restarting.join(", ")}, which restart workloads, without certificates, which halts them while the certificates are broken`,
            );
        }
        return tasks;
    },
    name(text) {
        if (!isName(text)) throw new ContractError("must be a Kubernetes object name");
        return text;
    },
    names: (text) => namespaces(text, false),
    someNames: (text) => namespaces(text, true),
    count: (text) => wholeNumber(text, 1, "a positive whole number"),
    whole: (text) => wholeNumber(text, 0, "a whole number, 0 or more"),
    amount(text) {
        const value = Number(text);
        if (text.trim() === "" || !Number.isFinite(value) || value < 0) throw new ContractError("must be a non-negative number");
        return value;
    },
    optionalText: (text) => text,
    sha256(text) {
        if (!/^[0-9A-Fa-f]{64}$/.test(text)) throw new ContractError("must be a SHA-256 fingerprint (64 hex digits)");
        return text.toUpperCase();
    },
    boolean(text) {
        if (text !== "true" && text !== "false") throw new ContractError("must be true or false");
        return text === "true";
    },
    date(text) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T12:00:00Z`))) throw new ContractError("must be a date, YYYY-MM-DD");
        return text;
    },
    list(text) {
        const value = parseJson(text, "a list");
        if (!Array.isArray(value)) throw new ContractError("must be a list (JSON)");
        return value;
    },
    object(text) {
        const value = parseJson(text, "an object");
        if (!isObject(value)) throw new ContractError("must be an object (JSON)");
        return value;
    },
    stringMap(text) {
        const value = parseJson(text, "an object of texts");
        if (!isStringMap(value)) throw new ContractError("must be an object of texts (JSON)");
        return value;
    },
    annotationsByNamespace(text) {
        const value = parseJson(text, "annotations by namespace");
        if (!isObject(value) || !Object.values(value).every(isStringMap)) throw new ContractError("must be annotations by namespace (JSON)");
        return value;
    },
    issuerSource(text) {
        const value = parseJson(text, "{kind, name[, key]}");
        const valid =
            isObject(value) &&
            isName(value.name) &&
            ((value.kind === "configmap" && typeof value.key === "string" && value.key !== "") || (value.kind === "certificate" && value.key === undefined));
        if (!valid) throw new ContractError('must be {"kind": "configmap", "name", "key"} or {"kind": "certificate", "name"}');
        return value;
    },
    ingress(text) {
        if (text === "") return undefined;
        const value = parseJson(text, "{namespace, selector, inject, deployment}");
        const valid =
            isObject(value) &&
            isNamespace(value.namespace) &&
            typeof value.selector === "string" &&
            typeof value.inject === "boolean" &&
            (value.deployment === undefined || isName(value.deployment));
        if (!valid) throw new ContractError("must be empty or {namespace, selector, inject, deployment} (JSON)");
        // Its pods in a shared namespace are found by a label any pod there can carry.
        if (value.selector !== "" && value.deployment === undefined) {
            throw new ContractError("with a selector needs its deployment: a label alone is no proof a pod is the ingress controller's");
        }
        return value;
    },
    remoteLinks(text) {
        const value = parseJson(text, "[{target, secret}]");
        const valid = Array.isArray(value) && value.length > 0 && value.every((l) => isObject(l) && isName(l.target) && isName(l.secret));
        if (!valid) throw new ContractError("must be a non-empty list of {target, secret}, both Kubernetes object names (JSON)");
        return value;
    },
    podSecurity(text) {
        const value = parseJson(text, "{probe, namespaces, cniEnabled}");
        const valid =
            isObject(value) &&
            value.probe?.kind === "Pod" &&
            Array.isArray(value.namespaces) &&
            value.namespaces.every((n) => isObject(n) && isNamespace(n.namespace) && typeof n.key === "string") &&
            typeof value.cniEnabled === "boolean";
        if (!valid) throw new ContractError("must be {probe: a Pod, namespaces: [{namespace, key}], cniEnabled} (JSON)");
        return value;
    },
};

/** The tasks that read a variable. */
const readers = (variable) => (variable.tasks === "*" ? TASKS : variable.tasks);

/** Every variable a run of these tasks reads, in the contract's order: what its Job must set, and nothing else. */
function variablesFor(tasks) {
    return Object.keys(data.variables).filter((name) => readers(data.variables[name]).some((task) => tasks.includes(task)));
}

/** A value as shown in a refusal: never more than a line. */
const shown = (text) => (text.length > 60 ? `${JSON.stringify(text.slice(0, 57))}...` : JSON.stringify(text));

function readOne(name, format, text) {
    try {
        return FORMATS[format](text);
    } catch (error) {
        if (error instanceof ContractError) throw new ContractError(`${name} ${error.message} (it is ${shown(text)})`);
        throw error;
    }
}

/**
 * The run's settings from an environment: `tasks`, every variable those tasks read (by name, read in
 * its format) and the overrides (undefined when unset). Throws a ContractError naming the first
 * variable that is missing or malformed; variables the tasks do not read are not looked at.
 */
function read(env) {
    if (env.TASKS === undefined) throw new ContractError("TASKS is not set: the Job must name the run's tasks");
    const tasks = readOne("TASKS", "tasks", env.TASKS);
    const values = {};
    for (const name of variablesFor(tasks)) {
        const text = env[name];
        if (text === undefined) throw new ContractError(`${name} is not set: the Job must give it (${data.variables[name].about}) for ${tasks.join(", ")}`);
        values[name] = readOne(name, data.variables[name].format, text);
    }
    for (const [name, override] of Object.entries(data.overrides)) {
        const text = env[name];
        values[name] = text === undefined || text === "" ? undefined : readOne(name, override.format, text);
    }
    return { tasks, values };
}

module.exports = {
    ...data,
    TASK_NAMES: TASKS,
    RESTARTING_TASKS,
    ContractError,
    FORMATS,
    read,
    variablesFor,
};
