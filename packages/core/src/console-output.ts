/** Something that takes the process's console lines instead of stdout/stderr: a live view prints them above itself. */
export interface ConsoleWriter {
  /** One rendered log line, without its line end. */
  writeLine(line: string): void;
}

/**
 * Where the console transport's lines go: stdout (errors to stderr) unless a
 * writer has taken them. The terminal is the process's, so this is one object
 * per process: a live view redirects it while it owns the bottom of the
 * screen, so no log line is written through the view.
 */
export class ConsoleOutput {
  private writer?: ConsoleWriter;

  /** Sends every console line to `writer` until the returned function is called. */
  redirect(writer: ConsoleWriter): () => void {
    this.writer = writer;
    return () => {
      if (this.writer === writer) this.writer = undefined;
    };
  }

  write(line: string, stream: 'stdout' | 'stderr'): void {
    if (this.writer) this.writer.writeLine(line);
    else process[stream].write(`${line}\n`);
  }
}

/** The process's console. */
export const consoleOutput = new ConsoleOutput();
