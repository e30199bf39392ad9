// Who the Studio's caller is (GET /auth/whoami), so pages can say plainly what a role may not do
// instead of showing the API's 403.

const RANK = { viewer: 0, operator: 1, admin: 2 };

/** The caller's role, or null when it cannot be told (the page then lets the API decide). */
export async function callerRole(api) {
  try {
    return (await api.get('/auth/whoami')).role;
  } catch {
    return null;
  }
}

/** Whether `role` is at least `needed` (unknown roles are let through: the API still checks). */
export const mayAct = (role, needed) => role === null || (RANK[role] ?? 0) >= RANK[needed];
