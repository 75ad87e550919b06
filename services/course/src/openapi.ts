import {
  apiErrorResponses,
  createdResponse,
  deleteByIdOperation,
  getByIdOperation,
  idParams,
  invalidRequestResponse,
  itemsSchema,
  jsonBodyErrorResponses,
  jsonRequestBody,
  jsonResponse,
  listQuery,
  notFoundResponse,
  pageSchema,
  serviceDocument,
  type OpenApiDocument,
} from '@courseops/kit';
import { z } from 'zod';
import { courseIdsQuery, courseInput, courseSchema } from './routes.js';

/** The links stateful tests follow from an answer that names a course by its `id`. */
const courseLinks = {
  GetCourse: { operationId: 'getCourse', parameters: { id: '$response.body#/id' } },
  UpdateCourse: { operationId: 'updateCourse', parameters: { id: '$response.body#/id' } },
  DeleteCourse: { operationId: 'deleteCourse', parameters: { id: '$response.body#/id' } },
};

/** `GET /api/courses` takes either a page (`limit`, `cursor`) or a batched lookup (`ids`, alone). */
const listOrLookupQuery = listQuery.extend({ ids: courseIdsQuery.shape.ids.optional() });

/** The course service's `GET /openapi.json` (API.md "Course service"), from the schemas its routes validate with. */
export const courseDocument = (version: string): OpenApiDocument =>
  serviceDocument({
    name: 'course',
    version,
    description: 'Courses: create, read, update, delete, list in keyset pages, and look up many by id.',
    paths: {
      '/api/courses': {
        get: {
          operationId: 'listCourses',
          summary: 'A page of courses by creation, or (with `ids`) the named courses that exist, in the order asked',
          requestParams: { query: listOrLookupQuery },
          responses: {
            200: {
              ...jsonResponse('a page of courses, or the courses found among `ids`', z.union([pageSchema(courseSchema), itemsSchema(courseSchema)])),
              links: { NextPage: { operationId: 'listCourses', parameters: { cursor: '$response.body#/nextCursor' } } },
            },
            400: invalidRequestResponse,
            ...apiErrorResponses,
          },
        },
        post: {
          operationId: 'createCourse',
          summary: 'Create a course',
          requestBody: jsonRequestBody(courseInput),
          responses: {
            201: { ...createdResponse('the new course; Location is its URL', courseSchema), links: courseLinks },
            ...jsonBodyErrorResponses,
            ...apiErrorResponses,
          },
        },
      },
      '/api/courses/{id}': {
        get: getByIdOperation('getCourse', 'course', courseSchema),
        put: {
          operationId: 'updateCourse',
          summary: 'Replace a course\'s title, description and credits (omitted ones return to their defaults)',
          requestParams: { path: idParams },
          requestBody: jsonRequestBody(courseInput),
          responses: {
            200: { ...jsonResponse('the updated course', courseSchema), links: courseLinks },
            ...jsonBodyErrorResponses,
            404: notFoundResponse('course'),
            ...apiErrorResponses,
          },
        },
        delete: deleteByIdOperation('deleteCourse', 'course', 'Delete a course'),
      },
    },
  });
