// Keycloak's admin REST API, for what tests change at run time: token lifespans, refresh-token
// rotation, full group paths, and ending a user's sessions.
import { httpsRequest } from "../http.ts";

export class KeycloakAdminError extends Error {
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`Keycloak admin API: ${what}: HTTP ${status}: ${body.slice(0, 300)}`);
    this.name = "KeycloakAdminError";
    this.status = status;
  }
}

export interface KeycloakAdminOptions {
  readonly baseUrl: string;
  readonly ca: string;
  readonly username: string;
  readonly password: string;
  /** The realm tests work in. */
  readonly realm: string;
}

export class KeycloakAdmin {
  readonly #options: KeycloakAdminOptions;

  constructor(options: KeycloakAdminOptions) {
    this.#options = options;
  }

  async #token(): Promise<string> {
    const { baseUrl, ca, username, password } = this.#options;
    const response = await httpsRequest(`${baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: "POST",
      ca,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "password", client_id: "admin-cli", username, password }).toString(),
    });
    if (response.status !== 200) throw new KeycloakAdminError("admin login", response.status, response.body);
    return String(JSON.parse(response.body).access_token);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const response = await httpsRequest(`${this.#options.baseUrl}/admin/realms${path}`, {
      method,
      timeoutMs,
      ca: this.#options.ca,
      headers: {
        authorization: `Bearer ${await this.#token()}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status >= 300) throw new KeycloakAdminError(`${method} ${path}`, response.status, response.body);
    return (response.body ? JSON.parse(response.body) : undefined) as T;
  }

  #realm(path = ""): string {
    return `/${encodeURIComponent(this.#options.realm)}${path}`;
  }

  /**
   * Creates a realm from its JSON representation (the bed's realm.json). Keycloak's first import
   * after a start is slow on a loaded machine (over 15 s with other JVMs and browsers busy on two
   * cores), hence the longer deadline.
   */
  importRealm(representation: Record<string, unknown>): Promise<void> {
    return this.request("POST", "", representation, 120_000);
  }

  /** Updates realm settings; fields left out keep their values. */
  updateRealm(settings: Record<string, unknown>): Promise<void> {
    return this.request("PUT", this.#realm(), settings);
  }

  /** Access (and id) token lifetime for tokens issued from now on. */
  setAccessTokenLifespan(seconds: number): Promise<void> {
    return this.updateRealm({ accessTokenLifespan: seconds });
  }

  /** "Revoke refresh token": each refresh token may be used `maxReuse + 1` times. */
  setRevokeRefreshToken(enabled: boolean, maxReuse = 0): Promise<void> {
    return this.updateRealm({ revokeRefreshToken: enabled, refreshTokenMaxReuse: maxReuse });
  }

  /** Switches the groups mapper of `clientId` between `/developers` (full path) and `developers`. */
  async setFullGroupPath(clientId: string, fullPath: boolean): Promise<void> {
    const [client] = await this.request<{ id: string }[]>(
      "GET",
      this.#realm(`/clients?clientId=${encodeURIComponent(clientId)}`),
    );
    if (!client) throw new Error(`no client ${clientId} in realm ${this.#options.realm}`);
    const mappers = await this.request<{ id: string; protocolMapper: string; config: Record<string, string> }[]>(
      "GET",
      this.#realm(`/clients/${client.id}/protocol-mappers/models`),
    );
    const groups = mappers.find((m) => m.protocolMapper === "oidc-group-membership-mapper");
    if (!groups) throw new Error(`client ${clientId} has no group membership mapper`);
    await this.request("PUT", this.#realm(`/clients/${client.id}/protocol-mappers/models/${groups.id}`), {
      ...groups,
      config: { ...groups.config, "full.path": String(fullPath) },
    });
  }

  async #clientUuid(clientId: string): Promise<{ id: string; attributes?: Record<string, string> }> {
    const [client] = await this.request<{ id: string; attributes?: Record<string, string> }[]>(
      "GET",
      this.#realm(`/clients?clientId=${encodeURIComponent(clientId)}`),
    );
    if (!client) throw new Error(`no client ${clientId} in realm ${this.#options.realm}`);
    return client;
  }

  /**
   * Changes a client: top-level fields (e.g. redirectUris) replaced, attributes (e.g.
   * `backchannel.logout.url`) merged; everything else keeps its value.
   */
  async updateClient(
    clientId: string,
    change: { fields?: Record<string, unknown>; attributes?: Record<string, string> },
  ): Promise<void> {
    const client = await this.#clientUuid(clientId);
    const full = await this.request<Record<string, unknown>>("GET", this.#realm(`/clients/${client.id}`));
    await this.request("PUT", this.#realm(`/clients/${client.id}`), {
      ...full,
      ...change.fields,
      attributes: { ...(full.attributes as Record<string, string>), ...change.attributes },
    });
  }

  /** Turns on Keycloak's event store for these user event types (e.g. REFRESH_TOKEN). */
  enableEvents(types: readonly string[]): Promise<void> {
    return this.updateRealm({ eventsEnabled: true, eventsExpiration: 3600, enabledEventTypes: types });
  }

  /** Stored user events of `type` (newest first), as Keycloak recorded them. */
  events(type: string): Promise<{ time: number; type: string; clientId?: string; error?: string }[]> {
    return this.request("GET", this.#realm(`/events?type=${encodeURIComponent(type)}&max=10000`));
  }

  /** The user's active SSO sessions. */
  async userSessions(username: string): Promise<{ id: string; start: number; lastAccess: number }[]> {
    return this.request("GET", this.#realm(`/users/${await this.userId(username)}/sessions`));
  }

  async userId(username: string): Promise<string> {
    const [user] = await this.request<{ id: string }[]>(
      "GET",
      this.#realm(`/users?exact=true&username=${encodeURIComponent(username)}`),
    );
    if (!user) throw new Error(`no user ${username} in realm ${this.#options.realm}`);
    return user.id;
  }

  /** Ends every session of `username`: its refresh tokens stop working. */
  async endSessions(username: string): Promise<void> {
    await this.request("POST", this.#realm(`/users/${await this.userId(username)}/logout`));
  }
}
