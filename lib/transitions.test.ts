/** What an operator is told about a transition the program carries out (lib/transitions.ts). */
import { strict as assert } from "node:assert";
import { transitionNotices, TransitionSettings } from "./transitions";

describe("transition notices", () => {
    const settings = (namespace: string): TransitionSettings => ({
        mtls: { enabled: true },
        identity: { issuer: { mode: "certManager" } },
        certManager: { install: false, namespace },
    });
    const previous = {
        mesh: { phase: "on", namespaces: ["akko"], mode: "permissive" } as never,
        issuerMode: "certManager",
        certManagerInstalled: true,
    };

    it("cert-manager left in the cluster: the command removes the namespace this stack installed it in, and its release's CRDs", () => {
        const [notice] = transitionNotices(settings("certs"), previous, false);
        assert.match(notice, /`kubectl delete namespace certs`/);
        assert.match(notice, /`kubectl delete crd -l app\.kubernetes\.io\/instance=cert-manager`/);
        assert.doesNotMatch(notice, /delete namespace cert-manager/);
    });

    it("nothing to say when this stack did not install cert-manager, or still does", () => {
        assert.deepEqual(transitionNotices(settings("certs"), { ...previous, certManagerInstalled: false }, true), []);
        assert.deepEqual(
            transitionNotices(
                { ...settings("certs"), certManager: { install: true, namespace: "certs" } },
                previous,
                false,
            ),
            [],
        );
    });
});
