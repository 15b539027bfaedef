// Conversation memory's activity: compaction after a reply (conversations/memory.ts decides what to fold).
import { compactHistory } from '../conversations/memory.js';
import type { ActivityDeps } from './deps.js';

export function createMemoryActivities({ db, blobs, llm }: ActivityDeps) {
  return {
    async compactHistory({ conversationId }: { conversationId: string }): Promise<{ compacted: number }> {
      return compactHistory({ db, blobs, model: llm?.plan }, conversationId);
    },
  };
}
