/**
 * Fault modes of a simulated agent: their shapes, defaults and validation.
 *
 * Transport faults (down, slow, hang, http500, malformedJson, truncatedBody,
 * huge) change how a response is delivered; data faults (nonNumeric,
 * hostileNames, newProperty, serviceFailed, restart) change what the model
 * returns. `on` selects the endpoints: 'swagger' (`/api/swagger.json`), 'all'
 * (every other agent endpoint: `/all`, `.../history`, status, log) or 'both'.
 */

export const FAULT_KINDS = [
  'down',
  'slow',
  'hang',
  'http500',
  'malformedJson',
  'truncatedBody',
  'nonNumeric',
  'hostileNames',
  'huge',
  'newProperty',
  'serviceFailed',
  'restart',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultTarget = 'swagger' | 'all' | 'both';
/** Which kind of endpoint a request is for. */
export type EndpointKind = 'swagger' | 'all';

export const DEFAULT_SLOW_DELAY_MS = 2_000;
export const DEFAULT_HUGE_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_NEW_PROPERTY_TYPE = 'memory_usage';
export const DEFAULT_NEW_PROPERTY_NAME = 'sim_new';

/** A fault as given by a caller (in-process or JSON over the control API). */
export interface FaultInput {
  kind: FaultKind;
  /** Endpoints affected; default 'both'. */
  on?: FaultTarget;
  /** slow: delay before answering, ms (default 2000). */
  delayMs?: number;
  /** huge: body size in bytes (default 64 MiB). */
  sizeBytes?: number;
  /** newProperty: data type that gains the property (default memory_usage). */
  type?: string;
  /** newProperty: the property name (default sim_new). */
  property?: string;
  /** newProperty: rows with timestamp >= fromMs carry it, and swagger declares it once now >= fromMs (default: now at set time). */
  fromMs?: number;
  /** serviceFailed: service id (default: the host's first service). */
  serviceId?: string;
  /** restart: when the agent restarted, epoch ms in the agent's clock (default: now at set time). */
  atMs?: number;
  /** restart: how far the restarted agent's clock is behind the real one, ms (default 0). */
  clockSkewMs?: number;
}

/** A fault with every option filled in. */
export type Fault =
  | { kind: 'down' | 'hang' | 'http500' | 'malformedJson' | 'truncatedBody' | 'nonNumeric' | 'hostileNames'; on: FaultTarget }
  | { kind: 'slow'; on: FaultTarget; delayMs: number }
  | { kind: 'huge'; on: FaultTarget; sizeBytes: number }
  | { kind: 'newProperty'; on: FaultTarget; type: string; property: string; fromMs: number }
  | { kind: 'serviceFailed'; on: FaultTarget; serviceId: string }
  | { kind: 'restart'; on: FaultTarget; atMs: number; clockSkewMs: number };

export class FaultValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultValidationError';
  }
}

const KNOWN_FIELDS = new Set(['kind', 'on', 'delayMs', 'sizeBytes', 'type', 'property', 'fromMs', 'serviceId', 'atMs', 'clockSkewMs']);

function finite(value: unknown, field: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new FaultValidationError(`fault.${field} must be a finite number >= ${min}`);
  }
  return value;
}

function text(value: unknown, field: string, fallback: string | undefined): string {
  if (value === undefined) {
    if (fallback === undefined) throw new FaultValidationError(`fault.${field} is required`);
    return fallback;
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > 1000) {
    throw new FaultValidationError(`fault.${field} must be a non-empty string of at most 1000 characters`);
  }
  return value;
}

/** Context used to fill defaults that depend on the host or the clock. */
export interface FaultDefaults {
  /** Current time of the fleet clock. */
  nowMs: number;
  /** The host's first service id (serviceFailed default). */
  firstServiceId: string;
}

/** Validates one fault and fills its defaults. Throws FaultValidationError naming the field. */
export function compileFault(input: unknown, defaults: FaultDefaults): Fault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError('fault must be an object with a "kind"');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key)) throw new FaultValidationError(`fault.${key} is not a known option`);
  }
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new FaultValidationError(`fault.kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const on = raw.on ?? 'both';
  if (on !== 'swagger' && on !== 'all' && on !== 'both') {
    throw new FaultValidationError("fault.on must be 'swagger', 'all' or 'both'");
  }
  switch (kind as FaultKind) {
    case 'slow':
      return { kind: 'slow', on, delayMs: finite(raw.delayMs, 'delayMs', 0, DEFAULT_SLOW_DELAY_MS) };
    case 'huge':
      return { kind: 'huge', on, sizeBytes: Math.floor(finite(raw.sizeBytes, 'sizeBytes', 1, DEFAULT_HUGE_SIZE_BYTES)) };
    case 'newProperty':
      return {
        kind: 'newProperty',
        on,
        type: text(raw.type, 'type', DEFAULT_NEW_PROPERTY_TYPE),
        property: text(raw.property, 'property', DEFAULT_NEW_PROPERTY_NAME),
        fromMs: finite(raw.fromMs, 'fromMs', 0, defaults.nowMs),
      };
    case 'serviceFailed':
      return { kind: 'serviceFailed', on, serviceId: text(raw.serviceId, 'serviceId', defaults.firstServiceId) };
    case 'restart':
      return {
        kind: 'restart',
        on,
        atMs: finite(raw.atMs, 'atMs', 0, defaults.nowMs),
        clockSkewMs: finite(raw.clockSkewMs, 'clockSkewMs', 0, 0),
      };
    default:
      return { kind: kind as Exclude<FaultKind, 'slow' | 'huge' | 'newProperty' | 'serviceFailed' | 'restart'>, on };
  }
}

/** Accepts a fault, an array of faults, or null (no fault). */
export function compileFaults(input: unknown, defaults: FaultDefaults): Fault[] {
  if (input === null || input === undefined) return [];
  const list = Array.isArray(input) ? input : [input];
  if (list.length > 32) throw new FaultValidationError('at most 32 faults per host');
  return list.map((f) => compileFault(f, defaults));
}

/** True when the fault affects requests of the given endpoint kind. */
export function appliesTo(fault: Fault, endpoint: EndpointKind): boolean {
  return fault.on === 'both' || fault.on === endpoint;
}

/** The data-shaping part of a host's faults for one endpoint kind. */
export interface DataFaults {
  nonNumeric: boolean;
  hostileNames: boolean;
  newProperties: { type: string; property: string; fromMs: number }[];
  failedServices: Set<string>;
  restart: { atMs: number; clockSkewMs: number } | null;
}

export const NO_DATA_FAULTS: DataFaults = Object.freeze({
  nonNumeric: false,
  hostileNames: false,
  newProperties: [],
  failedServices: new Set<string>(),
  restart: null,
});

export function dataFaults(faults: readonly Fault[], endpoint: EndpointKind): DataFaults {
  if (faults.length === 0) return NO_DATA_FAULTS;
  const out: DataFaults = { nonNumeric: false, hostileNames: false, newProperties: [], failedServices: new Set(), restart: null };
  for (const f of faults) {
    if (!appliesTo(f, endpoint)) continue;
    switch (f.kind) {
      case 'nonNumeric':
        out.nonNumeric = true;
        break;
      case 'hostileNames':
        out.hostileNames = true;
        break;
      case 'newProperty':
        out.newProperties.push({ type: f.type, property: f.property, fromMs: f.fromMs });
        break;
      case 'serviceFailed':
        out.failedServices.add(f.serviceId);
        break;
      case 'restart':
        out.restart = { atMs: f.atMs, clockSkewMs: f.clockSkewMs };
        break;
      default:
        break;
    }
  }
  return out;
}
