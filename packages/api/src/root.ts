import { authRouter } from "./router/auth";
import { queryRouter } from "./router/query";
import { createCallerFactory, createTRPCRouter } from "./trpc";

/** The whole API: one router per domain. */
export const appRouter = createTRPCRouter({
  auth: authRouter,
  query: queryRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
