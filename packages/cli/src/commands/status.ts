import type { CommandModule } from 'yargs';
import { Queue } from 'bullmq';
import { ALERTS_QUEUE } from '@watched/core';
import { readAlertStatus, type AlertStatus } from '@watched/alerter';
import { dueSlot, groupLagMs, type GroupSchedule } from '@watched/coordinator';
import {
  AgentStateTable,
  baseOptionsShape,
  compileConnectionOptions,
  createMysqlPool,
  createRedis,
  describeError,
  POLL_QUEUE,
  pollJobId,
  readMembers,
  RedisKeys,
  TermStore,
  type MemberInfo,
  type RedisMasterView,
  type MysqlWriterStatus,
  type Pool,
  type Redis,
  type RowDataPacket,
} from '@watched/core';
import { groupLaneCounts, type GroupLaneCounts } from '../agent-lane-view.js';
import { requireServers } from '../dependency-checks.js';
import { resolveOptions, withBaseOptions } from '../options.js';

interface StatusArgs {
  json?: boolean;
}

export interface GroupStatus {
  group: string;
  agents: number;
  frequencyMs: number;
  /** The slot due now. */
  dueSlot: number;
  /** Latest slot enqueued (null: none yet). */
  enqueuedSlot: number | null;
  /**
   * How far the latest enqueued slot is behind the due one (0: on time);
   * grows while slots are skipped or no one leads. When the latest job
   * failed (or waits for its retry), its slot was not polled: at least the
   * time since that slot.
   */
  lagMs: number;
  /** Lagging, or its latest job failed: never shown as on time while its jobs fail. */
  behind: boolean;
  /** Failed jobs of the group still kept in the queue. */
  failedJobs: number;
  /** Members whose latest poll failed (`agt$state`); null without MySQL. */
  failedAgents: number | null;
  skipped: number;
  /** State of the latest enqueued job (`completed`, `active`, `waiting`, `failed`, `unknown` once trimmed). */
  lastJobState: string;
  /** When the latest job finished (epoch ms), if it did. */
  lastPollAt: number | null;
  /** Sum of the members' measured poll cost (ms), as the leader balanced them; null before it was measured. */
  costMs: number | null;
  /** The group's members (`c$agents.id`): the assignment. */
  agentIds: number[];
  /** Members off the hot path (slow lane, backed off); null without MySQL or before migration 0013. */
  lanes: GroupLaneCounts | null;
}

/** One process and the roles it runs (`watched up` runs all of them under one node id). */
export interface ProcessStatus {
  nodeId: string;
  host: string;
  pid: number;
  roles: string[];
  /** The Redis master its roles use and the failovers they saw (the role that saw most); absent from older versions. */
  redis?: RedisMasterView;
  /** Where the process writes in MySQL (from its members' records; absent for processes that do not say). */
  mysql?: MysqlWriterStatus;
}

export interface ClusterStatus {
  at: number;
  leader: { nodeId: string; term: number; expiresInMs: number } | null;
  /** Highest term ever handed out: the Redis counter and the MySQL record (c$leases). */
  terms: { redis: number; mysql: number | null };
  coordinators: MemberInfo[];
  standbys: string[];
  workers: MemberInfo[];
  /** Aggregators, alerters, ...: every member that is neither a coordinator nor a worker. */
  others: MemberInfo[];
  /** The members grouped by process: each process with every role it runs. */
  processes: ProcessStatus[];
  queue: { waiting: number; active: number; delayed: number; failed: number; completed: number; prioritized: number };
  /** Age of the oldest waiting job in ms (null: none waiting). */
  oldestWaitingMs: number | null;
  groups: GroupStatus[];
  /** Alerting: owed and given-up deliveries (MySQL) and the `alerts` queue; null without MySQL or before migration 0006. */
  alerts: AlertStatus | null;
  /** Where the agents came from (MySQL) and the leader's discovery sources (its heartbeat); null without MySQL or before migration 0010. */
  discovery: DiscoveryStatus | null;
}

