export {
  type ApiConfig,
  type ApiContext,
  type ApiServices,
  type CookieJar,
  createContextInner,
  type Role,
  type SessionInfo,
} from "./context";
export { createApiRequestHandler, readCookie, SESSION_COOKIE } from "./http";
export { type AppRouter, appRouter, createCaller } from "./root";
export { resolveSession } from "./router/auth";
