import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import loaderOptions from './loader-options.json';
import type { ProtoGrpcType as HealthProto } from './generated/health';
import type { ProtoGrpcType as PointsProto } from './generated/points';
import type { ProtoGrpcType as RedeemProto } from './generated/redeem';
import type { ProtoGrpcType as TimebankProto } from './generated/timebank';
import type { ProtoGrpcType as VolunteerProto } from './generated/volunteer';

/** The one proto tree of the platform. */
export const protoRoot = path.resolve(__dirname, '../../../proto');

/**
 * Loads one .proto with the fixed options that the generated types were made with
 * (loader-options.json is read by scripts/generate-proto-types.mjs too).
 */
function load<ProtoType>(relativePath: string): ProtoType {
  const definition = protoLoader.loadSync(path.join(protoRoot, relativePath), {
    keepCase: loaderOptions.keepCase,
    defaults: loaderOptions.defaults,
    oneofs: loaderOptions.oneofs,
    longs: loaderOptions.longs === 'String' ? String : Number,
    enums: String,
    includeDirs: [protoRoot],
  });
  return grpc.loadPackageDefinition(definition) as unknown as ProtoType;
}

let cache: { health: HealthProto; volunteer: VolunteerProto; points: PointsProto; redeem: RedeemProto; timebank: TimebankProto } | undefined;

/** Every service definition, loaded once per process. */
export function protos() {
  cache ??= {
    health: load<HealthProto>('grpc/health/v1/health.proto'),
    volunteer: load<VolunteerProto>('volunteer/v1/volunteer.proto'),
    points: load<PointsProto>('points/v1/points.proto'),
    redeem: load<RedeemProto>('redeem/v1/redeem.proto'),
    timebank: load<TimebankProto>('timebank/v1/timebank.proto'),
  };
  return cache;
}
