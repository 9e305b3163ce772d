import { attendanceVerified, attendanceVerifiedV2, InvalidEventError, parseEvent, peekEventType } from '@lovepoints/events';
import { DomainError } from '@lovepoints/errors';
import { type KafkaClient, PermanentMessageError } from '@lovepoints/kafka';
import type { PointsService } from '../points.service';

/**
 * Credits every verified attendance. A message that is not a valid AttendanceVerified event, or
 * that the ledger refuses as invalid, can never succeed and goes to the dead-letter topic at once;
 * anything else (a database hiccup) is retried with backoff before it is dead-lettered.
 */
export function runAttendanceConsumer(kafka: KafkaClient, service: PointsService, groupId: string) {
  return kafka.runConsumer({
    groupId,
    topics: [attendanceVerified.topic],
    handle: async (message) => {
      let event;
      try {
        // Version 1 (hourly rate) and version 2 (hourly or fixed reward) are both on the topic.
        const { version } = peekEventType(message.value);
        event = version === 2 ? parseEvent(attendanceVerifiedV2, message.value) : parseEvent(attendanceVerified, message.value);
      } catch (error) {
        if (error instanceof InvalidEventError) throw new PermanentMessageError(error.message);
        throw error;
      }
      try {
        await service.creditAttendance(event);
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'invalid_argument') throw new PermanentMessageError(error.message);
        throw error;
      }
    },
  });
}
