import { phone, password, personName } from '@lovepoints/contracts';
import { createGrpcServer, protos } from '@lovepoints/grpc';
import { createKafkaClient } from '@lovepoints/kafka';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { createOutboxRelay } from '@lovepoints/outbox';
import { z } from 'zod';
import { loadVolunteerConfig } from './config';
import { volunteerHandlers } from './grpc/volunteer.handlers';
import { createModels, outboxCollections } from './store/models';
import { PlaceService } from './place.service';
import { ReportService } from './report.service';
import { TeamService } from './team.service';
import { VolunteerService } from './volunteer.service';

runMain('volunteer', async () => {
  const config = loadVolunteerConfig();
  const logger = createLogger('volunteer', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.VOLUNTEER_MONGO_DB, logger });
  const models = createModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'volunteer', logger });
  const relay = createOutboxRelay({ connection, collections: outboxCollections, producer: await kafka.connectProducer(), logger });
  const settings = {
    checkinCodeSecret: config.CHECKIN_CODE_SECRET,
    checkinCodeLifetimeSeconds: config.CHECKIN_CODE_TTL_SECONDS,
    checkinGraceMinutes: config.CHECKIN_GRACE_MINUTES,
    attendanceMinutesStep: config.ATTENDANCE_MINUTES_STEP,
  };
  const service = new VolunteerService(models, settings, () => relay.nudge());
  const reports = new ReportService(models, config.REPORT_RESPONSE_HOURS * 3600_000, () => relay.nudge());
  const escalation = setInterval(() => {
    reports.escalateOverdue(new Date()).then(
      ({ escalated }) => escalated > 0 && logger.info({ escalated }, 'overdue reports escalated'),
      (error: unknown) => logger.error({ err: error }, 'report escalation failed'),
    );
  }, config.REPORT_ESCALATION_INTERVAL_MS);
  const server = createGrpcServer(logger);
  const bootstrapInput = z.object({ phone, password, name: personName, street: z.string().trim().min(1).max(50) });
  server.addService(
    protos().volunteer.volunteer.v1.VolunteerService.service,
    volunteerHandlers(service, reports, new PlaceService(models), new TeamService(models, config.TEAM_MEMBERS_MAX), bootstrapInput),
  );
  const boundPort = await server.start(config.GRPC_HOST, config.VOLUNTEER_GRPC_PORT);
  relay.start();
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'volunteer service ready');
  return { logger, stopSteps: [() => clearInterval(escalation), () => server.stop(), () => relay.stop(), () => kafka.disconnect(), () => connection.close()] };
});
