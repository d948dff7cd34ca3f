/**
 * The faults of the chaos suite (issue 11): SIGKILL of a server of the native stack or of an app process,
 * healed by starting it again the way the stack (or `npm start`) does; and an operator's Cancel, Terminate or
 * Reset of a few orders' workflows with the `temporal` CLI. Only processes whose pid the stack recorded in
 * its own state dir are ever killed, and only on this machine.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChaosTarget } from './target';
import { getJson, OrderStream } from './stream';

export interface FaultContext {
  target: ChaosTarget;
  stream: OrderStream;
  log(message: string): void;
}

export interface Fault {
  name: string;
  /** The API process itself dies: dropped connections are expected then, and only then. */
  killsApi?: boolean;
  inject(ctx: FaultContext): Promise<void>;
  /** Undoes the fault; absent for faults with nothing to restart (the operator's actions). */
  heal?(ctx: FaultContext): Promise<void>;
  /** What the fault touched, for the report (e.g. the workflows an operator terminated). */
  touched?: string[];
}

/** Servers of stack/stack.sh, by the name of their pid file. */
export const SERVER_FAULTS = ['mariadb', 'redis', 'kafka', 'temporal', 'cassandra', 'opensearch', 'ferretdb'] as const;
/** The variable that points the platform (and stack.sh) at each server (stack/components/*.sh `<name>_env`). */
const SERVER_URL_VARS: Record<string, string> = {
  mariadb: 'MYSQL_URL',
  redis: 'REDIS_URL',
  kafka: 'KAFKA_BROKERS',
  temporal: 'TEMPORAL_ADDRESS',
  cassandra: 'CASSANDRA_CONTACT_POINTS',
  opensearch: 'SEARCH_URL',
  ferretdb: 'MONGO_URL',
};
/** App processes of scripts/start.sh (pid files .stack/run/<name>.pid); the fault names the suite uses. */
export const APP_FAULTS: Record<string, string> = { worker: 'worker', api: 'api', gateway: 'gateway-sim' };
export const OPERATOR_FAULTS = ['cancel', 'terminate', 'reset'] as const;
export const ALL_FAULTS = [...SERVER_FAULTS, ...Object.keys(APP_FAULTS), ...OPERATOR_FAULTS];

export function faultByName(name: string): Fault {
  if ((SERVER_FAULTS as readonly string[]).includes(name)) return serverKill(name);
  if (APP_FAULTS[name]) return appKill(name, APP_FAULTS[name]!);
  if ((OPERATOR_FAULTS as readonly string[]).includes(name))
    return operatorAction(name as (typeof OPERATOR_FAULTS)[number]);
  throw new Error(`unknown fault ${name} (known: ${ALL_FAULTS.join(', ')})`);
}

/** The pid the stack recorded for a component (stack/lib.sh start_bg), if that process still runs. */
export function recordedPid(stateDir: string, component: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(stateDir, 'run', `${component}.pid`), 'utf8').trim());
  } catch {
    return undefined;
  }
  return pid > 1 && alive(pid) ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to the process group start_bg made (setsid), then waits until the leader is gone. */
async function sigkill(stateDir: string, component: string): Promise<number> {
  const pid = recordedPid(stateDir, component);
  if (!pid)
    throw new Error(
      `${component}: no running process recorded in ${stateDir}/run/${component}.pid (was it started by this stack?)`,
    );
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  return pid;
}

function serverKill(component: string): Fault {
  return {
    name: component,
    async inject(ctx) {
      const pid = await sigkill(ctx.target.stateDir, component);
      ctx.log(`${component}: SIGKILL pid ${pid}`);
    },
    async heal(ctx) {
      // Without its URL variable: set (as `stack.sh env` and the test env do), stack.sh takes the server for
      // an external one and starts nothing.
      const env = { ...process.env };
      delete env[SERVER_URL_VARS[component]!];
      await run('bash', ['stack/stack.sh', 'up', component], ctx.target.repoDir, 300_000, env);
      const pid = recordedPid(ctx.target.stateDir, component);
      if (!pid) throw new Error(`${component}: stack.sh up left no running process`);
      ctx.log(`${component}: up again (pid ${pid})`);
    },
  };
}

