// What identity a token becomes, asked of the API server (or the gateway) through kubectl.
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { TestBed } from "../../testbed/bed.ts";
import { httpsRequest } from "../../testbed/http.ts";

export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: string[];
  readonly extra?: Record<string, string[]>;
}

/** `kubectl auth whoami` with `token`, against the bed's API server or `server`. */
export async function whoami(bed: TestBed, token: string, server?: string) {
  const result = await bed.kubectl(["auth", "whoami", "-o", "json"], { token, server });
  return {
    ...result,
    userInfo: result.code === 0 ? (JSON.parse(result.stdout).status.userInfo as UserInfo) : undefined,
  };
}

/** Asserts kubectl was refused with the message a 401 Status produces. */
export async function expectUnauthorized(bed: TestBed, token: string, server?: string): Promise<void> {
  const result = await whoami(bed, token, server);
  assert.notEqual(result.code, 0, `accepted as ${result.userInfo?.username}`);
  assert.match(result.stderr, /You must be logged in to the server/);
}

export function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** An authentication decision: 201 with the user, or the refusal's status and body. */
export interface Decision {
  readonly status: number;
  readonly body: string;
  readonly user?: UserInfo;
}

/** POSTs a SelfSubjectReview with `token` to `url` (the API server or the gateway). */
export async function selfSubjectReview(url: string, ca: string, token: string): Promise<Decision> {
  const response = await httpsRequest(`${url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
    method: "POST",
    ca,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
  });
  if (response.status !== 201) return { status: response.status, body: response.body };
  return { status: response.status, body: "", user: JSON.parse(response.body).status.userInfo as UserInfo };
}
