// pgbouncer's auth_file: one `"user" "password"` line per user, double quotes doubled inside a
// field (pgbouncer's own quoting rule).
import type { BackendCredentials } from './backend.js';
import { ADMIN_USER } from './render-ini.js';

const field = (text: string) => `"${text.replaceAll('"', '""')}"`;

export function renderUserlist(users: BackendCredentials[]): string {
  return users.map((u) => `${field(u.username)} ${field(u.password)}\n`).join('');
}

/**
 * Who may log in: the admin first, then the backend user from the AppBinding, so applications
 * log in with the database's own credentials, which the pooler then uses towards PostgreSQL.
 * A backend user named like the admin is left out: the admin entry is what the pooler's tooling
 * relies on.
 */
export function poolerUsers(adminPassword: string, backend?: BackendCredentials): BackendCredentials[] {
  const users = [{ username: ADMIN_USER, password: adminPassword }];
  if (backend && backend.username !== ADMIN_USER) users.push(backend);
  return users;
}
