// `npm run testbed -- --check`: proves a started bed works end to end and reports each step.
import type { TestBed } from "./bed.ts";
import { clients } from "./issuer/oidc-provider.ts";

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

type Check = { name: string; needsKeycloak?: boolean; run: (bed: TestBed) => Promise<string> };

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const checks: Check[] = [
  {
    name: "issuer issues id tokens through code + PKCE, and refresh tokens",
    run: async (bed) => {
      const tokens = await bed.login("jane");
      expect(tokens.idToken.split(".").length === 3, "no id token");
      expect(tokens.refreshToken !== undefined, "no refresh token");
      return `id token for jane from ${bed.issuer.url}`;
    },
  },
  {
    name: "admin lists namespaces with kubectl",
    run: async (bed) => {
      const result = await bed.kubectl(["get", "namespaces", "-o", "name"]);
      expect(result.code === 0 && result.stdout.includes("namespace/default"), result.stderr || result.stdout);
      return result.stdout.trim().split("\n").join(", ");
    },
  },
  {
    name: "API server's own OIDC authenticator accepts the issuer's id token",
    run: async (bed) => {
      const { idToken } = await bed.login("jane");
      const result = await bed.kubectl(["auth", "whoami", "-o", "json"], { token: idToken });
      expect(result.code === 0, result.stderr);
      const status = JSON.parse(result.stdout).status.userInfo as { username: string; groups: string[] };
      expect(status.username === "jane@example.com", `username ${status.username}`);
      return `${status.username} in ${status.groups.join(", ")}`;
    },
  },
  {
    name: "a token for another audience gets 401",
    run: async (bed) => {
      const { idToken } = await bed.login("jane", clients.otherApp);
      const result = await bed.kubectl(["auth", "whoami"], { token: idToken });
      expect(result.code !== 0 && result.stderr.includes("must be logged in"), result.stderr || result.stdout);
      return result.stderr.trim();
    },
  },
  {
    name: "the audit log records the request with its user",
    run: async (bed) => {
      const events = (await bed.apiServer?.auditEvents()) ?? [];
      const whoami = events.find(
        (e) => e.requestURI.includes("selfsubjectreviews") && e.user.username === "jane@example.com",
      );
      expect(whoami !== undefined, `no selfsubjectreviews event for jane among ${events.length} events`);
      return `${events.length} events in ${bed.apiServer?.auditLogPath}`;
    },
  },
  {
    name: "API server accepts a Keycloak id token next to the other issuer's",
    needsKeycloak: true,
    run: async (bed) => {
      const { idToken } = await bed.keycloakLogin("testuser");
      const result = await bed.kubectl(["auth", "whoami", "-o", "json"], { token: idToken });
      expect(result.code === 0, result.stderr);
      const status = JSON.parse(result.stdout).status.userInfo as { username: string; groups: string[] };
      expect(status.username === "keycloak:testuser", `username ${status.username}`);
      return `${status.username} in ${status.groups.join(", ")}`;
    },
  },
  {
    name: "a Keycloak access token (wrong audience) gets 401",
    needsKeycloak: true,
    run: async (bed) => {
      const { accessToken } = await bed.keycloakLogin("testuser");
      const result = await bed.kubectl(["auth", "whoami"], { token: accessToken });
      expect(result.code !== 0 && result.stderr.includes("must be logged in"), result.stderr || result.stdout);
      return result.stderr.trim();
    },
  },
];

export async function checkTestBed(bed: TestBed): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (check.needsKeycloak && !bed.keycloak) continue;
    try {
      results.push({ name: check.name, ok: true, detail: await check.run(bed) });
    } catch (error) {
      results.push({ name: check.name, ok: false, detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}