export interface DiscoveryStatus {
  /** Agents in c$agents added by hand, an import or the front (never touched by discovery). */
  manual: number;
  /** Agents discovery added and still polls, by the sources listing them (`file:... dns:...`). */
  discovered: Record<string, number>;
  /** Discovered agents retired (kept in c$agents, no longer polled). */
  retired: number;
  /** The leader's sources after its last pass: agents each lists and its error, if any. */
  sources: Array<{ name: string; agents: number | null; error?: string }>;
  lastPassAt: number | null;
}

/** Counts of agents by origin (one grouped read), and the leader's view of its sources. */
async function readDiscoveryStatus(pool: Pool, leader: MemberInfo | undefined): Promise<DiscoveryStatus> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT d.sources, d.retired_at IS NOT NULL AS retired, COUNT(*) AS n FROM `c$agents` a LEFT JOIN `agt$discovery` d ON d.agent_id = a.id GROUP BY d.sources, retired',
  );
  const out: DiscoveryStatus = { manual: 0, discovered: {}, retired: 0, sources: [], lastPassAt: null };
  for (const r of rows) {
    const n = Number(r.n);
    if (r.sources === null) out.manual += n;
    else if (Number(r.retired)) out.retired += n;
    else out.discovered[String(r.sources)] = (out.discovered[String(r.sources)] ?? 0) + n;
  }
  const stats = leader?.details.discovery as { sources?: DiscoveryStatus['sources']; lastPassAt?: number | null } | undefined;
  out.sources = stats?.sources ?? [];
  out.lastPassAt = stats?.lastPassAt ?? null;
  return out;
}

/** Everything `watched status` shows, read from Redis (lease, members, queue, schedule) and MySQL (terms). */
export async function collectStatus(redis: Redis, keys: RedisKeys, pool?: Pool, now = Date.now()): Promise<ClusterStatus> {
  const queue = new Queue(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix });
  // Failures reject the reads below; without a listener BullMQ prints the raw error (AUTH arguments included).
  queue.on('error', () => undefined);
  // The alerting backlog is read with MySQL only (its ledger): no queue handle without it.
  const alertsQueue = pool ? new Queue(ALERTS_QUEUE, { connection: redis, prefix: keys.bullPrefix }) : undefined;
  alertsQueue?.on('error', () => undefined);
  try {
    const [leaseValue, leaseTtl, redisTerm, members, counts, oldest, schedule] = await Promise.all([
      redis.get(keys.leaderLease),
      redis.pttl(keys.leaderLease),
      redis.get(`${keys.leaderLease}:term`),
      readMembers(redis, keys, now),
      queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'),
      queue.getJobs(['waiting'], 0, 0, true),
      redis.hgetall(keys.schedule),
    ]);
    let mysqlTerm: number | null = null;
    if (pool) mysqlTerm = await new TermStore(pool, keys.leaderTermRecord).highest().catch(() => null);
    const alerts = pool ? await readAlertStatus(pool, alertsQueue).catch(() => null) : null;
    const offPath = pool ? await new AgentStateTable(pool).slowAgents().catch(() => null) : null;

    let leader: ClusterStatus['leader'] = null;
    if (leaseValue) {
      const at = leaseValue.lastIndexOf(':');
      leader = { nodeId: leaseValue.slice(0, at), term: Number(leaseValue.slice(at + 1)), expiresInMs: leaseTtl };
    }
    const coordinators = members.filter((m) => m.role === 'coordinator');
    const failedJobs = await failedJobsByGroup(queue);
    const failingAgents = pool ? await failingAgentIds(pool).catch(() => null) : null;
    const groups = await Promise.all(
      Object.entries(schedule).map(async ([group, json]): Promise<GroupStatus> => {
        const entry = JSON.parse(json) as GroupSchedule;
        const due = dueSlot({ pollIntervalMs: entry.frequencyMs, offsetMs: entry.offsetMs }, now);
        const job = entry.enqueuedSlot === null ? undefined : await queue.getJob(pollJobId(group, entry.enqueuedSlot));
        const state = job ? await job.getState() : 'unknown';
        const jobFailed = state === 'failed' || state === 'delayed';
        const lagMs = Math.max(groupLagMs(entry, now), jobFailed && entry.enqueuedSlot !== null ? now - entry.enqueuedSlot : 0);
        const agentIds = entry.agentIds ?? [];
        return {
          group,
          agents: entry.agents,
          frequencyMs: entry.frequencyMs,
          dueSlot: due,
          enqueuedSlot: entry.enqueuedSlot,
          lagMs,
          behind: lagMs > 0 || jobFailed,
          failedJobs: failedJobs.get(group) ?? 0,
          failedAgents: failingAgents ? agentIds.filter((id) => failingAgents.has(id)).length : null,
          skipped: entry.skipped,
          lastJobState: state,
          lastPollAt: job?.finishedOn ?? null,
          costMs: entry.costMs ?? null,
          agentIds,
          lanes: offPath ? groupLaneCounts(agentIds, offPath, now) : null,
        };
      }),
    );
    groups.sort((a, b) => Number(b.behind) - Number(a.behind) || b.lagMs - a.lagMs || a.group.localeCompare(b.group, 'en', { numeric: true }));
    return {
      at: now,
      leader,
      terms: { redis: Number(redisTerm ?? 0), mysql: mysqlTerm },
      coordinators,
      standbys: coordinators.filter((m) => m.nodeId !== leader?.nodeId).map((m) => m.nodeId),
      workers: members.filter((m) => m.role === 'worker'),
      others: members.filter((m) => m.role !== 'coordinator' && m.role !== 'worker'),
      processes: processesOf(members),
      queue: {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        completed: counts.completed ?? 0,
        prioritized: counts.prioritized ?? 0,
      },
      oldestWaitingMs: oldest[0] ? now - oldest[0].timestamp : null,
      groups,
      alerts,
      discovery: pool ? await readDiscoveryStatus(pool, coordinators.find((m) => m.nodeId === leader?.nodeId)).catch(() => null) : null,
    };
  } finally {
    await queue.close().catch(() => undefined);
    await alertsQueue?.close().catch(() => undefined);
  }
}

