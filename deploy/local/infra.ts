import { loadConfig, port, positiveInteger } from '@lovepoints/config';
import { allTopics } from '@lovepoints/events';
import { createKafkaClient } from '@lovepoints/kafka';
import { createLogger, type Logger } from '@lovepoints/logging';
import { connectMongo, pingMongo } from '@lovepoints/mongo';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/**
 * The platform's infrastructure on a machine without Docker: the real Apache Kafka broker (KRaft,
 * one combined broker and controller) and mongo-java-server (the MongoDB wire protocol), both run
 * from Maven Central jars that are fetched once into a cache outside the repository.
 */
export interface InfrastructureOptions {
  /** Jar cache, data, logs and pid files. */
  stateDir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  mongoPort: number;
  /** Keep Kafka's log and MongoDB's data (an H2 file) between runs; otherwise fresh and in memory. */
  persistent: boolean;
  kafkaHeapMb: number;
  mongoHeapMb: number;
  /** How long to wait for both to answer. */
  readyTimeoutMs: number;
  logger: Logger;
}

export interface Infrastructure {
  mongoUrl: string;
  kafkaBrokers: string[];
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const here = __dirname;
const kafkaVersion = '4.1.1';
const mongoServerVersion = '1.47.0';

export function infrastructureOptionsFromEnv(overrides: Partial<InfrastructureOptions> = {}): InfrastructureOptions {
  const config = loadConfig({
    LOCAL_STATE_DIR: z.string().default(path.join(homedir(), '.cache', 'lovepoints')),
    KAFKA_PORT: port(9092),
    KAFKA_CONTROLLER_PORT: port(9093),
    MONGO_PORT: port(27017),
    KAFKA_HEAP_MB: positiveInteger(512),
    MONGO_HEAP_MB: positiveInteger(256),
  });
  return {
    stateDir: config.LOCAL_STATE_DIR,
    kafkaPort: config.KAFKA_PORT,
    kafkaControllerPort: config.KAFKA_CONTROLLER_PORT,
    mongoPort: config.MONGO_PORT,
    persistent: true,
    kafkaHeapMb: config.KAFKA_HEAP_MB,
    mongoHeapMb: config.MONGO_HEAP_MB,
    readyTimeoutMs: 120_000,
    logger: createLogger('infrastructure'),
    ...overrides,
  };
}

/** Resolves a pom's dependencies into `<stateDir>/<name>` once; an interrupted fetch leaves nothing behind. */
async function ensureJars(options: InfrastructureOptions, pomFile: string, name: string): Promise<string> {
  const target = path.join(options.stateDir, name);
  if (existsSync(path.join(target, '.complete'))) return target;
  mkdirSync(options.stateDir, { recursive: true });
  const staging = mkdtempSync(path.join(options.stateDir, `${name}.partial-`));
  options.logger.info({ name }, 'fetching jars from Maven Central (once)');
  try {
    await execFileAsync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        path.join(here, pomFile),
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
        `-DoutputDirectory=${staging}`,
        '-DincludeScope=runtime',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'Maven (mvn) is not installed: install Java 17 and Maven, or set MONGO_URL and KAFKA_BROKERS.'
        : `Fetching ${name} with Maven failed: ${String(error)}`,
    );
  }
  writeFileSync(path.join(staging, '.complete'), new Date().toISOString());
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return target;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFile(stateDir: string, name: string, portNumber: number): string {
  return path.join(stateDir, 'run', `${name}-${portNumber}.pid`);
}

/** Kills the process group a pid file names, if that process is still alive. */
async function killRecorded(file: string, graceMs: number): Promise<void> {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // The group is already gone.
    }
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (isAlive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }
  }
  rmSync(file, { force: true });
}