function appKill(name: string, processName: string): Fault {
  return {
    name,
    killsApi: processName === 'api',
    async inject(ctx) {
      if (!ctx.target.restartApp)
        throw new Error(`${name}: the platform runs in this process; it cannot be killed here`);
      const pid = await sigkill(ctx.target.stateDir, processName);
      ctx.log(`${processName}: SIGKILL pid ${pid}`);
    },
    async heal(ctx) {
      await ctx.target.restartApp!(processName);
      ctx.log(`${processName}: running again`);
    },
  };
}

/** How many orders of each kind an operator acts on. */
const OPERATOR_ORDERS = 3;

/**
 * An operator's Cancel, Terminate or Reset (to the first workflow task, the Web UI's default) of a few sagas:
 * orders awaiting their payment (pm_card_noResponse, still `created`) and orders already `placed`.
 */
function operatorAction(action: (typeof OPERATOR_FAULTS)[number]): Fault {
  const fault: Fault = {
    name: action,
    touched: [],
    async inject(ctx) {
      const awaiting = await pickOrders(ctx, 'pm_card_noResponse', 'created');
      const placed = await pickOrders(ctx, 'pm_card_visa', 'placed');
      for (const id of [...awaiting, ...placed]) {
        const t = ctx.target;
        const common = ['--workflow-id', id, '--address', t.temporalAddress, '--namespace', t.temporalNamespace];
        const args =
          action === 'cancel'
            ? ['workflow', 'cancel', ...common]
            : action === 'terminate'
              ? ['workflow', 'terminate', ...common, '--reason', 'chaos suite: operator terminate']
              : [
                  'workflow',
                  'reset',
                  ...common,
                  '--type',
                  'FirstWorkflowTask',
                  '--reason',
                  'chaos suite: operator reset',
                ];
        await runOperatorCommand(t.temporalCli, args, t.repoDir);
        fault.touched!.push(`${id} (${awaiting.includes(id) ? 'awaiting payment' : 'placed'})`);
      }
      ctx.log(`${action}: ${fault.touched!.join(', ')}`);
    },
  };
  return fault;
}

/**
 * The operator's command, tried again while Temporal answers "Workflow is busy" (a workflow task of the saga is in
 * flight, so its history cannot be read for a reset yet): what an operator in the Web UI does, a moment later.
 */
async function runOperatorCommand(cli: string, args: string[], cwd: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run(cli, args, cwd, 30_000);
      return;
    } catch (err) {
      if (attempt >= 10 || !/Workflow is busy/i.test(String(err))) throw err;
      await sleep(500);
    }
  }
}

/** Up to OPERATOR_ORDERS accepted orders of the stream with this payment method, now in `status`. */
async function pickOrders(ctx: FaultContext, method: string, status: string): Promise<string[]> {
  const out: string[] = [];
  const candidates = ctx.stream
    .accepted()
    .filter((a) => a.method === method)
    .reverse();
  for (const a of candidates) {
    if (out.length >= OPERATOR_ORDERS) break;
    const r = await getJson(ctx.target.apiUrl, `/orders/${a.orderId}`, a.buyer.token).catch(() => undefined);
    if (r?.status === 200 && r.body.status === status && (await sagaHasRun(ctx, a.orderId!))) out.push(a.orderId!);
  }
  return out;
}

/** True once the order's saga has finished its first workflow task: an operator sees it at work then, and only
 * then can a Reset to the first workflow task be made (a saga still waiting for its first task has none). */
async function sagaHasRun(ctx: FaultContext, orderId: string): Promise<boolean> {
  const t = ctx.target;
  const out = await run(
    t.temporalCli,
    [
      'workflow',
      'describe',
      '--workflow-id',
      orderId,
      '--address',
      t.temporalAddress,
      '--namespace',
      t.temporalNamespace,
      '-o',
      'json',
    ],
    t.repoDir,
    10_000,
  ).catch(() => undefined);
  if (!out) return false;
  try {
    // Started, task scheduled, task started, task completed: four events at least.
    return Number(JSON.parse(out).workflowExecutionInfo?.historyLength ?? 0) >= 4;
  } catch {
    return false;
  }
}

/** Runs a command to its end; rejects with its output's tail on a non-zero exit or after `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${out.slice(-1500)}`));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
