import { InvalidEventError, parseEvent, peekEventType, reportAccepted } from '@lovepoints/events';
import { DomainError } from '@lovepoints/errors';
import { type KafkaClient, PermanentMessageError } from '@lovepoints/kafka';
import type { PointsService } from '../points.service';

/**
 * Awards points for accepted problem reports. The topic also carries other report events
 * (escalations), which this consumer has no business with and skips; a message that is not an
 * event at all goes to the dead-letter topic.
 */
export function runReportConsumer(kafka: KafkaClient, service: PointsService, groupId: string) {
  return kafka.runConsumer({
    groupId,
    topics: [reportAccepted.topic],
    handle: async (message) => {
      let event;
      try {
        if (peekEventType(message.value).type !== reportAccepted.type) return;
        event = parseEvent(reportAccepted, message.value);
      } catch (error) {
        if (error instanceof InvalidEventError) throw new PermanentMessageError(error.message);
        throw error;
      }
      try {
        await service.creditReport(event);
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'invalid_argument') throw new PermanentMessageError(error.message);
        throw error;
      }
    },
  });
}
