import { accessRouter } from "./router/access";
import { authRouter } from "./router/auth";
import { consentRouter } from "./router/consent";
import { datasetRouter } from "./router/dataset";
import { governanceRouter } from "./router/governance";
import { queryRouter } from "./router/query";
import { rewardRouter } from "./router/reward";
import { stewardRouter } from "./router/steward";
import { tokenRouter } from "./router/token";
import { createCallerFactory, createTRPCRouter } from "./trpc";

/** The whole API: one router per domain. */
export const appRouter = createTRPCRouter({
  auth: authRouter,
  dataset: datasetRouter,
  access: accessRouter,
  consent: consentRouter,
  steward: stewardRouter,
  query: queryRouter,
  governance: governanceRouter,
  reward: rewardRouter,
  token: tokenRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
