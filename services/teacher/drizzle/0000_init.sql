CREATE TABLE "course_assignments" (
	"teacher_id" uuid NOT NULL,
	"course_id" uuid NOT NULL,
	"assigned_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "course_assignments_teacher_id_course_id_pk" PRIMARY KEY("teacher_id","course_id")
);
--> statement-breakpoint
CREATE TABLE "teachers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "course_assignments" ADD CONSTRAINT "course_assignments_teacher_id_teachers_id_fk" FOREIGN KEY ("teacher_id") REFERENCES "public"."teachers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "course_assignments_teacher_assigned_idx" ON "course_assignments" USING btree ("teacher_id","assigned_at","course_id");--> statement-breakpoint
CREATE UNIQUE INDEX "teachers_email_lower_idx" ON "teachers" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "teachers_created_at_id_idx" ON "teachers" USING btree ("created_at","id");