import { GatewayError } from "../errors.ts";

/** A configuration that cannot be used; raised at start-up, before anything listens. */
export class ConfigError extends GatewayError {}
