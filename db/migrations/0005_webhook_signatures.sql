CREATE TABLE "webhook_signatures" (
	"channel" text NOT NULL,
	"signature" text NOT NULL,
	"message_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "webhook_signatures_channel_signature_pk" PRIMARY KEY("channel","signature")
);
--> statement-breakpoint
CREATE INDEX "webhook_signatures_expires" ON "webhook_signatures" USING btree ("expires_at");