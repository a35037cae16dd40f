// Where the pooler sends its server connections: read from the AppBinding the PgBouncer names
// (spec.database.databaseRef), as KubeDB does for a Postgres it manages or one the user describes.
import type { AppBinding, PgBouncer } from '../api/types.js';
import { APP_BINDINGS } from '../api/resources.js';
import { getOrUndefined, type Kube } from '../kube/kube.js';

export interface BackendAddress {
  host: string;
  port: number;
}

/** Database credentials from the AppBinding's spec.secret; they go into the pooler's userlist. */
export interface BackendCredentials {
  username: string;
  password: string;
}

/** Overrides the host (tests point the pooler at a PostgreSQL on 127.0.0.1, outside any Service). */
export const BACKEND_HOST_ANNOTATION = 'pgbtls.dev/backend-host';

const POSTGRES_PORT = 5432;

/** Pure: the address an AppBinding describes. */
export function backendAddress(ab: AppBinding): BackendAddress {
  const where = `AppBinding ${ab.metadata.namespace}/${ab.metadata.name}`;
  const { service, url } = ab.spec.clientConfig;
  let address: BackendAddress;
  if (service) {
    const ns = service.namespace || ab.metadata.namespace;
    address = { host: `${service.name}.${ns}.svc`, port: service.port };
  } else if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${where}: spec.clientConfig.url "${url}" is not a URL; write it as postgres://host:5432`);
    }
    if (!parsed.hostname)
      throw new Error(`${where}: spec.clientConfig.url "${url}" has no host; write it as postgres://host:5432`);
    // IPv6 literals come bracketed from URL; pgbouncer wants them bare.
    address = {
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port ? Number(parsed.port) : POSTGRES_PORT,
    };
  } else {
    throw new Error(`${where}: spec.clientConfig needs url or service`);
  }
  const override = ab.metadata.annotations?.[BACKEND_HOST_ANNOTATION];
  return override ? { ...address, host: override } : address;
}

export interface ResolvedBackend {
  appBinding: AppBinding;
  address: BackendAddress;
  /** Absent when the AppBinding names no Secret. */
  credentials?: BackendCredentials;
}

/** Reads the AppBinding (namespace defaults to the PgBouncer's) and the Secret it names. */
export async function resolveBackend(kube: Kube, pb: PgBouncer): Promise<ResolvedBackend> {
  const ref = pb.spec.database.databaseRef;
  const namespace = ref.namespace || pb.metadata.namespace!;
  const appBinding = (await getOrUndefined(() =>
    kube.custom.getNamespacedCustomObject({
      ...APP_BINDINGS,
      namespace,
      name: ref.name,
    }),
  )) as AppBinding | undefined;
  if (!appBinding) {
    throw new Error(
      `spec.database.databaseRef: AppBinding "${ref.name}" not found in namespace "${namespace}"; create it or fix the reference`,
    );
  }
  const address = backendAddress(appBinding);
  const secretName = appBinding.spec.secret?.name;
  if (!secretName) return { appBinding, address };

  const secret = await getOrUndefined(() => kube.core.readNamespacedSecret({ name: secretName, namespace }));
  const decode = (key: string) => {
    const b64 = secret?.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  };
  const username = decode('username');
  const password = decode('password');
  if (!secret || username === undefined || password === undefined) {
    throw new Error(
      `AppBinding ${namespace}/${ref.name}: spec.secret "${secretName}" ${secret ? 'lacks the keys username and password' : 'not found'} in namespace "${namespace}"`,
    );
  }
  return { appBinding, address, credentials: { username, password } };
}
