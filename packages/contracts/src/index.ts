export {
  REQUEST_FIXTURES,
  RESPONSE_FIXTURES,
  type RequestFixtureName,
  type ResponseFixtureName,
  requestFixture,
  responseFixture,
} from "./fixtures.js";
export {
  DECISIONS,
  type Decision,
  type InterceptorAnswer,
  interceptorAnswerSchema,
  type OrganizationMembership,
} from "./interceptor-answer.js";
export {
  emailAddress,
  type InterceptorContext,
  type InterceptorRequest,
  interceptorRequestSchema,
  ipAddress,
  type ParsedRequest,
  parseInterceptorRequest,
} from "./interceptor-request.js";
export {
  isTriggerPoint,
  ROUTE_TRIGGERS,
  type RouteSlug,
  TRIGGER_POINTS,
  type TriggerPoint,
  triggerFromSlug,
} from "./trigger-point.js";
