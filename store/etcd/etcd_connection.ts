/**
 * A connection to one etcd cluster, as a component of Tender uses it: the client, the prefix Tender owns there
 * (checked by its format mark), an election per component and fenced stores.
 */
import { EtcdClient } from "./client.ts";
import { Election } from "./election.ts";
import { EtcdStateStore } from "./etcd_store.ts";
import { claimPrefix } from "./format.ts";
import type { Compare } from "./wire.ts";

/** A connected etcd cluster and Tender's prefix on it. */
export class EtcdConnection {
  readonly client: EtcdClient;
  /** Tender's prefix, without a trailing `/`. */
  readonly prefix: string;
  readonly #describe: string;

  private constructor(client: EtcdClient, prefix: string) {
    this.client = client;
    this.prefix = prefix;
    this.#describe = `etcd://${client.endpoints.map((e) => new URL(e).host).join(",")}/${prefix}`;
  }

  /**
   * Connects (throwing `EtcdUnavailableError`, naming the endpoints, if no quorum answers within
   * the timeout) and checks the prefix is Tender's (throwing if it holds other data).
   */
  static async open(
    spec: { endpoints: string[]; prefix: string },
    options: { timeoutMs?: number } = {},
  ): Promise<EtcdConnection> {
    const client = await EtcdClient.connect(spec.endpoints, options);
    try {
      await claimPrefix(client, spec.prefix);
    } catch (e) {
      client.close();
      throw e;
    }
    return new EtcdConnection(client, spec.prefix);
  }

  /** The election among a component's processes (`master`, `marathon`). */
  election(component: string, options: { ttlSeconds?: number } = {}): Election {
    return new Election(this.client, {
      prefix: `${this.prefix}/election/${component}`,
      ttlSeconds: options.ttlSeconds,
    });
  }

  /** A store of records under `<prefix>/<component>/`, fenced by `fence` when given. */
  store(component: string, fence?: Compare): EtcdStateStore {
    return new EtcdStateStore(this.client, {
      prefix: `${this.prefix}/${component}/`,
      fence,
      describe: `${this.#describe}/${component}`,
    });
  }

  close(): void {
    this.client.close();
  }
}
