// The parts both Headlamp end-to-end ways share: the bed with Keycloak (id tokens cut to 60 s),
// the gateway's credentials and AuthenticationConfiguration, RBAC for the realm's developers,
// Headlamp's own ServiceAccount token, Chromium, and the gateway's audit log (whose events name
// each id token by its jti: authentication.kubernetes.io/credential-id, as kube-apiserver sets it).
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultJwtAuthenticators, startTestBed, type TestBed } from "../../testbed/bed.ts";
import { launchChromium, type TestBrowser } from "../../testbed/browser.ts";
import {
  type GatewayCredentials,
  prepareGatewayCredentials,
  writeAuthenticationConfig,
} from "../../testbed/gateway.ts";
import { ensureHeadlamp, type HeadlampBuild } from "../../testbed/peers/headlamp.ts";

export const tokenLifespanSeconds = 60;
export const log = (line: string) => process.stderr.write(`${line}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface HeadlampBed {
  readonly bed: TestBed;
  readonly browser: TestBrowser;
  readonly build: HeadlampBuild;
  readonly credentials: GatewayCredentials;
  /** --authentication-config of the bed's issuers (Keycloak: keycloak:<preferred_username>). */
  readonly authenticationConfig: string;
  /** A token of ServiceAccount default/headlamp, which has no rights (Headlamp's own). */
  readonly saToken: string;
  /** Flags that make a gateway write Metadata-level audit events to `file`. */
  auditFlags(file: string): Promise<string[]>;
  stop(): Promise<void>;
}

// Headlamp's list pages read more than ConfigMaps (namespaces, events, CRDs…): the realm's
// developers may read everything; nogroups gets nothing (the refused identity). Not the built-in
// `view`: it is an aggregated ClusterRole whose rules kube-controller-manager fills in, and the
// bed runs kube-apiserver alone.
const developersView = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: headlamp-test-reader}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: keycloak-developers-read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: headlamp-test-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "keycloak:developers"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: headlamp, namespace: default}
`;

export async function startHeadlampBed(): Promise<HeadlampBed> {
  const build = await ensureHeadlamp(log);
  const bed = await startTestBed({ keycloak: true, log });
  try {
    assert.ok(bed.keycloak, "Keycloak did not start");
    await bed.keycloak.admin.setAccessTokenLifespan(tokenLifespanSeconds);
    await bed.keycloak.admin.enableEvents(["LOGIN", "CODE_TO_TOKEN", "REFRESH_TOKEN", "REFRESH_TOKEN_ERROR"]);
    const credentials = await prepareGatewayCredentials(bed);
    const authenticationConfig = await writeAuthenticationConfig(
      bed,
      defaultJwtAuthenticators({ oidcProvider: bed.issuer, keycloak: bed.keycloak, caPem: bed.ca.certPem }),
    );
    const rbac = await bed.kubectl(["apply", "-f", "-"], undefined, developersView);
    assert.equal(rbac.code, 0, rbac.stderr);
    const token = await bed.kubectl(["create", "token", "headlamp", "--namespace=default", "--duration=1h"]);
    assert.equal(token.code, 0, token.stderr);
    const browser = await launchChromium();
    return {
      bed,
      browser,
      build,
      credentials,
      authenticationConfig,
      saToken: token.stdout.trim(),
      auditFlags: async (file: string) => {
        const policy = join(bed.dir, "audit-policy.json");
        await writeFile(
          policy,
          JSON.stringify({
            apiVersion: "audit.k8s.io/v1",
            kind: "Policy",
            omitStages: ["RequestReceived"],
            rules: [{ level: "Metadata" }],
          }),
        );
        return [`--audit-policy-file=${policy}`, `--audit-log-path=${file}`];
      },
      stop: async () => {
        await browser.close();
        await bed.stop();
      },
    };
  } catch (error) {
    await bed.stop();
    throw error;
  }
}

export interface AuditEvent {
  readonly user: { username: string; extra?: Record<string, string[]> };
  readonly requestURI: string;
  readonly verb: string;
  readonly responseStatus?: { code: number };
  readonly stageTimestamp: string;
}

/** The gateway's audit events (ResponseComplete, and ResponseStarted for watches). */
export async function readAudit(file: string): Promise<AuditEvent[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AuditEvent);
}

/**
 * The gateway's 401s from `sinceMs` on, whoever asked: a refused token's event names no user
 * (filters/audit.go WithFailedAuthenticationAudit logs the methods tried and the code).
 */
export function unauthorizedSince(events: readonly AuditEvent[], sinceMs: number): AuditEvent[] {
  return events.filter((e) => e.responseStatus?.code === 401 && Date.parse(e.stageTimestamp) >= sinceMs);
}

/** The distinct id tokens (their jti) the gateway authenticated `username` with, and the codes it answered. */
export function tokensSeen(events: readonly AuditEvent[], username: string): { jtis: Set<string>; codes: number[] } {
  const mine = events.filter((e) => e.user.username === username);
  const jtis = new Set(mine.flatMap((e) => e.user.extra?.["authentication.kubernetes.io/credential-id"] ?? []));
  return { jtis, codes: mine.map((e) => e.responseStatus?.code ?? 0) };
}
