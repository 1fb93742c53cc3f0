/**
 * How much heavy work one scheduling tick may still do, in agents handled
 * (an agent read, checksummed, planned or balanced counts one). The heavy
 * steps of a tick (adopting a predecessor's schedule, re-planning after a
 * change, reading poll costs, rebalancing) each run only while budget is
 * left, so at a million agents they fall into successive ticks and every tick
 * stays well under a second; with a few thousand agents they all fit in one.
 * A step that has started finishes (it may overdraw); the next one waits.
 */
export class WorkBudget {
  private spent = 0;
  /** The heavy steps run, in order (logs, bench/schedule.mjs). */
  readonly steps: string[] = [];

  constructor(private readonly limit: number) {}

  get left(): boolean {
    return this.spent < this.limit;
  }

  /** Counts a step that handled `agents` (named for the record: `probe`, `plan`, ...). */
  spend(agents: number, step: string): void {
    this.spent += agents;
    if (this.steps.at(-1) !== step) this.steps.push(step);
  }
}
