/** A URL slug: lower case, words joined by single dashes, nothing else. */
export function slugify(title) {
  return title
    .trim()
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
