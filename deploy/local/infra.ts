import { loadConfig, port, positiveInteger } from '@lovepoints/config';
import { allTopics } from '@lovepoints/events';
import { createKafkaClient } from '@lovepoints/kafka';
import { createLogger, type Logger } from '@lovepoints/logging';
import { connectMongo, pingMongo } from '@lovepoints/mongo';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/**
 * The platform's infrastructure on a machine without Docker: the real Apache Kafka broker (KRaft,
 * one combined broker and controller) and mongo-java-server (the MongoDB wire protocol), both run
 * from Maven Central jars that are fetched once into a cache outside the repository. Both listen on
 * 127.0.0.1 only.
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
  /** How long to wait for both to answer once their JVMs are started. */
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
const stopGraceMs = 10_000;

/** What each JVM's command line contains, so a pid file never leads us to kill an unrelated process. */
const commandMarkers = { kafka: 'kafka.Kafka', mongo: 'MongoLauncher' } as const;
type JvmName = keyof typeof commandMarkers;

export function infrastructureOptionsFromEnv(overrides: Partial<InfrastructureOptions> = {}): InfrastructureOptions {
  const config = loadConfig({
    LOCAL_STATE_DIR: z
      .string()
      .min(1)
      .default(path.join(homedir(), '.cache', 'lovepoints')),
    KAFKA_PORT: port(9092),
    KAFKA_CONTROLLER_PORT: port(9093),
    MONGO_PORT: port(27017),
    KAFKA_HEAP_MB: positiveInteger(512),
    MONGO_HEAP_MB: positiveInteger(1024),
  });
  const options: InfrastructureOptions = {
    stateDir: path.resolve(config.LOCAL_STATE_DIR),
    kafkaPort: config.KAFKA_PORT,
    kafkaControllerPort: config.KAFKA_CONTROLLER_PORT,
    mongoPort: config.MONGO_PORT,
    persistent: true,
    kafkaHeapMb: config.KAFKA_HEAP_MB,
    mongoHeapMb: config.MONGO_HEAP_MB,
    readyTimeoutMs: 90_000,
    logger: overrides.logger ?? createLogger('infrastructure'),
    ...overrides,
  };
  return { ...options, stateDir: path.resolve(options.stateDir) };
}

/** What a failed child process printed, which says more than its exit code. */
function processFailure(error: unknown): string {
  const { stdout, stderr } = error as { stdout?: unknown; stderr?: unknown };
  const printed = [stdout, stderr]
    .filter((text): text is string => typeof text === 'string')
    .join('\n')
    .trim();
  return printed || (error instanceof Error ? error.message : String(error));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fails with a message saying what to install when a command is not on the PATH. */
async function requireCommand(command: string, versionArgs: string[], installHint: string): Promise<void> {
  try {
    await execFileAsync(command, versionArgs, { timeout: 60_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`'${command}' was not found on the PATH. ${installHint}`);
    }
    throw new Error(`'${command} ${versionArgs.join(' ')}' failed: ${String(error)}`);
  }
}

const installHint =
  'The local infrastructure needs Java 17+ and Maven (for example `apt-get install openjdk-17-jre-headless maven`); ' +
  '(npm start and npm test also take a running MongoDB and Kafka: set both MONGO_URL and KAFKA_BROKERS).';

/**
 * Resolves a pom's dependencies into `<stateDir>/<name>` once. Maven writes into a staging folder
 * that is renamed into place only when complete, so an interrupted fetch never leaves a half
 * folder that a later run would take for a good one.
 */
async function ensureJars(options: InfrastructureOptions, pomFile: string, name: string): Promise<string> {
  const target = path.join(options.stateDir, name);
  const completeMarker = (folder: string) => path.join(folder, '.complete');
  if (existsSync(completeMarker(target))) return target;
  await requireCommand('mvn', ['-v'], installHint);
  mkdirSync(options.stateDir, { recursive: true });
  // Staging folders of fetches that were interrupted; a recent one may belong to a fetch that runs now.
  for (const entry of readdirSync(options.stateDir)) {
    const folder = path.join(options.stateDir, entry);
    if (entry.startsWith(`${name}.partial-`) && Date.now() - statSync(folder).mtimeMs > 15 * 60_000) rmSync(folder, { recursive: true, force: true });
  }
  const staging = mkdtempSync(path.join(options.stateDir, `${name}.partial-`));
  options.logger.info({ jars: name, target }, 'fetching jars from Maven Central (once)');
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
    writeFileSync(completeMarker(staging), new Date().toISOString());
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`Fetching ${name} with Maven failed (is Maven Central reachable?):\n${processFailure(error)}`);
  }
  // A folder left without its marker (copied by hand, or from an older script) is replaced. When
  // another run finished the same fetch first, its folder is kept, since a JVM may already use it.
  if (existsSync(target) && !existsSync(completeMarker(target))) rmSync(target, { recursive: true, force: true });
  try {
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(completeMarker(target))) throw error;
  }
  return target;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, or undefined when it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    const procFile = `/proc/${pid}/cmdline`;
    if (existsSync('/proc/self/cmdline')) return readFileSync(procFile, 'utf8').split('\0').join(' ');
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

