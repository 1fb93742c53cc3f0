import { parseHostPort, DEFAULT_AGENT_PORT, type AdminResponse, type AdminRoute } from '@watched/core';
import { parseRegistration, RegistrationError } from './agent-registrations.js';
import type { Discovery } from './discovery.js';

const OFF: AdminResponse = { status: 404, body: { error: 'the http discovery source is off: start the coordinator with --discovery-http' } };

function refused(err: unknown): AdminResponse {
  if (err instanceof RegistrationError) return { status: 400, body: { error: err.message } };
  throw err;
}

/**
 * The `http` source's endpoints on the coordinator's admin server (admin
 * token required, like every admin write):
 * - `POST /api/agents` `{host, port?, freq?, ssl?, labels?}` registers an
 *   agent or updates its settings (201 new, 200 known): idempotent.
 * - `DELETE /api/agents/HOST:PORT` (or with the same JSON body) removes the
 *   registration (200 either way, `removed` says whether it was listed); the
 *   agent is retired after the grace period unless another source lists it.
 * Either is taken by any replica (the list is in MySQL) and applied by the
 * leader's next discovery pass: at once when the leader took the request,
 * within --discovery-interval when a standby did.
 */
export function agentsEndpoint(discovery: () => Discovery | undefined, wake: () => void): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/api/agents',
      handle: async ({ body }) => {
        const d = discovery();
        if (!d?.httpEnabled) return OFF;
        try {
          const agent = parseRegistration(body);
          const fresh = await d.registrations.register(agent);
          wake();
          return { status: fresh ? 201 : 200, body: { agent: `${agent.host}:${agent.port}`, registered: true, new: fresh } };
        } catch (err) {
          return refused(err);
        }
      },
    },
    {
      method: 'DELETE',
      path: '/api/agents',
      handle: async ({ rest, body }) => {
        const d = discovery();
        if (!d?.httpEnabled) return OFF;
        try {
          const target = rest !== '' ? parseHostPort(rest) : parseRegistration(body);
          const port = target.port ?? DEFAULT_AGENT_PORT;
          const removed = await d.registrations.remove(target.host, port);
          wake();
          return { status: 200, body: { agent: `${target.host}:${port}`, removed } };
        } catch (err) {
          return refused(err);
        }
      },
    },
  ];
}
