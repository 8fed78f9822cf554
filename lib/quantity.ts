/**
 * Kubernetes resource quantities ("100m", "20Mi", "1.5Gi", "2") as numbers.
 *
 * Only the suffixes that appear in resource requests and limits are accepted:
 * the decimal SI ones (m, k, M, G, T) and the binary ones (Ki, Mi, Gi, Ti).
 * Source: k8s.io/apimachinery/pkg/api/resource/quantity.go.
 */
const SUFFIX_FACTORS: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
};

/** Matches what {@link parseQuantity} accepts; used by the config schema. */
export const QUANTITY_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** The quantity as a plain number (cores for CPU, bytes for memory). */
export function parseQuantity(quantity: string): number {
    const match = QUANTITY_PATTERN.exec(quantity);
    if (!match) {
        throw new Error(`"${quantity}" is not a Kubernetes resource quantity (e.g. 100m, 20Mi, 1Gi)`);
    }
    return Number(match[1]) * SUFFIX_FACTORS[match[2] ?? ""];
}

export const MIB = 2 ** 20;
