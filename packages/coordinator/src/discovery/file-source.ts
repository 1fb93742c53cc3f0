import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { agentKey, AgentListError, errorMessage, parseAgentList, type ListedAgent, type Logger } from '@watched/core';
import { AgentSource, type Listing } from './agent-source.js';

/** A change seen by the watcher is read after this quiet time (an editor writes a file in several steps). */
const WATCH_SETTLE_MS = 200;


/** The directory a glob's matches live under: its leading part without wildcards (what is watched). */
function baseDirectory(pattern: string): string {
  const parts = resolve(pattern).split('/');
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  return fixed.join('/') || '/';
}

/**
 * The `file` source: every file matching one glob (YAML, JSON or CSV agent
 * lists, `parseAgentList`), re-read at each refresh and, through a watch on
 * the glob's base directory, within a second of a change. A file that does
 * not parse is refused with its `file:line` and its previous content kept
 * (or nothing, if it never parsed); a file that is gone drops its agents.
 */
export class FileSource extends AgentSource {
  /** The agents of each file, as last parsed successfully. */
  private readonly files = new Map<string, ListedAgent[]>();
  /** What each file was when last read (mtime and size): an unchanged file is not parsed again. */
  private readonly versions = new Map<string, string>();
  private readonly refused = new Map<string, string>();
  private watcher?: FSWatcher;
  private settle?: NodeJS.Timeout;

  constructor(
    private readonly pattern: string,
    logger: Logger,
    /** Told when a watched change was read (discovery reconciles then, not at its next interval). */
    private readonly onChange: () => void,
  ) {
    super('file', `file:${pattern}`, logger);
  }

  /** Starts watching the glob's base directory (a missing one is only re-read at each interval). */
  watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(baseDirectory(this.pattern), { persistent: false, recursive: false }, () => {
        clearTimeout(this.settle);
        this.settle = setTimeout(() => void this.refresh().then(this.onChange), WATCH_SETTLE_MS);
      });
      this.watcher.on('error', (err) => this.logger.warn(`discovery source ${this.name}: watch failed, re-read at each interval only: ${errorMessage(err)}`));
    } catch (err) {
      this.logger.warn(`discovery source ${this.name}: cannot watch ${baseDirectory(this.pattern)} (re-read at each interval only): ${errorMessage(err)}`);
    }
  }

  override close(): void {
    clearTimeout(this.settle);
    this.watcher?.close();
    this.watcher = undefined;
  }

  protected async read(): Promise<Listing> {
    const absolute = resolve(this.pattern);
    const paths = isDynamicPattern(this.pattern) ? await glob(absolute, { absolute: true, onlyFiles: true }) : [absolute];
    const present = new Set<string>();
    for (const path of paths.sort()) {
      let version: string;
      try {
        const s = await stat(path);
        if (!s.isFile()) continue;
        version = `${s.mtimeMs}:${s.size}`;
      } catch {
        continue; // gone between the glob and now (or never there, for a plain path): it lists nothing
      }
      present.add(path);
      if (this.versions.get(path) === version) continue;
      this.versions.set(path, version);
      try {
        this.files.set(path, parseAgentList(path, await readFile(path, 'utf8')));
        this.refused.delete(path);
      } catch (err) {
        this.refused.set(path, err instanceof AgentListError ? err.message : `${path}: ${errorMessage(err)}`);
      }
    }
    for (const known of [this.files, this.versions, this.refused]) for (const path of [...known.keys()]) if (!present.has(path)) known.delete(path);

    const listing = new Map<string, ListedAgent>();
    for (const agents of this.files.values()) for (const agent of agents) if (!listing.has(agentKey(agent))) listing.set(agentKey(agent), agent);
    return listing;
  }

  protected override problem(): string | undefined {
    return this.refused.size ? `refused ${[...this.refused.values()].join('; ')}` : undefined;
  }
}
