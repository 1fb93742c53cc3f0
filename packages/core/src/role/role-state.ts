import { IllegalStateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServiceState } from '../lifecycle.js';

/** Transitions a role may make; anything else is a bug in the caller. */
const ALLOWED: Record<ServiceState, readonly ServiceState[]> = {
  INITIALIZED: ['RUNNING', 'FAILED', 'STOPPED'],
  RUNNING: ['STOPPING', 'FAILED'],
  STOPPING: ['STOPPED', 'FAILED'],
  STOPPED: [],
  FAILED: ['STOPPED'],
};

/**
 * A role's lifecycle state as an explicit value (as Temporal's worker keeps
 * it): every transition is checked and logged at debug, and a method called
 * in a state that does not allow it throws an IllegalStateError naming both.
 */
export class RoleState {
  private current: ServiceState = 'INITIALIZED';

  constructor(
    private readonly role: string,
    private readonly logger: Logger,
  ) {}

  get value(): ServiceState {
    return this.current;
  }

  get running(): boolean {
    return this.current === 'RUNNING';
  }

  /** Throws unless the state is one of `states`; `action` names what was refused. */
  expect(action: string, ...states: ServiceState[]): void {
    if (!states.includes(this.current)) throw new IllegalStateError(`${this.role} cannot ${action} in state ${this.current}`);
  }

  set(next: ServiceState): void {
    if (next === this.current) return;
    if (!ALLOWED[this.current].includes(next)) throw new IllegalStateError(`${this.role} cannot go from ${this.current} to ${next}`);
    this.logger.debug(`${this.role} ${this.current} -> ${next}`);
    this.current = next;
  }
}