/** Failed jobs kept in the poll queue, by group (the newest 1,000). */
async function failedJobsByGroup(queue: Queue): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const job of await queue.getJobs(['failed'], 0, 999)) {
    const group = (job?.data as { group?: unknown } | undefined)?.group;
    if (typeof group === 'string') counts.set(group, (counts.get(group) ?? 0) + 1);
  }
  return counts;
}

/** Agents whose latest poll failed. */
async function failingAgentIds(pool: Pool): Promise<Set<number>> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT agt_id FROM `agt$state` WHERE consecutive_failures > 0');
  return new Set(rows.map((r) => Number(r.agt_id)));
}

/** Members are one per role of a process: grouped back by node id, roles in name order. */
function processesOf(members: readonly MemberInfo[]): ProcessStatus[] {
  const byNode = new Map<string, ProcessStatus>();
  for (const m of members) {
    const entry = byNode.get(m.nodeId) ?? { nodeId: m.nodeId, host: m.host, pid: m.pid, roles: [] };
    entry.roles.push(m.role);
    if (m.redis && (!entry.redis || m.redis.failovers > entry.redis.failovers)) entry.redis = m.redis;
    if (m.mysql) entry.mysql ??= m.mysql;
    byNode.set(m.nodeId, entry);
  }
  return [...byNode.values()].map((p) => ({ ...p, roles: p.roles.sort() })).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

function ago(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Where each process writes in MySQL and the failovers it saw: one line, and one per process on a multi-host URL or after a failover. */
function mysqlWriterLines(s: ClusterStatus): string[] {
  const writing = s.processes.filter((p): p is ProcessStatus & { mysql: MysqlWriterStatus } => p.mysql !== undefined);
  if (writing.length === 0) return [];
  const writers = [...new Set(writing.map((p) => p.mysql.writer ?? 'none'))];
  const failovers = writing.reduce((sum, p) => sum + p.mysql.failovers.length, 0);
  const lines = [
    `mysql       ${writers.length === 1 ? `writer ${writers[0]}` : `${writers.length} writers: ${writers.join(', ')}`}, ${failovers} failovers seen`,
  ];
  for (const p of writing) {
    const { writer, hosts, failovers: seen } = p.mysql;
    const last = seen.at(-1);
    if (hosts.length < 2 && !last) continue;
    const lastText = last ? `; last ${ago(s.at - last.at)} ago ${last.from} -> ${last.to} (${last.reason})` : '';
    lines.push(`  ${p.nodeId}  writes to ${writer ?? 'none (choosing)'} of ${hosts.join(',')}  ${seen.length} failovers${lastText}`);
  }
  return lines;
}

/** The human-readable form. */
export function formatStatus(s: ClusterStatus, maxGroups = 20): string {
  const lines: string[] = [];
  lines.push(
    s.leader
      ? `leader      ${s.leader.nodeId} (term ${s.leader.term}, lease expires in ${ago(s.leader.expiresInMs)})`
      : 'leader      none (no coordinator holds the lease)',
  );
  lines.push(`terms       redis ${s.terms.redis}, mysql ${s.terms.mysql ?? '-'}`);
  lines.push(`standbys    ${s.standbys.length ? s.standbys.join(', ') : 'none'}`);
  lines.push(`workers     ${s.workers.length} alive`);
  for (const w of s.workers) {
    const d = w.details as { state?: string; active?: number; concurrency?: number; jobs?: number };
    lines.push(
      `  ${w.nodeId}  v${w.version}  up ${ago(s.at - w.startedAt)}  ${d.state ?? ''} ${d.active ?? 0}/${d.concurrency ?? '?'} running, ${d.jobs ?? 0} done  (seen ${ago(s.at - w.heartbeatAt)} ago)`,
    );
  }
  for (const o of s.others) lines.push(`${o.role.padEnd(11)} ${o.nodeId} (seen ${ago(s.at - o.heartbeatAt)} ago)`);
  // Only processes running several roles (`watched up`) are listed: one-role processes are in the lines above already.
  const shared = s.processes.filter((p) => p.roles.length > 1);
  lines.push(`processes   ${s.processes.length}${shared.length ? `, ${shared.length} running several roles` : ''}`);
  for (const p of shared) lines.push(`  ${p.nodeId}  ${p.roles.join(', ')}`);
  lines.push(...mysqlWriterLines(s));
  const q = s.queue;
  lines.push(
    `queue       waiting ${q.waiting + q.prioritized}, active ${q.active}, delayed ${q.delayed}, failed ${q.failed}, completed (kept) ${q.completed}; oldest waiting ${ago(s.oldestWaitingMs)}`,
  );
  const lagging = s.groups.filter((g) => g.behind).length;
  const failedJobs = s.groups.reduce((n, g) => n + g.failedJobs, 0);
  const failedAgents = s.groups.reduce((n, g) => n + (g.failedAgents ?? 0), 0);
  lines.push(`groups      ${s.groups.length} (${lagging} behind; ${failedJobs} failed jobs, ${failedAgents} failed agents)${formatOffPathTotal(s.groups)}`);
  for (const g of s.groups.slice(0, maxGroups)) {
    lines.push(
      `  ${g.group.padEnd(18)} ${String(g.agents).padStart(5)} agents  cost ${(g.costMs === null ? '-' : ago(g.costMs)).padEnd(8)} lag ${ago(g.lagMs).padEnd(8)} skipped ${String(g.skipped).padEnd(4)} last job ${g.lastJobState.padEnd(9)} last poll ${g.lastPollAt ? `${ago(s.at - g.lastPollAt)} ago` : '-'}` +
        `  failed jobs ${g.failedJobs}, agents ${g.failedAgents ?? '-'}${g.behind ? '  BEHIND' : ''}${formatOffPath(g.lanes)}`,
    );
  }
  if (s.groups.length > maxGroups) lines.push(`  ... ${s.groups.length - maxGroups} more (--json lists all)`);
  lines.push(...formatAlerts(s));
  lines.push(...formatDiscovery(s));
  lines.push(...formatRedisMasters(s));
  return lines.join('\n');
}

/** A group's agents off the hot path, when it has any. */
function formatOffPath(lanes: GroupLaneCounts | null): string {
  return lanes && lanes.slow + lanes.backedOff > 0 ? `  slow ${lanes.slow} backed off ${lanes.backedOff}` : '';
}

/** All groups' agents off the hot path, on the groups line. */
function formatOffPathTotal(groups: readonly GroupStatus[]): string {
  const slow = groups.reduce((n, g) => n + (g.lanes?.slow ?? 0), 0);
  const backedOff = groups.reduce((n, g) => n + (g.lanes?.backedOff ?? 0), 0);
  return slow + backedOff > 0 ? `; agents off the hot path: ${slow} slow, ${backedOff} backed off` : '';
}

/** Which Redis master the processes use (several: a failover still being followed) and the failovers each saw. */
function formatRedisMasters(s: ClusterStatus): string[] {
  const reporting = s.processes.filter((p) => p.redis);
  if (reporting.length === 0) return [];
  const masters = new Map<string, number>();
  for (const p of reporting) masters.set(p.redis!.master ?? 'none', (masters.get(p.redis!.master ?? 'none') ?? 0) + 1);
  const seen = reporting.filter((p) => p.redis!.failovers > 0);
  const lines = [
    `redis       master ${[...masters].map(([m, n]) => `${m} (${n} process${n === 1 ? '' : 'es'})`).join(', ')}; ${seen.length ? `failovers seen by ${seen.length}` : 'no failover seen'}`,
  ];
  for (const p of seen) {
    const r = p.redis!;
    lines.push(`  ${p.nodeId}  ${r.failovers} failover${r.failovers === 1 ? '' : 's'}, latest ${r.lastFailoverAt ? `${ago(s.at - r.lastFailoverAt)} ago` : '-'}, now on ${r.master ?? 'none'}`);
  }
  return lines;
}

function formatAlerts(s: ClusterStatus): string[] {
  const a = s.alerts;
  if (!a) return ['alerts      - (no MySQL ledger)'];
  const j = a.jobs;
  const lines = [
    `alerts      owed ${a.pendingDeliveries} (oldest ${a.oldestPendingAt === null ? '-' : `${ago(s.at - a.oldestPendingAt)} ago`}), ` +
      `failed ${a.failedDeliveries}${j ? `; jobs waiting ${j.waiting}, delayed ${j.delayed}, active ${j.active}, failed ${j.failed}` : ''}`,
  ];
  const f = a.latestFailure;
  if (f) {
    lines.push(`  latest failure ${ago(s.at - f.failedAt)} ago to ${f.receiver} after ${f.attempts} attempts: ${f.error ?? '?'} (${f.event})`);
  }
  return lines;
}

function formatDiscovery(s: ClusterStatus): string[] {
  const d = s.discovery;
  if (!d) return [];
  const discovered = Object.values(d.discovered).reduce((a, b) => a + b, 0);
  const lines = [`agents      ${d.manual + discovered + d.retired} (${d.manual} by hand or the front, ${discovered} discovered, ${d.retired} retired)`];
  for (const [sources, n] of Object.entries(d.discovered).sort()) lines.push(`  ${String(n).padStart(6)}  from ${sources}`);
  if (d.sources.length) {
    lines.push(`discovery   last pass ${d.lastPassAt === null ? '-' : `${ago(s.at - d.lastPassAt)} ago`}`);
    for (const src of d.sources) lines.push(`  ${src.name}: ${src.agents === null ? 'not read yet' : `${src.agents} agents`}${src.error ? `, ERROR ${src.error}` : ''}`);
  }
  return lines;
}

/** `watched status [--json]`: the cluster as Redis and MySQL see it. */
export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Show the leader and its term, standbys, live workers, queue depth and per-group lag',
  builder: (yargs) => withBaseOptions(yargs).option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (argv) => {
    const options = resolveOptions(argv as unknown as Record<string, unknown>, baseOptionsShape);
    const connections = compileConnectionOptions(options);
    // Down or refusing: one line naming which and where, exit code 1 (never a client's error dump).
    await requireServers(connections, { mysql: 'database', redis: true });
    const redis = createRedis(connections.redis, { connectionName: 'watched-status' });
    const pool = createMysqlPool(connections.mysql, { connectionLimit: 1 });
    try {
      const status = await collectStatus(redis, RedisKeys.of(options.prefix, connections.redis), pool);
      console.log(argv.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    } catch (err) {
      console.error(`watched: status: ${describeError(err)}`);
      process.exitCode = 1;
    } finally {
      await redis.quit().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
  },
};
