ALTER TABLE "reply_outbox" ADD COLUMN "conversation" text;--> statement-breakpoint
ALTER TABLE "reply_outbox" ADD COLUMN "request" jsonb;--> statement-breakpoint
ALTER TABLE "reply_outbox" ADD COLUMN "claimed_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "reply_outbox_pending_by_conversation" ON "reply_outbox" USING btree ("conversation","created_at") WHERE "reply_outbox"."status" = 'pending';