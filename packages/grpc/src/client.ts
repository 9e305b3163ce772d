import * as grpc from '@grpc/grpc-js';
import { type Caller, callerMetadata } from './caller';
import { protos } from './loader';
import { domainErrorFromGrpc } from './status-table';

/** The request and response types of a unary client method, read from its last overload. */
type AnyUnaryMethod = (request: never, callback: never) => grpc.ClientUnaryCall;
type MethodNames<Client> = {
  [Name in keyof Client]: Client[Name] extends AnyUnaryMethod ? (Name extends Uncapitalize<string> ? Name : never) : never;
}[keyof Client];
type RequestOf<Method> = Method extends (request: infer Request, callback: grpc.requestCallback<infer _Response>) => grpc.ClientUnaryCall ? Request : never;
type ResponseOf<Method> = Method extends (request: infer _Request, callback: grpc.requestCallback<infer Response>) => grpc.ClientUnaryCall ? Response : never;

/**
 * Calls a unary method with a deadline and the caller's identity in metadata. A failure comes
 * back as a DomainError carrying the remote code, so the gateway maps it with the one table.
 */
export function callUnary<Client extends grpc.Client, Name extends MethodNames<Client>>(
  client: Client,
  method: Name,
  request: RequestOf<Client[Name]>,
  options: { caller?: Caller | undefined; deadlineMs: number },
): Promise<ResponseOf<Client[Name]>> {
  const invoke = client[method] as unknown as (
    request: unknown,
    metadata: grpc.Metadata,
    callOptions: grpc.CallOptions,
    callback: grpc.requestCallback<ResponseOf<Client[Name]>>,
  ) => grpc.ClientUnaryCall;
  return new Promise((resolve, reject) => {
    invoke.call(client, request, callerMetadata(options.caller), { deadline: Date.now() + options.deadlineMs }, (error, response) => {
      if (error) reject(domainErrorFromGrpc(error));
      else if (response === undefined) reject(new Error(`empty response from ${String(method)}`));
      else resolve(response);
    });
  });
}

const channelOptions: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // No channelz bookkeeping per call: nothing here reads it.
  'grpc.enable_channelz': 0,
};

/** A client of the points service alone, for services that call only the ledger. */
export function createPointsClient(address: string) {
  return new (protos().points.points.v1.PointsService)(address, grpc.credentials.createInsecure(), channelOptions);
}

/** Clients of every service, typed from the generated definitions. */
export function createClients(addresses: { volunteer: string; points: string; redeem: string; timebank: string }) {
  const loaded = protos();
  const insecure = grpc.credentials.createInsecure();
  return {
    volunteer: new loaded.volunteer.volunteer.v1.VolunteerService(addresses.volunteer, insecure, channelOptions),
    points: createPointsClient(addresses.points),
    redeem: new loaded.redeem.redeem.v1.RedeemService(addresses.redeem, insecure, channelOptions),
    timebank: new loaded.timebank.timebank.v1.TimebankService(addresses.timebank, insecure, channelOptions),
  };
}

export type ServiceClients = ReturnType<typeof createClients>;

/** Asks a server's health service whether it is SERVING. */
export function checkHealth(address: string, deadlineMs: number): Promise<boolean> {
  const client = new (protos().health.grpc.health.v1.Health)(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.check({ service: '' }, { deadline: Date.now() + deadlineMs }, (error, response) => {
      client.close();
      resolve(!error && response?.status === 'SERVING');
    });
  });
}
