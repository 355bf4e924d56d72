// What identity a token becomes, asked of the API server (or the gateway) through kubectl.
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { TestBed } from "../../testbed/bed.ts";
import type { UserInfo } from "../../testbed/self-subject-review.ts";

export { type Decision, selfSubjectReview, type UserInfo } from "../../testbed/self-subject-review.ts";

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
