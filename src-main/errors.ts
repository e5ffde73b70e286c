/** An error the user caused and can fix; its message is shown as is, without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** The code of a Node system error (ENOENT, EACCES…), if it is one. */
export function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}
