// kube-apiserver's structured authentication file (--authentication-config):
// apiserver.config.k8s.io/v1, v1beta1 or v1alpha1 AuthenticationConfiguration, validated with
// kube-apiserver's rules and error wording (k8s.io/apiserver pkg/apis/apiserver/validation/
// validation.go: ValidateAuthenticationConfiguration and the validate* functions it calls).
// CEL expressions are compiled and type-checked here, at load, so a bad one never reaches a request.
import { X509Certificate } from "node:crypto";
import type { CelOutput } from "../apiserver/cel.ts";
import { type JwtAuthenticatorConfig, validSigningAlgorithms } from "../authn/jwt-config.ts";
import { ConfigError } from "./errors.ts";
import { celLibrary, parseYaml } from "./lazy-libraries.ts";

const apiVersions = [
  "apiserver.config.k8s.io/v1",
  "apiserver.config.k8s.io/v1beta1",
  "apiserver.config.k8s.io/v1alpha1",
];
const maxJwtAuthenticators = 64;

/** One field error, printed like apimachinery's field.Error. */
class FieldErrors {
  readonly #errors: string[] = [];
  required(path: string, detail: string): void {
    this.#errors.push(`${path}: Required value: ${detail}`);
  }
  invalid(path: string, value: unknown, detail: string): void {
    this.#errors.push(`${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`);
  }
  duplicate(path: string, value: unknown): void {
    this.#errors.push(`${path}: Duplicate value: ${JSON.stringify(value)}`);
  }
  forbidden(path: string, detail: string): void {
    this.#errors.push(`${path}: Forbidden: ${detail}`);
  }
  notSupported(path: string, value: unknown, supported: string[]): void {
    this.#errors.push(
      `${path}: Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(", ")}`,
    );
  }
  tooMany(path: string, count: number, max: number): void {
    this.#errors.push(`${path}: Too many: ${count}: must have at most ${max} items`);
  }
  unknown(path: string): void {
    this.#errors.push(`${path}: strict decoding error: unknown field "${path}"`);
  }
  get list(): readonly string[] {
    return this.#errors;
  }
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function checkKnown(errors: FieldErrors, path: string, value: Obj, known: string[]): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) errors.unknown(`${path}.${key}`);
}

function validateUrl(errors: FieldErrors, path: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") {
    errors.required(path, "");
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.invalid(path, value, "must be a valid URL");
    return undefined;
  }
  if (url.protocol !== "https:") errors.invalid(path, value, "URL scheme must be https");
  if (url.username || url.password) errors.invalid(path, value, "URL must not contain a username or password");
  if (url.search) errors.invalid(path, value, "URL must not contain a query");
  if (url.hash) errors.invalid(path, value, "URL must not contain a fragment");
  return value;
}

/** Compiles `expression` to check it; records a field error and returns undefined when it fails. */
function checkExpression(
  errors: FieldErrors,
  path: string,
  expression: unknown,
  variable: "claims" | "user",
  output: CelOutput,
): string | undefined {
  if (typeof expression !== "string" || expression === "") {
    errors.required(path, "");
    return undefined;
  }
  try {
    celLibrary().compileExpression(expression, variable, output);
    return expression;
  } catch (error) {
    errors.invalid(path, expression, (error as Error).message);
    return undefined;
  }
}

function prefixedClaim(
  errors: FieldErrors,
  path: string,
  value: unknown,
  required: boolean,
  output: CelOutput,
): { claim: string; prefix: string } | { expression: string } | undefined {
  if (value === undefined) {
    if (required) errors.required(path, "claim or expression is required");
    return undefined;
  }
  if (!isObject(value)) {
    errors.invalid(path, value, "must be an object");
    return undefined;
  }
  checkKnown(errors, path, value, ["claim", "prefix", "expression"]);
  const { claim, prefix, expression } = value;
  if (expression !== undefined && expression !== "") {
    if (claim) errors.invalid(`${path}`, claim, "claim and expression cannot both be set");
    if (prefix !== undefined) errors.invalid(`${path}.prefix`, prefix, "may not be specified when expression is set");
    const checked = checkExpression(errors, `${path}.expression`, expression, "claims", output);
    return checked === undefined ? undefined : { expression: checked };
  }
  if (typeof claim !== "string" || claim === "") {
    if (required) errors.required(path, "claim or expression is required");
    return undefined;
  }
  if (prefix === undefined) {
    errors.required(
      `${path}.prefix`,
      "prefix is required when claim is set. It can be set to an empty string to disable prefixing",
    );
    return undefined;
  }
  return { claim, prefix: String(prefix) };
}

