// Chat schedules' activities (/schedule, /schedules, /unschedule); jobs/chat-schedules.ts decides.
import type { InboundMessage } from '../core/message.js';
import { createChatSchedule, deleteChatSchedule, describeChatSchedules } from '../jobs/chat-schedules.js';
import type { ActivityDeps } from './deps.js';

export function createScheduleActivities({ temporal, config }: ActivityDeps) {
  const deps = { temporal, taskQueue: config.temporal.taskQueue, timezone: config.pipeline.scheduleTimezone };
  return {
    async createChatSchedule(input: {
      scheduleId: string;
      message: InboundMessage;
      text: string;
      everyMs?: number;
      cron?: string;
    }): Promise<string> {
      return createChatSchedule(deps, input);
    },

    async describeChatSchedules({ message }: { message: InboundMessage }): Promise<string> {
      return describeChatSchedules(deps, message);
    },

    async deleteChatSchedule(input: { scheduleId: string; message: InboundMessage }): Promise<string> {
      return deleteChatSchedule(deps, input);
    },
  };
}
