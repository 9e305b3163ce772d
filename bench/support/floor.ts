import mongoose from 'mongoose';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const repositoryRoot = path.resolve(__dirname, '..', '..');

export interface Floor {
  url: string;
  /** The bare HTTP front (its workers count as its children) and the bare gRPC backend. */
  processIds: { front: number | undefined; backend: number | undefined };
  stop(): Promise<void>;
}

function startRole(role: 'front' | 'backend' | 'writer', args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'floor-servers.ts'), role, ...args], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the floor ${role} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`the floor ${role} exited with ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/**
 * The floor of bench:gateway (see floor-servers.ts): a bare HTTP front with `workers` processes
 * and a bare gRPC backend reading one MongoDB document per request, for the members whose access
 * tokens are given (their accounts are written to `databaseName` first).
 */
export async function startFloor(options: {
  mongoUrl: string;
  databaseName: string;
  tokens: string[];
  httpPort: number;
  grpcPort: number;
  workers: number;
}): Promise<Floor> {
  const userIds = options.tokens.map((token) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub);
  const client = await mongoose.mongo.MongoClient.connect(options.mongoUrl);
  try {
    const accounts = client.db(options.databaseName).collection<{ _id: string }>('accounts');
    await accounts.deleteMany({});
    await accounts.insertMany(userIds.map((userId, index) => ({ _id: `points:${userId}`, available: 10 + index, debitsPending: 0, earnedPosted: 10 + index })));
  } finally {
    await client.close();
  }
  const backend = await startRole('backend', [String(options.grpcPort), options.mongoUrl, options.databaseName]);
  const tokenList = options.tokens.map((token, index) => `${token}=${userIds[index]}`).join(',');
  const front = await startRole('front', [String(options.httpPort), `127.0.0.1:${options.grpcPort}`, String(options.workers), tokenList]).catch(
    (error: unknown) => {
      backend.kill('SIGKILL');
      throw error;
    },
  );
  return {
    url: `http://127.0.0.1:${options.httpPort}`,
    processIds: { front: front.pid, backend: backend.pid },
    stop: async () => {
      for (const child of [front, backend]) await stopChild(child);
    },
  };
}

/** Stops a floor process: SIGTERM, then SIGKILL after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  child.kill('SIGKILL');
}

/**
 * The floor of bench:ledger (see floor-servers.ts): a gRPC server whose CreateTransfer makes one
 * MongoDB update and nothing else.
 */
export async function startWriterFloor(options: { mongoUrl: string; databaseName: string; grpcPort: number }) {
  const writer = await startRole('writer', [String(options.grpcPort), options.mongoUrl, options.databaseName]);
  return { address: `127.0.0.1:${options.grpcPort}`, pid: writer.pid, stop: () => stopChild(writer) };
}