function validateJwt(
  errors: FieldErrors,
  path: string,
  jwt: unknown,
  seen: { urls: Set<string>; discovery: Set<string> },
): JwtAuthenticatorConfig | undefined {
  if (!isObject(jwt)) {
    errors.invalid(path, jwt, "must be an object");
    return undefined;
  }
  checkKnown(errors, path, jwt, ["issuer", "claimValidationRules", "claimMappings", "userValidationRules"]);
  const issuer = isObject(jwt.issuer) ? jwt.issuer : {};
  checkKnown(errors, `${path}.issuer`, issuer, [
    "url",
    "discoveryURL",
    "certificateAuthority",
    "audiences",
    "audienceMatchPolicy",
    "egressSelectorType",
  ]);
  const url = validateUrl(errors, `${path}.issuer.url`, issuer.url);
  if (url) {
    if (seen.urls.has(url)) errors.duplicate(`${path}.issuer.url`, url);
    seen.urls.add(url);
  }
  let discoveryUrl: string | undefined;
  if (issuer.discoveryURL !== undefined && issuer.discoveryURL !== "") {
    discoveryUrl = validateUrl(errors, `${path}.issuer.discoveryURL`, issuer.discoveryURL);
    if (discoveryUrl && url && discoveryUrl === url)
      errors.invalid(`${path}.issuer.discoveryURL`, discoveryUrl, "discoveryURL must be different from URL");
    if (discoveryUrl) {
      if (seen.discovery.has(discoveryUrl)) errors.duplicate(`${path}.issuer.discoveryURL`, discoveryUrl);
      seen.discovery.add(discoveryUrl);
    }
  }
  const audiences = Array.isArray(issuer.audiences) ? issuer.audiences : [];
  if (audiences.length === 0) errors.required(`${path}.issuer.audiences`, "at least one issuer.audiences is required");
  const seenAudiences = new Set<string>();
  audiences.forEach((audience, i) => {
    if (typeof audience !== "string" || audience === "")
      errors.required(`${path}.issuer.audiences[${i}]`, "audience can't be empty");
    else if (seenAudiences.has(audience)) errors.duplicate(`${path}.issuer.audiences[${i}]`, audience);
    else seenAudiences.add(audience);
  });
  const policy = issuer.audienceMatchPolicy ?? "";
  if (audiences.length > 1 && policy !== "MatchAny") {
    errors.invalid(
      `${path}.issuer.audienceMatchPolicy`,
      policy,
      "audienceMatchPolicy must be MatchAny for multiple audiences",
    );
  } else if (policy !== "" && policy !== "MatchAny") {
    errors.notSupported(`${path}.issuer.audienceMatchPolicy`, policy, ["MatchAny"]);
  }
  let certificateAuthority: string | undefined;
  if (issuer.certificateAuthority !== undefined && issuer.certificateAuthority !== "") {
    certificateAuthority = String(issuer.certificateAuthority);
    const blocks = certificateAuthority.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error("no certificate");
      for (const block of blocks) new X509Certificate(block);
    } catch {
      errors.invalid(
        `${path}.issuer.certificateAuthority`,
        "<omitted>",
        "data does not contain any valid RSA or ECDSA certificates",
      );
    }
  }

  const requiredClaims: Record<string, string> = {};
  const claimValidationExpressions: { expression: string; message: string }[] = [];
  const rules = Array.isArray(jwt.claimValidationRules) ? jwt.claimValidationRules : [];
  for (const [i, rule] of rules.entries()) {
    const rulePath = `${path}.claimValidationRules[${i}]`;
    if (!isObject(rule)) {
      errors.invalid(rulePath, rule, "must be an object");
      continue;
    }
    checkKnown(errors, rulePath, rule, ["claim", "requiredValue", "expression", "message"]);
    if (rule.expression !== undefined && rule.expression !== "") {
      if (rule.claim) errors.invalid(`${rulePath}.claim`, rule.claim, "claim and expression can't both be set");
      if (rule.requiredValue !== undefined)
        errors.invalid(
          `${rulePath}.requiredValue`,
          rule.requiredValue,
          "requiredValue can't be set when expression is set",
        );
      const expression = checkExpression(errors, `${rulePath}.expression`, rule.expression, "claims", "bool");
      if (expression) claimValidationExpressions.push({ expression, message: String(rule.message ?? "") });
      continue;
    }
    if (typeof rule.claim !== "string" || rule.claim === "") {
      errors.required(`${rulePath}.claim`, "claim or expression is required");
      continue;
    }
    if (rule.message !== undefined)
      errors.invalid(`${rulePath}.message`, rule.message, "message can't be set when claim is set");
    if (rule.claim in requiredClaims) errors.duplicate(`${rulePath}.claim`, rule.claim);
    requiredClaims[rule.claim] = String(rule.requiredValue ?? "");
  }

  const mappings = isObject(jwt.claimMappings) ? jwt.claimMappings : {};
  checkKnown(errors, `${path}.claimMappings`, mappings, ["username", "groups", "uid", "extra"]);
  const username = prefixedClaim(errors, `${path}.claimMappings.username`, mappings.username, true, "string");
  const groups = prefixedClaim(errors, `${path}.claimMappings.groups`, mappings.groups, false, "strings");
  let uid: { claim: string } | { expression: string } | undefined;
  if (isObject(mappings.uid)) {
    checkKnown(errors, `${path}.claimMappings.uid`, mappings.uid, ["claim", "expression"]);
    if (mappings.uid.expression) {
      if (mappings.uid.claim)
        errors.invalid(`${path}.claimMappings.uid`, mappings.uid.claim, "claim and expression cannot both be set");
      const expression = checkExpression(
        errors,
        `${path}.claimMappings.uid.expression`,
        mappings.uid.expression,
        "claims",
        "string",
      );
      if (expression) uid = { expression };
    } else if (typeof mappings.uid.claim === "string" && mappings.uid.claim !== "") uid = { claim: mappings.uid.claim };
  }
  const extra: { key: string; valueExpression: string }[] = [];
  for (const [i, item] of (Array.isArray(mappings.extra) ? mappings.extra : []).entries()) {
    const itemPath = `${path}.claimMappings.extra[${i}]`;
    if (!isObject(item)) {
      errors.invalid(itemPath, item, "must be an object");
      continue;
    }
    checkKnown(errors, itemPath, item, ["key", "valueExpression"]);
    const key = typeof item.key === "string" ? item.key : "";
    if (key === "") errors.required(`${itemPath}.key`, "");
    else if (!/^[^/]+\.[^/]+\/./.test(key))
      errors.invalid(`${itemPath}.key`, key, 'must be a domain-prefixed path (such as "acme.io/foo")');
    else if (key !== key.toLowerCase()) errors.invalid(`${itemPath}.key`, key, "key must be lowercase");
    else if (/^([^/]*\.)?(k8s\.io|kubernetes\.io)\//.test(key))
      errors.invalid(
        `${itemPath}.key`,
        key,
        "k8s.io, kubernetes.io and their subdomains are reserved for Kubernetes use",
      );
    else if (extra.some((e) => e.key === key)) errors.duplicate(`${itemPath}.key`, key);
    const valueExpression = checkExpression(
      errors,
      `${itemPath}.valueExpression`,
      item.valueExpression,
      "claims",
      "strings",
    );
    if (key && valueExpression) extra.push({ key, valueExpression: String(valueExpression) });
  }
  const userValidationRules: { expression: string; message: string }[] = [];
  for (const [i, rule] of (Array.isArray(jwt.userValidationRules) ? jwt.userValidationRules : []).entries()) {
    const rulePath = `${path}.userValidationRules[${i}]`;
    if (!isObject(rule)) {
      errors.invalid(rulePath, rule, "must be an object");
      continue;
    }
    checkKnown(errors, rulePath, rule, ["expression", "message"]);
    const expression = checkExpression(errors, `${rulePath}.expression`, rule.expression, "user", "bool");
    if (expression) userValidationRules.push({ expression, message: String(rule.message ?? "") });
  }
  // kube-apiserver's rule: an expression that makes the username from claims.email must look at
  // claims.email_verified somewhere (validation.go, usesEmailClaim/usesEmailVerifiedClaim).
  if (username && "expression" in username && /claims\.\??email(?!_verified)\b/.test(username.expression)) {
    const everywhere = [
      username.expression,
      ...extra.map((e) => e.valueExpression),
      ...claimValidationExpressions.map((r) => r.expression),
    ];
    if (!everywhere.some((e) => /claims\.\??email_verified\b/.test(e))) {
      errors.invalid(
        `${path}.claimMappings.username.expression`,
        username.expression,
        "claims.email_verified must be used in claimMappings.username.expression or claimMappings.extra[*].valueExpression or claimValidationRules[*].expression when claims.email is used in claimMappings.username.expression",
      );
    }
  }

  if (!url || !username || audiences.length === 0) return undefined;
  return {
    issuer: { url, discoveryUrl, certificateAuthority, audiences: audiences.map(String) },
    claimMappings: { username, groups, uid, ...(extra.length > 0 ? { extra } : {}) },
    requiredClaims,
    ...(claimValidationExpressions.length > 0 ? { claimValidationExpressions } : {}),
    ...(userValidationRules.length > 0 ? { userValidationRules } : {}),
    // With the structured configuration every valid algorithm is accepted (oidc.go allowedSigningAlgs).
    signingAlgorithms: [...validSigningAlgorithms],
  };
}

