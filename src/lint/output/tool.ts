// The name and version machine-readable outputs put in their header.
import { packageVersion } from "../../observability/build.ts";

export const toolName = "kube-oidc-gateway lint";
export const toolVersion = packageVersion();
