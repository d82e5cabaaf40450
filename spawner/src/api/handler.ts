/**
 * One way for every route module (deploy API, revisions, rollouts, console) to hand a handler's
 * failure, thrown or rejected, to express's error middleware (api/problem.ts).
 */
import type { NextFunction, Request, Response } from 'express';

export type Handler = (req: Request, res: Response) => Promise<void> | void;

export const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
  try {
    Promise.resolve(h(req, res)).catch(next);
  } catch (err) {
    next(err);
  }
};
