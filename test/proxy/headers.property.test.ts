// Property test of the header filter towards the API server (src/proxy/headers.ts): whatever
// headers a client sends, in whatever letter case, none of its credentials, Impersonate-*,
// request-header authentication (X-Remote-*), forwarding or hop-by-hop headers go on; the
// gateway's own Authorization, Host, X-Forwarded-For and identity are the only ones of those.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { upstreamRequestHeaders } from "../../src/proxy/headers.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const sensitive = [
  "authorization",
  "cookie",
  "impersonate-user",
  "impersonate-group",
  "impersonate-uid",
  "impersonate-extra-scopes",
  "impersonate-anything",
  "x-remote-user",
  "x-remote-group",
  "x-remote-extra-scopes",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "forwarded",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
];

/** The name in a random letter case. */
const anyCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));

const header = fc.oneof(
  fc.tuple(fc.constantFrom(...sensitive).chain(anyCase), fc.string({ maxLength: 20 })),
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), fc.string({ maxLength: 20 })),
);

describe("headers towards the API server", () => {
  it("never carry a client's credentials, identity or forwarding headers, in any letter case", () => {
    fc.assert(
      fc.property(fc.array(header, { maxLength: 12 }), (pairs) => {
        const out = upstreamRequestHeaders({
          rawHeaders: pairs.flat(),
          upstreamHost: "api.example:6443",
          authorization: "Bearer gateway",
          identity: [["Impersonate-User", "jane"]],
          clientAddress: "10.0.0.9",
          trustForwarded: false,
        });
        const names: string[] = [];
        for (let i = 0; i < out.length; i += 2) names.push((out[i] ?? "").toLowerCase());
        const connectionListed = new Set(
          pairs
            .filter(([n]) => n.toLowerCase() === "connection")
            .flatMap(([, v]) => v.split(",").map((t) => t.trim().toLowerCase())),
        );
        for (let i = 0; i < out.length; i += 2) {
          const name = names[i / 2] ?? "";
          const value = out[i + 1];
          if (name === "authorization") assert.equal(value, "Bearer gateway");
          else if (name === "impersonate-user") assert.equal(value, "jane");
          else if (name === "host") assert.equal(value, "api.example:6443");
          else if (name === "x-forwarded-for") assert.equal(value, "10.0.0.9");
          else {
            assert.ok(!sensitive.includes(name) && !/^(impersonate-|x-remote-)/.test(name), `forwarded ${name}`);
            assert.ok(!connectionListed.has(name), `forwarded ${name}, listed in Connection`);
          }
        }
        for (const only of ["authorization", "impersonate-user", "host", "x-forwarded-for"]) {
          assert.equal(names.filter((n) => n === only).length, 1, only);
        }
      }),
      propertyParameters(),
    );
  });
});
