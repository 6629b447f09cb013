/** Parses `host:port` (and `[v6]:port`) option values into a listen/dial address. */
import { ConfigError } from '../errors/airlock-error.js';

export function listenAddress(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^\s:]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`expected "host:port", got ${JSON.stringify(value)}`);
  }
  return { host: match[1]!, port };
}
