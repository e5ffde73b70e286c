/** A fresh seed for a draw the user asked to change. */
export function newSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
