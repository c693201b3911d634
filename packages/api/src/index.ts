export {
  type ApiConfig,
  type ApiContext,
  type ApiServices,
  type CookieJar,
  createContextInner,
  type Role,
  type SessionInfo,
} from "./context";
export { authenticate, createApiRequestHandler, readCookie, SESSION_COOKIE } from "./http";
export { openApiDocument } from "./openapi";
export { createRestHandler, type RestOperation, restOperations } from "./rest";
export { type AppRouter, appRouter, createCaller } from "./root";
export { resolveSession } from "./router/auth";
