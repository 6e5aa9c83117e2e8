// docker's --mount value is CSV (Podman's too).

/** A field with a comma or quote must be quoted, quotes doubled. */
export function csvField(field: string): string {
  return /[",\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field
}
