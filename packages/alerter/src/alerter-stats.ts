/** Counters of one alerter, for the status line and tests; its parts count into the same object. */
export class AlerterStats {
  /** Event transitions recorded for the first time. */
  events = 0;
  /** Transitions seen again (duplicate publish, retried job): nothing new sent. */
  duplicates = 0;
  /** Transitions recorded but not sent because a silence matched. */
  silenced = 0;
  /** Transitions no route matched (recorded, nobody to tell). */
  unrouted = 0;
  /** Messages handed to plugins. */
  messages = 0;
  /** Plugin calls that failed (each retried with backoff until the attempts run out). */
  sendFailures = 0;
  /** Reminders of still-open events scheduled. */
  reminders = 0;
  /** Delivery rows given up after their job's last attempt. */
  givenUp = 0;
  /** Ledger transitions removed by the retention. */
  purged = 0;
}
