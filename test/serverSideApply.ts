/**
 * What a server-side apply of the provider does to an object other managers also wrote, for
 * flat fields (annotations, labels): Kubernetes' rules (structured-merge-diff, as the API server
 * applies them — kubernetes.io docs "Server-Side Apply", Conflicts): an apply conflicts when it sets
 * a field to a value different from the live one and another manager owns that field; with
 * `force` the applier takes the field over instead. Whether the provider forces is its own rule,
 * ported from pulumi-kubernetes provider/pkg/await/await.go `patchForce` (a create, which a
 * `NamespacePatch` always is the first time, has no live state in the provider's view).
 */

/** A live object's flat fields, and who owns each (`metadata.annotations.<key>` -> managers). */
export interface LiveObject {
    fields: Record<string, string>;
    owners: Record<string, string[]>;
}

export interface Apply {
    manager: string;
    fields: Record<string, string>;
    force: boolean;
}

export type ApplyResult = { conflicts: string[] } | { object: LiveObject };

export function serverSideApply(live: LiveObject, apply: Apply): ApplyResult {
    const conflicts = Object.entries(apply.fields)
        .filter(([path, value]) => live.fields[path] !== undefined && live.fields[path] !== value)
        .filter(([path]) => (live.owners[path] ?? []).some((owner) => owner !== apply.manager))
        .map(([path]) => path);
    if (conflicts.length > 0 && !apply.force) return { conflicts };
    const fields = { ...live.fields, ...apply.fields };
    const owners: Record<string, string[]> = { ...live.owners };
    for (const [path, value] of Object.entries(apply.fields)) {
        // Forced or a different value: the applier becomes the only owner; the same value is shared.
        const shared = live.fields[path] === value ? (live.owners[path] ?? []).filter((o) => o !== apply.manager) : [];
        owners[path] = [...shared, apply.manager];
    }
    return { object: { fields, owners } };
}

/** await.go `patchForce` for a create: the annotation, the provider-wide setting, or a preview. */
export function providerForcesCreate(
    annotations: Record<string, string>,
    enablePatchForce: boolean,
    preview: boolean,
): boolean {
    return annotations["pulumi.com/patchForce"] === "true" || enablePatchForce || preview;
}