/** Parses and validates the file's text; throws a ConfigError listing every problem. */
export function parseAuthenticationConfiguration(text: string, file: string): JwtAuthenticatorConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError("AUTHENTICATION_CONFIG_INVALID", `${file}: ${(error as Error).message}`);
  }
  if (!isObject(doc))
    throw new ConfigError("AUTHENTICATION_CONFIG_INVALID", `${file}: expected an AuthenticationConfiguration object`);
  if (doc.kind !== "AuthenticationConfiguration" || !apiVersions.includes(String(doc.apiVersion))) {
    throw new ConfigError(
      "AUTHENTICATION_CONFIG_INVALID",
      `${file}: expected kind AuthenticationConfiguration of apiVersion ${apiVersions.join(", ")}; got ${JSON.stringify(doc.kind)} ${JSON.stringify(doc.apiVersion)}`,
    );
  }
  const errors = new FieldErrors();
  checkKnown(errors, "", doc, ["apiVersion", "kind", "jwt", "anonymous"]);
  if (isObject(doc.anonymous) && doc.anonymous.enabled === true) {
    errors.forbidden("anonymous.enabled", "the gateway never serves anonymous requests; remove the anonymous section");
  }
  const jwts = Array.isArray(doc.jwt) ? doc.jwt : [];
  if (jwts.length > maxJwtAuthenticators) errors.tooMany("jwt", jwts.length, maxJwtAuthenticators);
  const seen = { urls: new Set<string>(), discovery: new Set<string>() };
  const result = jwts.map((jwt, i) => validateJwt(errors, `jwt[${i}]`, jwt, seen));
  if (errors.list.length > 0) {
    throw new ConfigError(
      "AUTHENTICATION_CONFIG_INVALID",
      `${file}: ${errors.list.map((e) => e.replace(/^\./, "")).join(", ")}`,
    );
  }
  if (result.length === 0)
    throw new ConfigError(
      "AUTHENTICATION_CONFIG_INVALID",
      `${file}: jwt: Required value: at least one JWT authenticator is needed`,
    );
  return result as JwtAuthenticatorConfig[];
}
