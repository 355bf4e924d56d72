// Which identity a token becomes, asked of the API server or of the gateway in front of it by a
// SelfSubjectReview (authentication.k8s.io/v1): the tests' decisions and the bench's ceiling setup.
import { httpsRequest } from "./http.ts";

export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: string[];
  readonly extra?: Record<string, string[]>;
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
