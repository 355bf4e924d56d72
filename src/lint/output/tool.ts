// The name and version machine-readable outputs put in their header.
import { readFileSync } from "node:fs";

const packageJson = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const toolName = "kube-oidc-gateway lint";
export const toolVersion = packageJson.version;
