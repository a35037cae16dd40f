// Where things live inside a pooler pod (KubeDB's layout). The ini points at these files, the
// StatefulSet mounts Secrets at these directories, and the kubelet stand-in writes a pod's Secrets
// to the same places, so the three can never disagree.

/** Directory of the config Secret; pgbouncer runs with `<CONFIG_DIR>/pgbouncer.ini`. */
export const CONFIG_DIR = '/etc/config';
export const CONFIG_FILE_KEY = 'pgbouncer.ini';
export const CONFIG_FILE = `${CONFIG_DIR}/${CONFIG_FILE_KEY}`;

/** Directory of the userlist Secret; `auth_file` is the `userlist` key in it. */
export const SECRET_DIR = '/var/run/pgbouncer/secret';
export const USERLIST_KEY = 'userlist';
export const AUTH_FILE = `${SECRET_DIR}/${USERLIST_KEY}`;

/** Parent of the per-alias certificate directories, each holding ca.crt, tls.crt and tls.key. */
export const TLS_SERVING_DIR = '/var/run/pgbouncer/tls/serving';
export const SERVER_TLS_DIR = `${TLS_SERVING_DIR}/server`;
export const CLIENT_TLS_DIR = `${TLS_SERVING_DIR}/client`;

/** Keys of a kubernetes.io/tls Secret as cert-manager writes them; also the file names in the pod. */
export const TLS_CA_KEY = 'ca.crt';
export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';

/** Runtime files; /tmp because the container's root filesystem is not writable for uid 70. */
export const LOG_FILE = '/tmp/pgbouncer.log';
export const PID_FILE = '/tmp/pgbouncer.pid';
