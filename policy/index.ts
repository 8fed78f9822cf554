/** The akko-mtls policy pack: `pulumi preview --policy-pack policy` (the workflows apply it). */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("akko-mtls", { enforcementLevel: "mandatory", policies });