function portIsFree(portNumber: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(portNumber, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface JvmProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  pidFile: string;
}

/** Starts a JVM in its own process group, its output in a log file and its pid in a pid file. */
function startJvm(options: InfrastructureOptions, name: string, portNumber: number, args: string[]): JvmProcess {
  const logFile = path.join(options.stateDir, 'logs', `${name}-${portNumber}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const output = openSync(logFile, 'w');
  const child = spawn('java', args, { detached: true, stdio: ['ignore', output, output] });
  closeSync(output);
  const file = pidFile(options.stateDir, name, portNumber);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, String(child.pid));
  return { name, child, logFile, pidFile: file };
}

function kafkaProperties(options: InfrastructureOptions, dataDir: string): string {
  const { kafkaPort, kafkaControllerPort } = options;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${kafkaControllerPort}`,
    'controller.listener.names=CONTROLLER',
    `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaControllerPort}`,
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${path.join(dataDir, 'kafka-logs')}`,
    'num.partitions=3',
    // One broker: every internal topic has one replica, or consumer groups never find a coordinator.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly at start-up, so a misspelt topic fails loudly.
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

const log4jProperties = [
  'rootLogger.level = WARN',
  'rootLogger.appenderRef.console.ref = console',
  'appender.console.type = Console',
  'appender.console.name = console',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = [%d] %p %m (%c)%n',
  '',
].join('\n');

async function waitUntil(what: string, jvm: JvmProcess, deadline: number, probe: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (jvm.child.exitCode !== null)
      throw new Error(`${what} exited during start-up (code ${jvm.child.exitCode}).\n--- ${jvm.logFile} ---\n${tail(jvm.logFile)}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer in time.\n--- ${jvm.logFile} ---\n${tail(jvm.logFile)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Starts Kafka and the MongoDB-protocol server in parallel, waits until both answer (Kafka a
 * metadata request, MongoDB a ping), creates every topic, and returns how to reach and stop them.
 */
export async function startInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const { logger } = options;
  const [kafkaJars, mongoJars] = await Promise.all([
    ensureJars(options, 'kafka.pom.xml', `kafka-${kafkaVersion}`),
    ensureJars(options, 'mongo.pom.xml', `mongo-${mongoServerVersion}`),
  ]);

  // A previous run that crashed may have left its JVMs behind: those are ours to stop.
  await killRecorded(pidFile(options.stateDir, 'kafka', options.kafkaPort), 5000);
  await killRecorded(pidFile(options.stateDir, 'mongo', options.mongoPort), 5000);
  const ports = [
    ['KAFKA_PORT', options.kafkaPort],
    ['KAFKA_CONTROLLER_PORT', options.kafkaControllerPort],
    ['MONGO_PORT', options.mongoPort],
  ] as const;
  for (const [variable, portNumber] of ports) {
    if (!(await portIsFree(portNumber))) throw new Error(`Port ${portNumber} is already in use; set ${variable} to a free port (or stop what uses it).`);
  }

  const dataRoot = options.persistent ? path.join(options.stateDir, 'data') : mkdtempSync(path.join(tmpdir(), 'lovepoints-infra-'));
  const kafkaData = path.join(dataRoot, `kafka-${options.kafkaPort}`);
  mkdirSync(kafkaData, { recursive: true });
  const propertiesFile = path.join(kafkaData, 'server.properties');
  writeFileSync(propertiesFile, kafkaProperties(options, kafkaData));
  const log4jFile = path.join(kafkaData, 'log4j2.properties');
  writeFileSync(log4jFile, log4jProperties);
  const classPath = (folder: string) => `${folder}${path.sep}*`;
  if (!existsSync(path.join(kafkaData, 'kafka-logs', 'meta.properties'))) {
    // Any 22-character base64url string is a valid cluster id. It may start with '-', so it goes
    // in one argument as --cluster-id=<id>; on its own the parser would take it for a flag.
    const clusterId = randomBytes(16).toString('base64url');
    await execFileAsync('java', [
      '-cp',
      classPath(kafkaJars),
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId}`,
      '-c',
      propertiesFile,
      '--ignore-formatted',
    ]);
  }

  const kafka = startJvm(options, 'kafka', options.kafkaPort, [
    `-Xmx${options.kafkaHeapMb}m`,
    `-Xms${Math.min(256, options.kafkaHeapMb)}m`,
    '-XX:+UseSerialGC',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    classPath(kafkaJars),
    'kafka.Kafka',
    propertiesFile,
  ]);
  const mongoArgs = [
    `-Xmx${options.mongoHeapMb}m`,
    '-XX:+UseSerialGC',
    '-cp',
    classPath(mongoJars),
    path.join(here, 'MongoLauncher.java'),
    String(options.mongoPort),
  ];
  if (options.persistent) mongoArgs.push(path.join(dataRoot, `mongo-${options.mongoPort}.mv`));
  const mongo = startJvm(options, 'mongo', options.mongoPort, mongoArgs);
  const jvms = [kafka, mongo];

  // Last resort: if this process exits without stopping them, its JVMs go with it.
  const killOnExit = () => {
    for (const jvm of jvms) {
      try {
        if (jvm.child.pid !== undefined) process.kill(-jvm.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.on('exit', killOnExit);

  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    await Promise.all(jvms.map((jvm) => killRecorded(jvm.pidFile, 10_000)));
    if (!options.persistent) rmSync(dataRoot, { recursive: true, force: true });
    logger.info('infrastructure stopped');
  }

  const mongoUrl = `mongodb://127.0.0.1:${options.mongoPort}`;
  const kafkaBrokers = [`127.0.0.1:${options.kafkaPort}`];
  const deadline = Date.now() + options.readyTimeoutMs;
  try {
    await Promise.all([
      waitUntil('mongo-java-server', mongo, deadline, async () => {
        const connection = await connectMongo({ url: mongoUrl, databaseName: 'admin', logger, attempts: 1 }).catch(() => undefined);
        if (connection === undefined) return false;
        const answered = await pingMongo(connection);
        await connection.close();
        return answered;
      }),
      (async () => {
        const client = createKafkaClient({ brokers: kafkaBrokers, clientId: 'infrastructure', logger: createLogger('infrastructure', 'fatal') });
        try {
          await waitUntil('Kafka', kafka, deadline, () => client.ping());
          await client.ensureTopics(allTopics);
        } finally {
          await client.disconnect();
        }
      })(),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info({ mongoUrl, kafkaBrokers }, 'infrastructure ready');
  return { mongoUrl, kafkaBrokers, stop };
}

/** Stops the JVMs recorded in the state folder's pid files (for `npm run infra:stop`). */
export async function stopInfrastructure(stateDir: string): Promise<void> {
  const runDir = path.join(stateDir, 'run');
  if (!existsSync(runDir)) return;
  const { readdirSync } = await import('node:fs');
  await Promise.all(
    readdirSync(runDir)
      .filter((name) => name.endsWith('.pid'))
      .map((name) => killRecorded(path.join(runDir, name), 10_000)),
  );
  for (const name of readdirSync(runDir)) if (name.endsWith('.pid')) unlinkSync(path.join(runDir, name));
}
