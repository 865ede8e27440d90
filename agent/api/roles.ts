/** Roles of the management API, weakest first: each role may do everything the ones before it may. */
export const ROLES = ["READ", "OPERATE", "ADMIN"] as const;

export type Role = typeof ROLES[number];

/** True when `role` grants at least what `required` grants. */
export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}
