/**
 * FakeHaMaster: one master process of a highly available group, as its clients see it, on a
 * real socket of 127.0.0.1. It leads (each request goes to the handler it leads with, e.g. a
 * proxy to a `FakeMaster` or `FakeSchedulerMaster`), stands by (307 to the leader, with the
 * same path and query; 503 while no leader is known), is paused (`pause()`, a SIGSTOPped
 * process: it answers nothing and its open streams stay open), or is dead (`kill()`: its port
 * refuses connections). Switching role ends the requests still streaming, as a master losing or
 * giving up leadership closes its subscriptions.
 */
/** What a leading master does with a request; `signal` aborts when it stops leading. */
export type LeaderHandler = (request: Request, signal: AbortSignal) => Response | Promise<Response>;

type Role = { kind: "leader"; handle: LeaderHandler } | { kind: "standby"; leader?: string };

/** A fake master that plays leader, standby or dead. */
export class FakeHaMaster {
  /** Paths asked while standing by (each answered 307 or 503). */
  readonly redirected: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #role: Role = { kind: "standby" };
  #epoch = new AbortController();
  #dead = false;
  #paused: PromiseWithResolvers<void> | undefined;

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Listens on a free port, standing by with no leader known (503). */
  static start(): FakeHaMaster {
    return new FakeHaMaster();
  }

  /** The base URL, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Becomes the leader, answering with `handle`. */
  lead(handle: LeaderHandler): void {
    this.#switch({ kind: "leader", handle });
  }

  /** Stands by, redirecting to `leader` (503 "no leading master elected yet" when undefined). */
  standBy(leader?: FakeHaMaster | string): void {
    this.#switch({ kind: "standby", leader: typeof leader === "string" ? leader : leader?.url });
  }

  /**
   * Stops answering, as a paused process: requests (new ones, on open connections too) get no
   * answer until `kill()`, and open streams stay open (they carry what their fake master sends:
   * mute it). It still leads in its own eyes; the others may elect another leader meanwhile.
   */
  pause(): void {
    this.#paused ??= Promise.withResolvers<void>();
  }

  /** Dies: ends open requests and closes the port (connections are refused). Idempotent. */
  async kill(): Promise<void> {
    if (this.#dead) return;
    this.#dead = true;
    this.#paused?.resolve();
    this.#epoch.abort(new Error("master killed"));
    await this.#server.shutdown();
  }

  #switch(role: Role): void {
    this.#epoch.abort(new Error("master changed role"));
    this.#epoch = new AbortController();
    this.#role = role;
  }

  async #handle(request: Request): Promise<Response> {
    if (this.#paused) {
      await this.#paused.promise;
      return new Response(null, { status: 503 });
    }
    const url = new URL(request.url);
    const role = this.#role;
    if (role.kind === "leader") {
      // Mesos' leading master redirects /master/redirect to itself.
      if (url.pathname === "/master/redirect") return redirect(this.url);
      return await role.handle(request, this.#epoch.signal);
    }
    this.redirected.push(url.pathname);
    await request.body?.cancel();
    if (!role.leader) {
      return Response.json({ message: "no leading master elected yet" }, { status: 503 });
    }
    if (url.pathname === "/master/redirect") return redirect(role.leader);
    return redirect(`${role.leader}${url.pathname}${url.search}`);
  }
}

function redirect(location: string): Response {
  return new Response(null, { status: 307, headers: { Location: location } });
}

/** A leader handler passing each request on to `target` (a fake master's base URL). */
export function proxyTo(target: string): LeaderHandler {
  return async (request, signal) => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    const bodiless = request.method === "GET" || request.method === "HEAD";
    const response = await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: bodiless ? undefined : await request.arrayBuffer(),
      redirect: "manual",
      signal,
    });
    const body = response.body && endOnAbort(response.body, signal);
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/** `body`, ended (not errored: the server would log it) once `signal` aborts. */
function endOnAbort(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const end = () => {
        if (ended) return;
        ended = true;
        controller.close();
        reader.cancel().catch(() => {});
      };
      if (signal.aborted) end();
      else signal.addEventListener("abort", end, { once: true });
    },
    async pull(controller) {
      const read = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (ended) return;
      if (read.done) {
        ended = true;
        controller.close();
      } else controller.enqueue(read.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
