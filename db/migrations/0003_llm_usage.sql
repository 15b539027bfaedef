CREATE TABLE "llm_usage" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"prompt_tokens" integer NOT NULL,
	"completion_tokens" integer NOT NULL,
	"cached" boolean DEFAULT false NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "llm_usage_workflow" ON "llm_usage" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "llm_usage_at" ON "llm_usage" USING btree ("at");