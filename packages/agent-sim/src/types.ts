/** JSON shapes served by a (simulated) watched.agent. */

/** One sample of a resource: `timestamp` (epoch ms with a fraction) plus values. */
export interface Row {
  timestamp: number;
  [property: string]: number | string | null;
}

/** `collector -> resource -> rows`, oldest row first. */
export type CollectorData = Record<string, Record<string, Row[]>>;

export interface SocketStatus {
  name: string;
  status: string;
}

export interface ProcessStatus {
  name: string;
  full_path: string;
  status: string;
  pid?: number;
  cwd?: string;
  username?: string;
}

export interface SubProcessStatus {
  name: string;
  full_path: string;
  pid: number;
  cwd: string;
  username: string;
}

export interface ServiceStatus {
  host: string;
  properties: { host: string; name: string; subType: string; type: string; uniqName: string };
  sockets: SocketStatus[];
  process: ProcessStatus[];
  subprocess: SubProcessStatus[];
}

export type LogLevel = 'critical' | 'error' | 'warning' | 'notice' | 'info';

export interface LogEntry {
  date_mark: string;
  level: LogLevel;
  line_no: number;
  source: string;
  text: string;
  timestamp: number;
}

export interface ServiceLogs {
  entries: LogEntry[];
  host: string;
}

export interface ServiceData {
  collectors: CollectorData;
  logs: ServiceLogs;
  status: ServiceStatus;
}

/** Body of `GET /all`. Keys are emitted in the agent's (alphabetical) order. */
export interface AllResponse {
  services: Record<string, ServiceData>;
  system: CollectorData;
  timestamp: number;
}

export interface SwaggerProperty {
  type: string;
  description?: string;
  format?: string;
  items?: { $ref: string };
}

export interface SwaggerDefinition {
  type?: string;
  required?: string[];
  properties?: Record<string, SwaggerProperty>;
  'x-isService'?: boolean;
}

export interface SwaggerParameter {
  name: string;
  in: string;
  type: string;
  required: boolean;
  description: string;
}

export interface SwaggerOperation {
  summary: string;
  parameters?: SwaggerParameter[];
  responses: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface SwaggerPathItem {
  'x-host'?: string;
  'x-service'?: string;
  get: SwaggerOperation;
}

/** Body of `GET /api/swagger.json` (Swagger 2.0, as the agent writes it). */
export interface SwaggerDocument {
  swagger: '2.0';
  info: Record<string, unknown>;
  externalDocs: Record<string, unknown>;
  host: string;
  basePath: string;
  schemes: string[];
  consumes: string[];
  produces: string[];
  definitions: Record<string, SwaggerDefinition>;
  paths: Record<string, SwaggerPathItem>;
}
