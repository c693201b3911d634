import { authRouter } from "./router/auth";
import { createCallerFactory, createTRPCRouter } from "./trpc";

/** The whole API: one router per domain. */
export const appRouter = createTRPCRouter({
  auth: authRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
