import * as grpc from '@grpc/grpc-js';
import { protos } from '@lovepoints/grpc';
import mongoose from 'mongoose';
import cluster from 'node:cluster';
import { createServer } from 'node:http';

/**
 * The least an authenticated balance read through a gRPC hop and a MongoDB read can cost here,
 * for bench:floor: the same parts the platform is built from (node:http, @grpc/grpc-js with the
 * points proto, the MongoDB driver) and nothing else: no framework, no validation, no policy, no
 * rate limits, no logging, tokens looked up in a map as if every one were verified before.
 *
 *   backend <grpcPort> <mongoUrl> <database>: GetBalance reads one account document by _id.
 *   front <httpPort> <grpcAddress> <workers> <token=userId,...>: GET /balance → GetBalance → JSON.
 *   writer <grpcPort> <mongoUrl> <database>: CreateTransfer makes one update of the debit account
 *     (no transfer record, no check, no credit, no event), CreateTransfers one bulk write of such
 *     updates: the least a ledger behind gRPC that stores anything per transfer does, for bench:ledger.
 */
const [role, ...args] = process.argv.slice(2);

async function backend(grpcPort: string, mongoUrl: string, databaseName: string): Promise<void> {
  const client = await mongoose.mongo.MongoClient.connect(mongoUrl);
  const accounts = client.db(databaseName).collection<{ _id: string; available: number; debitsPending: number; earnedPosted: number }>('accounts');
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  const service = protos().points.points.v1.PointsService.service;
  server.addService(service, {
    getBalance: (call: grpc.ServerUnaryCall<{ userId: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const userId = String(call.metadata.get('x-caller-user-id')[0] ?? '');
      accounts.findOne({ _id: `points:${userId}` }).then(
        (account) =>
          callback(null, {
            userId,
            points: account?.available ?? 0,
            timeMinutes: 0,
            heldPoints: account?.debitsPending ?? 0,
            heldMinutes: 0,
            lifetimePoints: account?.earnedPosted ?? 0,
            starTier: 0,
          }),
        (error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
      );
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  process.stdout.write('ready\n');
}

async function writer(grpcPort: string, mongoUrl: string, databaseName: string): Promise<void> {
  const client = await mongoose.mongo.MongoClient.connect(mongoUrl);
  const accounts = client.db(databaseName).collection<{ _id: string; spent: number }>('accounts');
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  interface Request {
    transferId: string;
    debit: { kind: string; id: string };
    credit: { kind: string; id: string };
    amount: number;
  }
  server.addService(protos().points.points.v1.PointsService.service, {
    createTransfers: (call: grpc.ServerUnaryCall<{ transfers: Request[] }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const items = call.request.transfers;
      accounts
        .bulkWrite(
          items.map(({ debit, amount }) => ({
            updateOne: { filter: { _id: `${debit.kind}:${debit.id}` }, update: { $inc: { spent: amount } }, upsert: true },
          })),
          { ordered: false },
        )
        .then(
          () => callback(null, { results: items.map(({ transferId }) => ({ result: 'ok', transfer: { id: transferId } })) }),
          (error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
        );
    },
    createTransfer: (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const { transferId, debit, amount } = call.request;
      accounts.updateOne({ _id: `${debit.kind}:${debit.id}` }, { $inc: { spent: amount } }, { upsert: true }).then(
        () => callback(null, { id: transferId, amount, state: 'posted' }),
        (error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
      );
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  process.stdout.write('ready\n');
}

function front(httpPort: string, grpcAddress: string, workers: string, tokenList: string): void {
  if (cluster.isPrimary && Number(workers) > 1) {
    let listening = 0;
    for (let index = 0; index < Number(workers); index += 1) {
      cluster.fork().once('listening', () => {
        listening += 1;
        if (listening === Number(workers)) process.stdout.write('ready\n');
      });
    }
    process.once('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      process.exit(0);
    });
    return;
  }
  const users = new Map(tokenList.split(',').map((pair) => pair.split('=') as [string, string]));
  const points = new (protos().points.points.v1.PointsService)(grpcAddress, grpc.credentials.createInsecure(), { 'grpc.enable_channelz': 0 });
  const server = createServer((request, response) => {
    const userId = users.get((request.headers.authorization ?? '').slice('Bearer '.length));
    if (request.url !== '/balance' || userId === undefined) {
      response.writeHead(userId === undefined ? 401 : 404).end();
      return;
    }
    const metadata = new grpc.Metadata();
    metadata.set('x-caller-user-id', userId);
    points.getBalance({ userId: '' }, metadata, { deadline: Date.now() + 5000 }, (error: grpc.ServiceError | null, balance: unknown) => {
      if (error) response.writeHead(502).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(balance));
    });
  });
  server.listen(Number(httpPort), '127.0.0.1', () => {
    if (!cluster.isWorker) process.stdout.write('ready\n');
  });
  process.once('SIGTERM', () => process.exit(0));
}

if (role === 'backend') void backend(args[0]!, args[1]!, args[2]!);
else if (role === 'writer') void writer(args[0]!, args[1]!, args[2]!);
else if (role === 'front') front(args[0]!, args[1]!, args[2]!, args[3]!);
else throw new Error(`unknown role ${role}`);
