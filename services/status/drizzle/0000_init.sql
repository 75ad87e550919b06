CREATE TABLE "incidents" (
	"id" uuid PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"title" text NOT NULL,
	"severity" text NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"resolved_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "probes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "probes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"target" text NOT NULL,
	"at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"ok" boolean NOT NULL,
	"status" text NOT NULL,
	"latency_ms" integer NOT NULL,
	"http_status" integer,
	"error" text,
	CONSTRAINT "probes_status_check" CHECK ("probes"."status" in ('operational', 'degraded', 'down'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_open_fingerprint_idx" ON "incidents" USING btree ("fingerprint") WHERE "incidents"."resolved_at" is null;--> statement-breakpoint
CREATE INDEX "incidents_resolved_at_idx" ON "incidents" USING btree ("resolved_at");--> statement-breakpoint
CREATE INDEX "probes_target_at_idx" ON "probes" USING btree ("target","at");--> statement-breakpoint
CREATE INDEX "probes_at_idx" ON "probes" USING btree ("at");