function pidFile(stateDir: string, name: JvmName, portNumber: number): string {
  return path.join(stateDir, 'run', `${name}-${portNumber}.pid`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Beside a JVM's pid file: the throw-away data folder of a run that is not persistent. */
const temporaryDataRecord = (pidFilePath: string) => pidFilePath.replace(/\.pid$/, '.data');
const temporaryDataPrefix = 'lovepoints-infra-';

/** Removes a throw-away data folder, but only one that this script created in the temp directory. */
function removeTemporaryFolder(folder: string): void {
  if (path.dirname(folder) === tmpdir() && path.basename(folder).startsWith(temporaryDataPrefix)) {
    rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Stops the process group a pid file names: SIGTERM, then SIGKILL after the grace period. The pid
 * is only trusted while its command line is still the JVM we started; after a reboot the number
 * may belong to anything. The throw-away data of a run that crashed goes as well.
 */
async function killRecorded(file: string, name: JvmName, graceMs: number, logger: Logger): Promise<void> {
  const pid = Number(readIfPresent(file)?.trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandLine(pid)?.includes(commandMarkers[name])) {
    logger.info({ pid, pidFile: file }, `stopping ${name}`);
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      logger.warn({ pid, graceMs }, `${name} did not stop after SIGTERM; sending SIGKILL`);
      signalGroup(pid, 'SIGKILL');
      while (isAlive(pid) && Date.now() < deadline + 5000) await sleep(50);
    }
  }
  rmSync(file, { force: true });
  const dataRecord = temporaryDataRecord(file);
  const folder = readIfPresent(dataRecord)?.trim();
  if (folder) removeTemporaryFolder(folder);
  rmSync(dataRecord, { force: true });
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function portIsFree(portNumber: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port: portNumber, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface JvmProcess {
  name: JvmName;
  child: ChildProcess;
  logFile: string;
  pidFile: string;
  /** Resolves with a description when the JVM exits or cannot be started. */
  exited: Promise<string>;
}

/** Starts a JVM in its own process group, its output in a log file and its pid in a pid file. */
function startJvm(options: InfrastructureOptions, name: JvmName, portNumber: number, workingDir: string, args: string[]): JvmProcess {
  const logFile = path.join(options.stateDir, 'logs', `${name}-${portNumber}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const output = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    // Its own process group, so a stop reaches everything it started and Ctrl-C in this terminal
    // does not kill it behind the back of the orderly stop.
    child = spawn('java', args, { detached: true, cwd: workingDir, stdio: ['ignore', output, output] });
  } finally {
    closeSync(output);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not be started: ${error.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });
  const file = pidFile(options.stateDir, name, portNumber);
  if (child.pid !== undefined) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${child.pid}\n`);
  }
  return { name, child, logFile, pidFile: file, exited };
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

/** Polls `probe` until it answers true; fails as soon as the JVM dies, and at the deadline. */
async function waitUntilReady(what: string, jvm: JvmProcess, limit: { deadline: number; timeoutMs: number }, probe: () => Promise<boolean>): Promise<void> {
  const logTail = () => `\n--- last lines of ${jvm.logFile} ---\n${tail(jvm.logFile)}`;
  // One probe can take many seconds (the Kafka client retries inside it), so the JVM's exit and
  // the deadline each end the wait without waiting for the probe.
  const died = jvm.exited.then((description) => ({ died: description }));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), Math.max(0, limit.deadline - Date.now()));
  });
  try {
    for (;;) {
      const outcome = await Promise.race([probe().then((answered) => ({ answered })), died, timedOut]);
      if ('died' in outcome) throw new Error(`${what} ${outcome.died} during start-up.${logTail()}`);
      if ('timedOut' in outcome) throw new Error(`${what} (pid ${jvm.child.pid}) did not answer within ${limit.timeoutMs} ms.${logTail()}`);
      if (outcome.answered) return;
      await sleep(250);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts Kafka and the MongoDB-protocol server in parallel, waits until both answer (Kafka a
 * describeCluster, MongoDB a ping), creates every topic, and returns how to reach and stop them.
 */
export async function startInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const { logger, stateDir } = options;
  await requireCommand('java', ['-version'], installHint);
  // One after the other: two Maven runs at once would write the same local repository.
  const kafkaJars = await ensureJars(options, 'kafka.pom.xml', `kafka-${kafkaVersion}`);
  const mongoJars = await ensureJars(options, 'mongo.pom.xml', `mongo-${mongoServerVersion}`);

  // A previous run that crashed may have left its JVMs behind on these ports: those are ours to stop.
  await Promise.all([
    killRecorded(pidFile(stateDir, 'kafka', options.kafkaPort), 'kafka', 5000, logger),
    killRecorded(pidFile(stateDir, 'mongo', options.mongoPort), 'mongo', 5000, logger),
  ]);
  const ports = [
    ['KAFKA_PORT', options.kafkaPort],
    ['KAFKA_CONTROLLER_PORT', options.kafkaControllerPort],
    ['MONGO_PORT', options.mongoPort],
  ] as const;
  if (new Set(ports.map(([, portNumber]) => portNumber)).size !== ports.length) {
    throw new Error(`KAFKA_PORT, KAFKA_CONTROLLER_PORT and MONGO_PORT must differ (${ports.map(([name, value]) => `${name}=${value}`).join(', ')}).`);
  }
  for (const [variable, portNumber] of ports) {
    if (!(await portIsFree(portNumber))) {
      throw new Error(`Port ${portNumber} on 127.0.0.1 is already in use by another program; stop it or set ${variable} to a free port.`);
    }
  }

  const dataRoot = options.persistent ? path.join(stateDir, 'data') : mkdtempSync(path.join(tmpdir(), temporaryDataPrefix));
  const kafkaPidFile = pidFile(stateDir, 'kafka', options.kafkaPort);
  if (!options.persistent) {
    // Recorded before any JVM starts, so the next start (or infra:stop) removes it even when this
    // process is killed outright.
    mkdirSync(path.dirname(kafkaPidFile), { recursive: true });
    writeFileSync(temporaryDataRecord(kafkaPidFile), `${dataRoot}\n`);
  }
  const removeTemporaryData = () => {
    if (options.persistent) return;
    removeTemporaryFolder(dataRoot);
    rmSync(temporaryDataRecord(kafkaPidFile), { force: true });
  };
  const kafkaData = path.join(dataRoot, `kafka-${options.kafkaPort}`);
  const propertiesFile = path.join(kafkaData, 'server.properties');
  const log4jFile = path.join(kafkaData, 'log4j2.properties');
  const classPath = (folder: string) => `${folder}${path.sep}*`;
  try {
    mkdirSync(kafkaData, { recursive: true });
    writeFileSync(propertiesFile, kafkaProperties(options, kafkaData));
    writeFileSync(log4jFile, log4jProperties);
    if (!existsSync(path.join(kafkaData, 'kafka-logs', 'meta.properties'))) {
      // Any 22-character base64url string is a valid cluster id. It may start with '-', so it goes
      // in one argument as --cluster-id=<id>; on its own the parser would take it for a flag.
      const clusterId = randomBytes(16).toString('base64url');
      await execFileAsync('java', [
        '-Xmx256m',
        '-cp',
        classPath(kafkaJars),
        `-Dlog4j2.configurationFile=${log4jFile}`,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        propertiesFile,
        '--ignore-formatted',
      ]).catch((error: unknown) => {
        throw new Error(`Formatting Kafka's log folder ${kafkaData} failed:\n${processFailure(error)}`);
      });
    }
  } catch (error) {
    removeTemporaryData();
    throw error;
  }

  const kafka = startJvm(options, 'kafka', options.kafkaPort, kafkaData, [
    `-Xmx${options.kafkaHeapMb}m`,
    `-Xms${Math.min(256, options.kafkaHeapMb)}m`,
    // Fewer GC threads than G1 on a small machine, and plenty for a development broker.
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
  const mongo = startJvm(options, 'mongo', options.mongoPort, dataRoot, mongoArgs);
  const jvms = [kafka, mongo];

  // Last resort: if this process exits without stopping them, its JVMs go with it. Only
  // synchronous work runs in an 'exit' handler, hence SIGKILL without a grace period.
  const killOnExit = () => {
    for (const jvm of jvms) {
      if (jvm.child.pid !== undefined && jvm.child.exitCode === null && jvm.child.signalCode === null) signalGroup(jvm.child.pid, 'SIGKILL');
      rmSync(jvm.pidFile, { force: true });
    }
    try {
      removeTemporaryData();
    } catch {
      // A JVM killed a moment ago may still hold files open; the folder is in the temp directory.
    }
  };
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  for (const jvm of jvms) {
    void jvm.exited.then((description) => {
      if (stopping === undefined) logger.error({ logFile: jvm.logFile }, `${jvm.name} ${description} unexpectedly`);
    });
  }
  function stop(): Promise<void> {
    stopping ??= (async () => {
      await Promise.all(jvms.map((jvm) => killRecorded(jvm.pidFile, jvm.name, stopGraceMs, logger)));
      // The pid file is trusted only for a live JVM; the children themselves are checked as well.
      for (const jvm of jvms) {
        if (jvm.child.pid !== undefined && jvm.child.exitCode === null && jvm.child.signalCode === null) signalGroup(jvm.child.pid, 'SIGKILL');
      }
      await Promise.all(jvms.map((jvm) => Promise.race([jvm.exited, sleep(5000)])));
      process.off('exit', killOnExit);
      removeTemporaryData();
      logger.info({ kafkaPort: options.kafkaPort, mongoPort: options.mongoPort }, 'infrastructure stopped');
    })();
    return stopping;
  }

  const mongoUrl = `mongodb://127.0.0.1:${options.mongoPort}`;
  const kafkaBrokers = [`127.0.0.1:${options.kafkaPort}`];
  const limit = { deadline: Date.now() + options.readyTimeoutMs, timeoutMs: options.readyTimeoutMs };
  logger.info({ kafkaPid: kafka.child.pid, mongoPid: mongo.child.pid, logs: path.dirname(kafka.logFile) }, 'waiting for Kafka and MongoDB');
  try {
    await Promise.all([
      waitUntilReady('mongo-java-server', mongo, limit, async () => {
        const connection = await connectMongo({ url: mongoUrl, databaseName: 'admin', logger, attempts: 1 }).catch(() => undefined);
        if (connection === undefined) return false;
        try {
          return await pingMongo(connection);
        } finally {
          await connection.close();
        }
      }),
      (async () => {
        // Silent while waiting: until the broker listens, every attempt logs a connection error.
        const client = createKafkaClient({ brokers: kafkaBrokers, clientId: 'infrastructure', logger: logger.child({}, { level: 'fatal' }) });
        try {
          await waitUntilReady('Kafka', kafka, limit, () => client.ping());
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
  logger.info({ mongoUrl, kafkaBrokers, topics: allTopics.length }, 'infrastructure ready');
  return { mongoUrl, kafkaBrokers, stop };
}

/**
 * Stops every JVM recorded in the pid files of a state folder (`npm run infra:stop`), whichever
 * run started it, for instance one that crashed or was killed before it could stop them itself.
 */
export async function stopInfrastructure(stateDir: string, logger: Logger = createLogger('infrastructure')): Promise<void> {
  const runDir = path.join(path.resolve(stateDir), 'run');
  if (!existsSync(runDir)) return;
  const recorded = readdirSync(runDir).flatMap((fileName) => {
    // A data record without its pid file is what a run killed before its JVMs started leaves.
    const match = /^(kafka|mongo)-(\d+)\.(pid|data)$/.exec(fileName);
    if (!match || (match[3] === 'data' && existsSync(path.join(runDir, `${match[1]}-${match[2]}.pid`)))) return [];
    return [{ file: path.join(runDir, `${match[1]}-${match[2]}.pid`), name: match[1] as JvmName }];
  });
  await Promise.all(recorded.map(({ file, name }) => killRecorded(file, name, stopGraceMs, logger)));
}
