// protocol/protocol.json, the one description of the wire protocol, and its golden fixtures, as
// the worker's tests use them: JSON Schema validators (ajv, draft 2020-12) for every message in
// both directions, and the fixtures both test suites load.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const PROTOCOL_DIR = path.join(REPO_ROOT, 'protocol');

type Schema = Record<string, unknown>;

export interface ProtocolDescription {
  readonly protocol_version: number;
  readonly limits: Record<string, { value: number; checked_by: ('worker' | 'integration')[]; note?: string }>;
  readonly defaults: Record<string, Record<string, unknown>>;
  readonly ha_errors: Record<string, unknown>;
  readonly upstream: Record<string, { request: Schema; result: Schema } | string>;
  readonly downstream: Record<string, { message: Schema } | string>;
  readonly call_responses: Record<string, Schema>;
  readonly $defs: Record<string, Schema>;
}

export interface UpstreamFixture {
  readonly name: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly error?: string;
  readonly schema_valid?: boolean;
  /** Sent on the connection that said the valid hello first, not on one of its own. */
  readonly after_hello?: boolean;
}

export interface DownstreamFixture {
  readonly name: string;
  readonly message: unknown;
  readonly parsed?: unknown;
  readonly service_data?: Record<string, unknown>;
  readonly reason?: string;
  readonly answer?: string;
}

function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(path.join(PROTOCOL_DIR, relative), 'utf8')) as T;
}

export const description: ProtocolDescription = readJson('protocol.json');
export const upstreamFixtures = readJson<{ valid: UpstreamFixture[]; invalid: UpstreamFixture[] }>('fixtures/upstream.json');
export const downstreamFixtures = readJson<{ valid: DownstreamFixture[]; invalid: DownstreamFixture[] }>('fixtures/downstream.json');

/** The names of a section, without its `$comment`. */
export function entriesOf<T>(section: Record<string, T | string>): [string, T][] {
  return Object.entries(section).filter((entry): entry is [string, T] => !entry[0].startsWith('$'));
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTuples: false });

function compile(schema: Schema): ValidateFunction {
  return ajv.compile({ $defs: description.$defs, ...schema });
}

const upstreamValidators = new Map(entriesOf(description.upstream).map(([type, command]) => [type, compile(command.request)]));
const downstreamValidators = entriesOf(description.downstream).map(([, message]) => compile(message.message));
const responseValidators = new Map(Object.entries(description.call_responses).map(([service, schema]) => [service, compile(schema)]));

export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`).join('; ');
}

/** Why the description refuses an upstream payload (without `id` and `type`), or undefined when it fits. */
export function upstreamSchemaProblem(type: string, payload: unknown): string | undefined {
  const validate = upstreamValidators.get(type);
  if (validate === undefined) return `${type} is not a command of protocol.json`;
  return validate(payload) ? undefined : describeSchemaErrors(validate.errors);
}

/** Why the description refuses a downstream message, or undefined when one of its messages fits. */
export function downstreamSchemaProblem(message: unknown): string | undefined {
  const problems: string[] = [];
  for (const validate of downstreamValidators) {
    if (validate(message)) return undefined;
    problems.push(describeSchemaErrors(validate.errors));
  }
  return problems.join(' | ');
}

/** Why the description refuses a successful call's response, or undefined when it fits. */
export function responseSchemaProblem(service: string, response: unknown): string | undefined {
  const validate = responseValidators.get(service);
  if (validate === undefined) return `${service} is not a service of protocol.json`;
  return validate(response) ? undefined : describeSchemaErrors(validate.errors);
}
