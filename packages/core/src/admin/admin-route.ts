/** What a route answers: an HTTP status and a JSON body. */
export interface AdminResponse {
  status: number;
  body: unknown;
}

/**
 * A write endpoint a role adds to its process's admin server (e.g. the
 * coordinator's `POST /api/agents`). Routes always need the admin token: with
 * none configured they answer 403, so a write is never open by default.
 */
export interface AdminRoute {
  method: 'POST' | 'PUT' | 'DELETE';
  /** The path, e.g. `/api/agents`; `/api/agents/<rest>` matches too, with `rest` given to the handler. */
  path: string;
  /** `body` is the parsed JSON request body (undefined when empty); a thrown error is a 500. */
  handle(request: { rest: string; body: unknown }): Promise<AdminResponse>;
}

/** Largest request body a route reads (a registration is a few hundred bytes). */
export const ADMIN_ROUTE_MAX_BODY = 64 * 1024;
