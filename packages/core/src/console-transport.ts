import TransportStream from 'winston-transport';
import { consoleOutput } from './console-output.js';

const MESSAGE = Symbol.for('message');

export interface ConsoleTransportOptions extends TransportStream.TransportStreamOptions {
  /** Levels written to stderr (the rest to stdout). */
  stderrLevels: readonly string[];
}

/**
 * winston's console transport, but writing through `consoleOutput`, so that a
 * live view on the terminal can print the lines above itself.
 */
export class ConsoleTransport extends TransportStream {
  private readonly stderrLevels: ReadonlySet<string>;

  constructor(options: ConsoleTransportOptions) {
    super(options);
    this.stderrLevels = new Set(options.stderrLevels);
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    consoleOutput.write(String(info[MESSAGE]), this.stderrLevels.has(String(info.level)) ? 'stderr' : 'stdout');
    this.emit('logged', info);
    next();
  }
}
