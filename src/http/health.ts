import type { Request, Response } from 'express';

/** Whether the gateway can serve, and why not. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** GET /healthz: 200 while the process is alive (and answers HTTP). */
export function healthz(_req: Request, res: Response): void {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
}

/** GET /readyz: 200 when engine and change feed are ready and the gateway is not draining; else 503 with the reason. */
export function readyz(readiness: () => Readiness): (req: Request, res: Response) => void {
  return (_req, res) => {
    const r = readiness();
    res.set('Cache-Control', 'no-store');
    if (r.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'unavailable', reason: r.reason });
  };
}
