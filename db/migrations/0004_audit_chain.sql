ALTER TABLE "audit_log" RENAME COLUMN "subject" TO "target";--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "sequence" bigint;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "outcome" text DEFAULT 'success' NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "prev_hash" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "hash" text;--> statement-breakpoint
-- Rows written before the chain existed are numbered in time order here; appendAudit seals them into the chain once.
UPDATE "audit_log" SET "sequence" = "numbered"."n" FROM (SELECT "id", row_number() OVER (ORDER BY "created_at", "id") AS "n" FROM "audit_log") AS "numbered" WHERE "audit_log"."id" = "numbered"."id";--> statement-breakpoint
ALTER TABLE "audit_log" DROP COLUMN "id";--> statement-breakpoint
ALTER TABLE "audit_log" ADD PRIMARY KEY ("sequence");--> statement-breakpoint
CREATE INDEX "audit_action" ON "audit_log" USING btree ("action","sequence");
