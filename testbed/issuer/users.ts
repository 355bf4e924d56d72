// The test bed's users. Each one exists to exercise a case the API server treats specially.

export interface TestUser {
  readonly username: string;
  readonly password: string;
  readonly sub: string;
  readonly email: string;
  readonly emailVerified: boolean;
  /** Groups as the issuer emits them: an array, or a single string as some issuers do. */
  readonly groups: readonly string[] | string;
  readonly name: string;
}

export const testUsers: readonly TestUser[] = [
  {
    // The ordinary user: verified email, two groups.
    username: "jane",
    password: "jane-password",
    sub: "jane-0001",
    email: "jane@example.com",
    emailVerified: true,
    groups: ["developers", "viewers"],
    name: "Jane Doe",
  },
  {
    // email_verified is false: kube-apiserver refuses the email claim as a username.
    username: "bob",
    password: "bob-password",
    sub: "bob-0002",
    email: "bob@example.com",
    emailVerified: false,
    groups: [],
    name: "Bob Unverified",
  },
  {
    // Groups as a plain string: kube-apiserver accepts a string or an array of strings.
    username: "carol",
    password: "carol-password",
    sub: "carol-0003",
    email: "carol@example.com",
    emailVerified: true,
    groups: "operators",
    name: "Carol Operator",
  },
];

export function findUser(username: string): TestUser | undefined {
  return testUsers.find((u) => u.username === username);
}

export function findUserBySub(sub: string): TestUser | undefined {
  return testUsers.find((u) => u.sub === sub);
}
