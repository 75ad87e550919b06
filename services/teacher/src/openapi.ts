import {
  apiErrorResponses,
  createdResponse,
  deleteByIdOperation,
  errorResponse,
  getByIdOperation,
  idParams,
  invalidRequestResponse,
  jsonBodyErrorResponses,
  jsonRequestBody,
  jsonResponse,
  listQuery,
  noContentResponse,
  notFoundResponse,
  pageSchema,
  serviceDocument,
  type OpenApiDocument,
} from '@courseops/kit';
import { assignmentInput, assignmentParams, assignmentSchema, teacherCoursesPageSchema } from './assignments.js';
import { teacherInput, teacherSchema } from './routes.js';

/** The links stateful tests follow from an answer that names a teacher by `id` (or `teacherId`). */
const teacherLinks = (idPointer: string) => ({
  GetTeacher: { operationId: 'getTeacher', parameters: { id: idPointer } },
  DeleteTeacher: { operationId: 'deleteTeacher', parameters: { id: idPointer } },
  ListTeacherCourses: { operationId: 'listTeacherCourses', parameters: { id: idPointer } },
  AssignCourse: { operationId: 'assignCourse', parameters: { id: idPointer } },
});

/** The teacher service's `GET /openapi.json` (API.md "Teacher service"), from the schemas its routes validate with. */
export const teacherDocument = (version: string): OpenApiDocument =>
  serviceDocument({
    name: 'teacher',
    version,
    description: 'Teachers and the courses assigned to them; course details come from the course service.',
    paths: {
      '/api/teachers': {
        get: {
          operationId: 'listTeachers',
          summary: 'A page of teachers by creation',
          requestParams: { query: listQuery },
          responses: {
            200: {
              ...jsonResponse('a page of teachers', pageSchema(teacherSchema)),
              links: { NextPage: { operationId: 'listTeachers', parameters: { cursor: '$response.body#/nextCursor' } } },
            },
            400: invalidRequestResponse,
            ...apiErrorResponses,
          },
        },
        post: {
          operationId: 'createTeacher',
          summary: 'Create a teacher',
          requestBody: jsonRequestBody(teacherInput),
          responses: {
            201: { ...createdResponse('the new teacher; Location is its URL', teacherSchema), links: teacherLinks('$response.body#/id') },
            ...jsonBodyErrorResponses,
            409: errorResponse('a teacher with this email (in any case) exists', ['conflict']),
            ...apiErrorResponses,
          },
        },
      },
      '/api/teachers/{id}': {
        get: getByIdOperation('getTeacher', 'teacher', teacherSchema),
        delete: deleteByIdOperation('deleteTeacher', 'teacher', 'Delete a teacher and their course assignments'),
      },
      '/api/teachers/{id}/courses': {
        get: {
          operationId: 'listTeacherCourses',
          summary: "A page of the teacher's courses, with one batched call to the course service",
          requestParams: { path: idParams, query: listQuery },
          responses: {
            200: {
              ...jsonResponse('a page of assignments; `degraded` when the course service could not answer', teacherCoursesPageSchema),
              links: {
                NextPage: { operationId: 'listTeacherCourses', parameters: { id: '$request.path.id', cursor: '$response.body#/nextCursor' } },
              },
            },
            400: invalidRequestResponse,
            404: notFoundResponse('teacher'),
            ...apiErrorResponses,
          },
        },
        post: {
          operationId: 'assignCourse',
          summary: 'Assign a course the course service knows to the teacher',
          requestParams: { path: idParams },
          requestBody: jsonRequestBody(assignmentInput),
          responses: {
            201: {
              ...jsonResponse('assigned', assignmentSchema),
              links: {
                ...teacherLinks('$response.body#/teacherId'),
                UnassignCourse: { operationId: 'unassignCourse', parameters: { id: '$response.body#/teacherId', courseId: '$response.body#/courseId' } },
              },
            },
            ...jsonBodyErrorResponses,
            404: notFoundResponse('teacher'),
            409: errorResponse('the course is already assigned to this teacher', ['conflict']),
            422: errorResponse('the course service says the course does not exist; nothing is written', ['course_not_found']),
            ...apiErrorResponses,
          },
        },
      },
      '/api/teachers/{id}/courses/{courseId}': {
        delete: {
          operationId: 'unassignCourse',
          summary: 'Unassign a course',
          requestParams: { path: assignmentParams },
          responses: { 204: noContentResponse('unassigned'), 400: invalidRequestResponse, 404: notFoundResponse('course assignment'), ...apiErrorResponses },
        },
      },
    },
  });
